"""Normalisation shared by model output, exports and the scorer (spec v1.1 "Normalised figures"): casualty
phrases -> value, qualifier and range; TIME phrases -> ISO dates relative to the publication date."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

# ---------------------------------------------------------------- figures

_UNITS = {
    "zero": 0, "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
_SCALES = {"hundred": 100, "thousand": 1_000, "million": 1_000_000}
NUMBER_WORDS = set(_UNITS) | set(_TENS) | set(_SCALES) | {"dozen"}

# qualifier phrases, checked in the text before the number; longest first so "up to" beats "to"
_QUALIFIERS = [
    ("at_least", ("at least", "more than", "over", "upwards of", "no fewer than", "no less than")),
    ("at_most", ("nearly", "almost", "up to", "as many as", "fewer than", "less than")),
    ("approx", ("about", "around", "some", "approximately", "roughly", "an estimated", "estimated")),
]
# vague quantities -> the spec's conservative lower bounds, first match wins (longest phrases first); a
# phrase marked True wins even beside a number word ("a few", "several dozen"), the others only alone
_VAGUE = [
    (re.compile(r"\btens of thousands\b"), 20_000, False),
    (re.compile(r"\bhundreds of thousands\b"), 200_000, False),
    (re.compile(r"\bseveral dozen\b"), 36, True),
    (re.compile(r"\bseveral hundred\b"), 300, True),
    (re.compile(r"\bseveral thousand\b"), 3_000, True),
    (re.compile(r"\b(?:a few|a handful of|a number of)\b"), 2, True),
    (re.compile(r"\bseveral\b"), 3, False),
    (re.compile(r"\bdozens\b"), 24, False),
    (re.compile(r"\bscores\b"), 40, False),
    (re.compile(r"\bhundreds\b"), 200, False),
    (re.compile(r"\bthousands\b"), 2_000, False),
]
_TOKEN = re.compile(r"\d[\d,]*(?:\.\d+)?|[a-z]+")
_BETWEEN = re.compile(r"\bbetween\s+(.+?)\s+and\s+(.+)$")
_SPAN_RANGE = re.compile(r"(\d[\d,]*)\s*(?:-|–|to)\s*(\d[\d,]*)")  # "100-150", "100 to 150"


@dataclass
class Figure:
    value: int | None
    qualifier: str  # exact | at_least | at_most | approx | vague
    range: tuple[int, int] | None = None


def _number_at(tokens: list[str], i: int) -> tuple[int | None, int]:
    """Parse the number that starts at tokens[i] (digits or words); returns (value, tokens used)."""
    tok = tokens[i]
    if tok[0].isdigit():
        value = float(tok.replace(",", ""))
        used = 1
        if i + 1 < len(tokens) and tokens[i + 1] in _SCALES:
            value *= _SCALES[tokens[i + 1]]
            used = 2
        return int(value), used
    if tok not in NUMBER_WORDS:
        return None, 0
    if tok in ("a", "an"):  # "a dozen", "a hundred", else a bare "a" = 1
        if i + 1 < len(tokens) and tokens[i + 1] in ("dozen", *_SCALES):
            value, used = _number_at(tokens, i + 1)
            return value, used + 1
        return 1, 1
    used = 0  # the run of number words ("one hundred and five"; "and" only between number words)
    while i + used < len(tokens) and (tokens[i + used] in NUMBER_WORDS and tokens[i + used] not in ("a", "an")
                                      or tokens[i + used] == "and" and used and i + used + 1 < len(tokens)
                                      and tokens[i + used + 1] in NUMBER_WORDS):
        used += 1
    words = tokens[i : i + used]
    dozens = words.count("dozen")
    words = [w for w in words if w != "dozen"]
    value = _words_value(words) if words else 1
    return (value * 12 ** dozens if value is not None else None), used


def _words_value(words: list[str]) -> int | None:
    """A run of number words as an integer, by number-parser ("thirty five" -> 35)."""
    from number_parser import parse_number

    value = parse_number(" ".join(words))
    return int(value) if isinstance(value, (int, float)) else None


def _first_number(text: str) -> tuple[int | None, int]:
    """The first number in `text` and the character offset where it starts (-1 when none)."""
    tokens = [(m.group(), m.start()) for m in _TOKEN.finditer(text)]
    words = [t for t, _ in tokens]
    for i, (tok, start) in enumerate(tokens):
        if tok in ("a", "an") and i + 1 < len(words) and words[i + 1] not in _SCALES and words[i + 1] != "dozen":
            # a bare article counts as 1 only when nothing else in the phrase is a number
            if any(w[0].isdigit() or (w in NUMBER_WORDS and w not in ("a", "an")) for w in words[i + 1 :]):
                continue
        value, used = _number_at(words, i)
        if used:
            return value, start
    return None, -1


def _qualifier(prefix: str) -> str:
    for qualifier, phrases in _QUALIFIERS:
        if any(re.search(rf"\b{re.escape(p)}\b", prefix) for p in phrases):
            return qualifier
    return "exact"


def normalize_figure(text: str) -> Figure:
    """Spec "Normalised figures": a casualty phrase -> value, qualifier and (for "between 15 and 20",
    "100-150") range; vague quantities ("dozens", "several dozen", "a few") -> their conservative floor."""
    lowered = " ".join(text.lower().replace("-", " ").split())
    between = _BETWEEN.search(lowered)
    if between:
        low, _ = _first_number(between.group(1))
        high, _ = _first_number(between.group(2))
        if low is not None and high is not None:
            return Figure(low, "at_least", (low, high))
    if (span := _SPAN_RANGE.search(text.lower())) and int(span.group(2).replace(",", "")) > int(
            span.group(1).replace(",", "")):
        low, high = (int(g.replace(",", "")) for g in span.groups())
        return Figure(low, "at_least", (low, high))
    for pattern, value, wins in _VAGUE:
        if pattern.search(lowered) and (wins or _first_number(lowered)[0] is None):
            return Figure(value, "vague")
    value, start = _first_number(lowered)
    if value is None:
        return Figure(None, "vague")
    return Figure(value, _qualifier(lowered[:start]))


# ---------------------------------------------------------------- dates

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")
_WEEKDAYS = [w.lower() for w in WEEKDAYS]
_MONTHS = {
    name: n
    for n, names in enumerate(
        [("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"), ("may",), ("june", "jun"),
         ("july", "jul"), ("august", "aug"), ("september", "sep", "sept"), ("october", "oct"),
         ("november", "nov"), ("december", "dec")],
        start=1,
    )
    for name in names
}
_MONTH = "(" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\b\.?"
_MONTH_DAY = re.compile(rf"\b{_MONTH}\s+(\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+(\d{{4}}))?")
_DAY_MONTH = re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}(?:,?\s+(\d{{4}}))?")
_MONTH_YEAR = re.compile(rf"\b{_MONTH}\s+(?:of\s+)?(\d{{4}})\b")
_ISO = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_RELATIVE_DAYS = {"today": 0, "tonight": 0, "this morning": 0, "this afternoon": 0, "this evening": 0,
                  "yesterday": -1, "last night": -1, "tomorrow": 1}


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _explicit_date(lowered: str, published: date | None) -> str | None:
    """A day and month written out ("January 27", "27 January", "May 1, 2021", "2021-05-01")."""
    if m := _ISO.search(lowered):
        found = _safe_date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        return found.isoformat() if found else None
    for pattern, month_group, day_group in ((_MONTH_DAY, 1, 2), (_DAY_MONTH, 2, 1)):
        if m := pattern.search(lowered):
            month, day = _MONTHS[m.group(month_group)], int(m.group(day_group))
            if m.group(3):
                found = _safe_date(int(m.group(3)), month, day)
            elif published is None:
                return None
            else:  # no year: the latest such day on or before publication ("December 30" in January is last year's)
                found = _safe_date(published.year, month, day)
                if found is not None and found > published:
                    found = _safe_date(published.year - 1, month, day)
            return found.isoformat() if found else None
    return None


def _weekday_date(lowered: str, published: date) -> str | None:
    """A weekday name = the latest such day on or before `published` ("next Friday" = the first after)."""
    for n, name in enumerate(_WEEKDAYS):
        if m := re.search(rf"\b(next|last)?\s*{name}\b", lowered):
            back = (published.weekday() - n) % 7
            if m.group(1) == "next":
                return (published + timedelta(days=(n - published.weekday()) % 7 or 7)).isoformat()
            if m.group(1) == "last" and back == 0:
                back = 7
            return (published - timedelta(days=back)).isoformat()
    return None


def _dateparser_date(text: str, published: date | None) -> str | None:
    """Other dates via dateparser ("05/01/2021", "three days ago"), relative to the publication date and
    never after it."""
    from datetime import datetime

    import dateparser  # slow import, needed only here

    settings = {"PREFER_DATES_FROM": "past", "RETURN_AS_TIMEZONE_AWARE": False}
    if published is not None:
        settings["RELATIVE_BASE"] = datetime(published.year, published.month, published.day, 12)
    else:
        settings["REQUIRE_PARTS"] = ["day", "month", "year"]
    parsed = dateparser.parse(text, languages=["en"], settings=settings)
    if parsed is None or published is not None and parsed.date() > published:
        return None
    return parsed.date().isoformat()


def normalize_time(text: str, published: date | None = None) -> str | None:
    """An ISO date (or "YYYY-MM" for a month, "YYYY" for a year) for a TIME span, or None when it cannot
    be resolved. Relative and yearless dates resolve against `published` and never after it."""
    lowered = " ".join(text.lower().split())
    if found := _explicit_date(lowered, published):
        return found
    if m := _MONTH_YEAR.search(lowered):
        return f"{int(m.group(2)):04d}-{_MONTHS[m.group(1)]:02d}"
    if m := re.fullmatch(r"(?:(?:early|mid|late)[ -])?((?:19|20)\d\d)", lowered):
        return m.group(1)  # year precision
    if published is not None:
        for phrase, offset in _RELATIVE_DAYS.items():
            if re.search(rf"\b{phrase}\b", lowered):
                return (published + timedelta(days=offset)).isoformat()
        if found := _weekday_date(lowered, published):
            return found
    if (re.search(r"\b(19|20)\d\d\b", lowered) and re.search(r"\d{1,2}\D+\d{1,2}|" + _MONTH, lowered)
            or published is not None and re.search(r"\b(?:ago|days? (?:before|earlier))\b", lowered)):
        return _dateparser_date(text, published)
    return None




# words that make a phrase a quantity without a number ("dozens dead", "a few soldiers", "scores of people")
VAGUE_QUANTIFIERS = frozenset({"several", "dozens", "dozen", "scores", "score", "hundreds", "thousands", "tens",
                               "few", "handful", "number", "many", "numerous", "multiple", "countless"})
_QUANTITY_WORDS = "|".join(sorted(NUMBER_WORDS | VAGUE_QUANTIFIERS, key=len, reverse=True))  # longest first
_QUANTITY = re.compile(r"\d|\b(?:%s)\b" % _QUANTITY_WORDS)


def has_quantity(text: str) -> bool:
    """True when a phrase holds a quantity: digits, a number word ("a", "one", "Thirty-five") or a vague
    quantifier ("dozens", "a few"). A KILLED, INJURED or DISPLACED span must."""
    return bool(_QUANTITY.search(text.lower().replace("-", " ")))


# the words that say what a figure counts; shared by the decoder and the baseline
OUTCOME_CUES = {
    "KILLED": re.compile(r"\b(?:kill\w*|dead|death\w*|died|die|lives|fatalit\w*|perish\w*|bodies|martyr\w*)\b", re.I),
    "INJURED": re.compile(r"\b(?:wound\w*|injur\w*|hurt|hospitali\w*)\b", re.I),
    "DISPLACED": re.compile(r"\b(?:evacuat\w*|displac\w*|relocat\w*|fled|flee\w*|refugees|homeless)\b", re.I),
}
RESULTATIVES = ("dead", "killed", "wounded", "injured", "hurt", "displaced", "evacuated")


# the verb right after a figure, past auxiliaries and a few adverbs ("were evacuated", "have so far been killed")
_PREDICATE = re.compile(r"\s*(?:(?:were|was|are|is|have|has|had|been|being|reportedly|also|all|later|since|now|then|"
                        r"so\s+far)\s+){0,4}(\w+)")


# a breakdown set off after a figure: "at least ten others, including 6 border guards and 4 civilians,
# were wounded", "3,000 residents, among them 1,200 children, were evacuated" (the spec annotates the
# total alone; its verb comes after the breakdown)
_BREAKDOWN_START = re.compile(
    r"(?:\s+(?:dead|killed|wounded|injured|hurt))?,\s*(?:including|among\s+them|among\s+whom)\s+"
    r"(?=(?:at\s+least|some|about|around|nearly|more\s+than)?\s*(?:\d|(?:%s)\b))" % _QUANTITY_WORDS, re.IGNORECASE)
_CLAUSE_END = re.compile(r"[.;:\n]|,\s+(?:and|but|while|as|after|when|which|who|according)\b"
                         r"|\s+(?:where|while|when|which|who|after|as)\b|\s+(?:and|or)\s+\w+(?:ed|ing)\b")
# what follows a breakdown: its closing comma before a word that is no further item ("..., were
# wounded", "..., fled"), or the verb right after it ("... 4 civilians were wounded")
_BREAKDOWN_END = re.compile(r",\s*(?=[a-z])(?!(?:and|or|%s)\b)|\s+(?=(?:were|was|have|has|had|are|is)\b)"
                            % _QUANTITY_WORDS)


def breakdown_after(text: str, end: int) -> tuple[int, int] | None:
    """The breakdown set off after a figure that ends at `end`, as (start, end): from its comma to its
    closing comma or the verb that follows it, else to the end of its clause, and never past a clause of
    its own ("..., including 3 children and wounded 20 others", "... where 20 were wounded"); None when
    the figure has none (", including in Vorukh, where ..." is no breakdown: no quantity follows the
    cue)."""
    m = _BREAKDOWN_START.match(text, end)
    if not m:
        return None
    stop = _CLAUSE_END.search(text, m.end())
    limit = stop.start() if stop else len(text)
    close = _BREAKDOWN_END.search(text, m.end(), limit)
    return m.start(), close.start() if close else limit


def predicate_outcome(text: str, end: int) -> str | None:
    """The label named by the verb that follows a figure ending at `end` ("Nearly 4,000 residents were
    evacuated" -> DISPLACED), past a breakdown ("ten others, including 6 border guards, were wounded"),
    or None. On the gold of all 355 articles it agrees with the annotated label in 726 of 726 figures
    whose own words name no outcome and whose verb does; after a breakdown, in 3 of 3 on all 475 gold
    and synthetic articles."""
    if breakdown := breakdown_after(text, end):
        end = breakdown[1] + text.startswith(",", breakdown[1])
    m = _PREDICATE.match(text, end)
    return figure_outcome(m.group(1)) if m else None


def figure_outcome(text: str) -> str | None:
    """The label a figure's own words name ("Almost fifty deaths" -> KILLED), or None when they name
    none or more than one ("134 casualties", "killed or wounded")."""
    found = {label for label, cue in OUTCOME_CUES.items() if cue.search(text)}
    return found.pop() if len(found) == 1 else None
