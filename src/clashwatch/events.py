"""Event records from spans + relations (spec v1.1 "Event records"), with the spec's figure and date
normalisation and the ACLED fatalities rule."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta

from .corpus import sentence_bounds
from .schema import EVENT_TYPES, ROLE_LABELS, TRIGGER_LABELS, Document, Span

# ---------------------------------------------------------------- figures

_UNITS = {
    "zero": 0, "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
_SCALES = {"hundred": 100, "thousand": 1_000, "million": 1_000_000}
_NUMBER_WORDS = set(_UNITS) | set(_TENS) | set(_SCALES) | {"dozen"}

# qualifier phrases, checked in the text before the number; longest first so "up to" beats "to"
_QUALIFIERS = [
    ("at_least", ("at least", "more than", "over", "upwards of", "no fewer than", "no less than")),
    ("at_most", ("nearly", "almost", "up to", "as many as", "fewer than", "less than")),
    ("approx", ("about", "around", "some", "approximately", "roughly", "an estimated", "estimated")),
]
# vague quantities -> the spec's conservative lower bounds
_VAGUE = [
    (re.compile(r"\btens of thousands\b"), 20_000),
    (re.compile(r"\bhundreds of thousands\b"), 200_000),
    (re.compile(r"\bseveral\b"), 3),
    (re.compile(r"\bdozens\b"), 24),
    (re.compile(r"\bhundreds\b"), 200),
    (re.compile(r"\bthousands\b"), 2_000),
]
_TOKEN = re.compile(r"\d[\d,]*(?:\.\d+)?|[a-z]+")
_BETWEEN = re.compile(r"\bbetween\s+(.+?)\s+and\s+(.+)$")


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
    if tok not in _NUMBER_WORDS:
        return None, 0
    if tok in ("a", "an"):  # "a dozen", "a hundred", else a bare "a" = 1
        if i + 1 < len(tokens) and tokens[i + 1] in ("dozen", *_SCALES):
            value, used = _number_at(tokens, i + 1)
            return value, used + 1
        return 1, 1
    total, current, used = 0, 0, 0
    for tok in tokens[i:]:
        if tok in _UNITS and tok not in ("a", "an"):
            current += _UNITS[tok]
        elif tok in _TENS:
            current += _TENS[tok]
        elif tok == "dozen":
            current = (current or 1) * 12
        elif tok == "hundred":
            current = (current or 1) * 100
        elif tok in ("thousand", "million"):
            total += (current or 1) * _SCALES[tok]
            current = 0
        elif tok == "and" and used and i + used + 1 < len(tokens) and tokens[i + used + 1] in _NUMBER_WORDS:
            pass  # "one hundred and five"
        else:
            break
        used += 1
    return total + current, used


def _first_number(text: str) -> tuple[int | None, int]:
    """The first number in `text` and the character offset where it starts (-1 when none)."""
    tokens = [(m.group(), m.start()) for m in _TOKEN.finditer(text)]
    words = [t for t, _ in tokens]
    for i, (tok, start) in enumerate(tokens):
        if tok in ("a", "an") and i + 1 < len(words) and words[i + 1] not in _SCALES and words[i + 1] != "dozen":
            # a bare article counts as 1 only when nothing else in the phrase is a number
            if any(w[0].isdigit() or (w in _NUMBER_WORDS and w not in ("a", "an")) for w in words[i + 1 :]):
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
    """Spec "Normalised figures": a casualty phrase -> value, qualifier and (for "between") range."""
    lowered = " ".join(text.lower().replace("-", " ").split())
    between = _BETWEEN.search(lowered)
    if between:
        low, _ = _first_number(between.group(1))
        high, _ = _first_number(between.group(2))
        if low is not None and high is not None:
            return Figure(low, "at_least", (low, high))
    for pattern, value in _VAGUE:
        if pattern.search(lowered) and _first_number(lowered)[0] is None:
            return Figure(value, "vague")
    value, start = _first_number(lowered)
    if value is None:
        return Figure(None, "vague")
    return Figure(value, _qualifier(lowered[:start]))


# ---------------------------------------------------------------- dates

_WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
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
            year = int(m.group(3)) if m.group(3) else published.year if published else None
            if year is None:
                return None
            found = _safe_date(year, _MONTHS[m.group(month_group)], int(m.group(day_group)))
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


def _dateparser_date(text: str) -> str | None:
    """Other absolute dates with a year ("05/01/2021", "the 1st of May 2021") via dateparser."""
    import dateparser  # slow import, needed only here

    parsed = dateparser.parse(text, languages=["en"], settings={"REQUIRE_PARTS": ["day", "month", "year"]})
    return parsed.date().isoformat() if parsed else None


def normalize_time(text: str, published: date | None = None) -> str | None:
    """An ISO date (or "YYYY-MM" for a month, "YYYY" for a year) for a TIME span, or None when it cannot
    be resolved."""
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
    if re.search(r"\b(19|20)\d\d\b", lowered) and re.search(r"\d{1,2}\D+\d{1,2}|" + _MONTH, lowered):
        return _dateparser_date(text)
    return None


# ---------------------------------------------------------------- event records


@dataclass
class TimeRecord:
    text: str
    iso: str | None


@dataclass
class FigureRecord:
    text: str
    value: int | None
    qualifier: str
    range: tuple[int, int] | None
    reported_by: list[str] = field(default_factory=list)


@dataclass
class EvidenceSpan:
    start: int
    end: int
    label: str
    text: str


@dataclass
class Evidence:
    sentence: str  # the sentence of the event's first trigger
    spans: list[EvidenceSpan] = field(default_factory=list)  # triggers and arguments, by offset


@dataclass
class Event:
    doc_id: str
    event_type: str  # armed_clash | ceasefire
    trigger_texts: list[str]
    actors: list[str] = field(default_factory=list)
    mediators: list[str] = field(default_factory=list)
    locations: list[str] = field(default_factory=list)
    times: list[TimeRecord] = field(default_factory=list)
    weapons: list[str] = field(default_factory=list)
    killed: list[FigureRecord] = field(default_factory=list)
    injured: list[FigureRecord] = field(default_factory=list)
    displaced: list[FigureRecord] = field(default_factory=list)
    evidence: Evidence = field(default_factory=lambda: Evidence(""))
    confidence: float = 1.0

    def to_dict(self) -> dict:
        record = asdict(self)
        for name in ("killed", "injured", "displaced"):
            for figure in record[name]:
                figure["range"] = list(figure["range"]) if figure["range"] else None
        return record


_ROLE_FIELDS = {"participant": "actors", "party": "actors", "mediator": "mediators", "place": "locations",
                "time": "times", "weapon": "weapons"}
_TOLL_FIELDS = {"KILLED": "killed", "INJURED": "injured", "DISPLACED": "displaced"}


def normalized_text(text: str) -> str:
    """The key arguments are deduplicated by: case-folded, single-spaced, without a leading "the"."""
    key = " ".join(text.casefold().split())
    return key[4:] if key.startswith("the ") else key


def _components(triggers: list[Span], doc: Document) -> list[list[Span]]:
    """Connected components of same_event links among triggers, each sorted, ordered by first offset."""
    parent = {s.id: s.id for s in triggers}

    def root(sid: str) -> str:
        while parent[sid] != sid:
            parent[sid] = parent[parent[sid]]
            sid = parent[sid]
        return sid

    for r in doc.relations:
        if r.label == "same_event" and r.head in parent and r.tail in parent:
            parent[root(r.head)] = root(r.tail)
    groups: dict[str, list[Span]] = {}
    for s in sorted(triggers, key=lambda s: (s.start, s.end)):
        groups.setdefault(root(s.id), []).append(s)
    return sorted(groups.values(), key=lambda g: (g[0].start, g[0].end))


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 1.0


def _score(x) -> float:
    return 1.0 if x.score is None else float(x.score)


def assemble_events(doc: Document, published: date | None = None) -> list[Event]:
    """One Event per same_event component of trigger spans, with every argument linked to any of its
    mentions; deterministic order (first trigger offset)."""
    spans = doc.span_by_id()
    triggers = [s for s in doc.spans if s.label in TRIGGER_LABELS]
    reporters: dict[str, list[Span]] = {}
    for r in doc.relations:
        if r.label == "reported_by" and r.head in spans and r.tail in spans:
            reporters.setdefault(r.head, []).append(spans[r.tail])
    sentences = sentence_bounds(doc.text)

    events = []
    for mentions in _components(triggers, doc):
        ids = {s.id for s in mentions}
        links = [r for r in doc.relations if r.head in ids and r.tail in spans and
                 (r.label in ROLE_LABELS or r.label == "same_event" and r.tail in ids)]
        arguments = sorted(((spans[r.tail], r.label) for r in links if r.label in ROLE_LABELS),
                           key=lambda pair: (pair[0].start, pair[0].end))
        first = mentions[0]
        event = Event(
            doc_id=doc.doc_id,
            event_type=EVENT_TYPES[first.label],
            trigger_texts=list(dict.fromkeys(s.text for s in mentions)),
            confidence=round(_mean([_score(s) for s in mentions]) * _mean([_score(r) for r in links]), 4),
        )
        seen: dict[tuple[str, str], object] = {}
        for span, role in arguments:
            name = _TOLL_FIELDS.get(span.label) if role == "toll" else _ROLE_FIELDS.get(role)
            if name is None:
                continue
            key = (name, normalized_text(span.text))
            reported = [a.text for a in sorted(reporters.get(span.id, []), key=lambda a: a.start)]
            if key in seen:  # a repeated argument: keep the first, gather any further reporters
                if isinstance(seen[key], FigureRecord):
                    seen[key].reported_by.extend(t for t in reported if t not in seen[key].reported_by)
                continue
            if name in _TOLL_FIELDS.values():
                figure = normalize_figure(span.text)
                item = FigureRecord(span.text, figure.value, figure.qualifier, figure.range,
                                    list(dict.fromkeys(reported)))
            elif name == "times":
                item = TimeRecord(span.text, normalize_time(span.text, published))
            else:
                item = span.text
            seen[key] = item
            getattr(event, name).append(item)
        cited = {s.id: s for s in [*mentions, *(span for span, _ in arguments)]}
        event.evidence = Evidence(
            sentence=next((doc.text[a:b] for a, b in sentences if a <= first.start < b), first.text),
            spans=[EvidenceSpan(s.start, s.end, s.label, s.text)
                   for s in sorted(cited.values(), key=lambda s: (s.start, s.end))],
        )
        events.append(event)
    return events


# ---------------------------------------------------------------- ACLED fatalities

# head words that name no particular group: such a figure is a total of everyone killed
_GENERIC_HEADS = {"people", "person", "death", "dead", "killed", "life", "live", "individual", "fatality",
                  "victim", "casualty", "total", "body", "toll"}
_FILLER = {"of", "the", "a", "an", "and", "their", "more", "further", "additional", "than", "least", "at",
           "nearly", "almost", "up", "to", "over", "about", "around", "some", "between", "approximately",
           "roughly", "estimated", "as", "many", "no", "fewer", "less", "upwards", "several", "dozens",
           "hundreds", "thousands", "tens"}


def _singular(word: str) -> str:
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    return word[:-1] if word.endswith("s") and not word.endswith("ss") and len(word) > 3 else word


def population(text: str) -> frozenset[str]:
    """The group a casualty figure counts: its head words without number, qualifier and generic nouns
    ("two Tajik nationals" -> {"tajik", "national"}; "At least 49 people" -> {} = everyone)."""
    words = re.findall(r"[a-z]+", text.lower().replace("-", " "))
    heads = {_singular(w) for w in words if w not in _NUMBER_WORDS and w not in _FILLER}
    return frozenset(heads - _GENERIC_HEADS)


def acled_fatalities(event: Event | dict) -> int | None:
    """ACLED `fatalities` from the KILLED figures of an event (spec: the lowest of the figures that count
    the same population, the sum of the figures for disjoint sides). The heuristic:

    1. A figure's population is its head words (`population`): "six soldiers" counts soldiers, "two
       Tajik nationals" Tajik nationals; a figure with no specific head word ("49 people", "dozens
       dead") is a total: it counts everyone.
    2. Figures of one population are competing tallies (a repeat, a revision, another reporter's
       count), whoever reports them: the lowest wins. So all totals compete with each other.
    3. Different populations are disjoint sides ("six soldiers" + "five civilians", "eleven Kyrgyz
       nationals" + "two Tajik nationals", each side reporting its own dead): their tallies add up.
    4. A total cannot be below the sum of its disjoint parts, so the result is the larger of the lowest
       total and the sum of the parts (a reporter's "14 people" beside "two border guards" stays 14).

    Limits: nested groups ("soldiers", "Kyrgyz soldiers") count as disjoint; totals with no head word
    that each side gives for its own dead ("39 people", "10 people") count as competing.
    """
    killed = event.killed if isinstance(event, Event) else event.get("killed") or []
    figures = [asdict(f) if isinstance(f, FigureRecord) else f for f in killed]
    lowest: dict[frozenset[str], int] = {}
    for f in figures:
        if f.get("value") is not None:
            group = population(f.get("text", ""))
            lowest[group] = min(lowest.get(group, f["value"]), f["value"])
    if not lowest:
        return None
    total = lowest.pop(frozenset(), None)
    parts = sum(lowest.values())
    return parts if total is None else max(total, parts)
