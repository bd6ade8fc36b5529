"""From tag probabilities to spans the spec allows: constrained Viterbi over IOB2.

The tagger gives each word-first token a distribution over the 19 IOB2 tags; a greedy argmax breaks
phrases into pieces with different labels ("17 border" INJURED + "guards" KILLED, "People" + "s
Liberation Army"). The decoder finds the most probable tag sequence under constraints instead:

- IOB2: I-X only after B-X or I-X.
- Words are atoms: a piece glued to the previous one inside a word ("’s" of "People’s", "-15" of
  "PP-15", "Chak-Amru") continues its label; only its outer punctuation may fall outside a span, and a
  possessive ending ("Kyrgyzstan’s") may end one, never start one.
- Sentences and lines are walls: a span never continues across a sentence end or a line break.
- One phrase, one label: an actor, a place and the figures never touch one of another label with only a
  space between; a time may touch anything ("Dhanpur sector early this morning", "in August 2008
  Georgia"), and triggers and weapons may too
  anything ("missile strikes", "Taliban attacks"). Measured on every gold and synthetic document.

After decoding, spans are trimmed to the spec's extent (`tidy_spans`), a LOCATION is parted at a
possessive before a name and loses a leading compass adjective ("Batken's Leilik district" -> "Batken"
+ "Leilik district", "western Batken region" -> "Batken region"), and a KILLED, INJURED or
DISPLACED span must be a figure: one that holds no quantity is dropped, one with no head noun keeps its
resultative ("more than 200 wounded"), the outcome its own words name decides its label ("Almost
fifty deaths" is KILLED), else the verb that follows it, past a breakdown set off by commas ("at least
ten others, including 6 border guards and 4 civilians, were wounded": the total is INJURED, and the
breakdown's figures are dropped, since the spec annotates the total alone)."""

from __future__ import annotations

import re

import numpy as np

from .data import ID2LABEL, LABEL2ID, TokenizedDoc
from .lexicon import TYPE_NOUNS, Lexicon
from .normalize import (NUMBER_WORDS, RESULTATIVES, VAGUE_QUANTIFIERS, breakdown_after, figure_outcome, has_quantity,
                        predicate_outcome)
from .schema import FIGURE_LABELS, TRIGGER_LABELS
from .validate import sentence_bounds

_TRIM = " \t\n\r,;:.\"'“”‘’«»()[]"
_OUTER = _TRIM + "?!…—–"  # punctuation that may stand outside a span at either end of a word
_POSSESSIVE = re.compile(r"[’'][sS]?$")
TAGS = len(ID2LABEL)
_LABEL_OF = [ID2LABEL[i].split("-", 1)[-1] if i else None for i in range(TAGS)]
_IS_B = np.array([ID2LABEL[i].startswith("B-") for i in range(TAGS)])
_IS_I = np.array([ID2LABEL[i].startswith("I-") for i in range(TAGS)])
# argument labels that never touch with only a space between; a time may touch anything ("Dhanpur sector
# early this morning", "in August 2008 Georgia", "wounded five this afternoon"), anything may touch a
# trigger or a weapon ("Taliban attacks")
_ATOMIC = {"ACTOR", "LOCATION", *FIGURE_LABELS}
_DASHES = "-–—"


def _transitions() -> dict[str, np.ndarray]:
    """Allowed [previous tag, tag] for each kind of boundary between two word-first tokens."""
    inside = np.zeros((TAGS, TAGS), bool)  # the usual IOB2 rule
    for p in range(TAGS):
        for t in range(TAGS):
            inside[p, t] = not _IS_I[t] or (p and _LABEL_OF[p] == _LABEL_OF[t])
    glued = np.zeros((TAGS, TAGS), bool)  # inside a word: the same label goes on (or O stays O)
    for p in range(TAGS):
        for t in range(TAGS):
            glued[p, t] = (p == 0 and t == 0) or (p != 0 and _IS_I[t] and _LABEL_OF[p] == _LABEL_OF[t])
    possessive = inside & ~_IS_B[None, :]  # may end a span, never start one
    wall = np.ones((TAGS, TAGS), bool)
    wall[:, _IS_I] = False  # a sentence start: no I-
    spaced = inside.copy()  # only a space before: no different-label atomic argument right after another
    joined = inside.copy()  # a dash between two words: no different-label argument at all ("Chak-Amru")
    for p in range(1, TAGS):
        for t in range(1, TAGS):
            pair = frozenset({_LABEL_OF[p], _LABEL_OF[t]})
            if _IS_B[t] and len(pair) == 2 and pair <= _ATOMIC:
                spaced[p, t] = False
            if _IS_B[t] and len(pair) == 2 and pair <= _ATOMIC | {"TIME"}:
                joined[p, t] = False
    hyphen = joined.copy()  # a hyphen: one phrase goes on ("counter-offensive" is one CLASH, never two)
    for p in range(1, TAGS):
        hyphen[p, _IS_B & np.array([label == _LABEL_OF[p] for label in _LABEL_OF])] = False
    return {"inside": inside, "glued": glued, "possessive": possessive, "wall": wall, "spaced": spaced,
            "joined": joined, "hyphen": hyphen}


TRANSITIONS = _transitions()


def boundaries(tdoc: TokenizedDoc, tokens: list[int]) -> list[str]:
    """For each word-first token (inner dashes left out, see `decode`), the kind of boundary before it:
    `wall` (the first token, a new sentence or line), `spaced` (a new word after only whitespace),
    `joined` (a word after a dash: "Armenia–Azerbaijan"; after a hyphen, `hyphen`, where two spans of
    one label never meet: "Chak-Amru", "counter-offensive", "Qatar-brokered"), `glued` (inside
    a word: "’s" of "People’s", the number of "PP-15"), `possessive` (a possessive ending), else `inside`
    (the outer punctuation of a word, or a new word after punctuation)."""
    text = tdoc.text
    starts = {a for a, _ in sentence_bounds(text)}
    kinds = ["wall"]
    for prev, tok in zip(tokens, tokens[1:]):
        a = tdoc.offsets[tok][0]
        gap = text[tdoc.word_end[prev] : a]
        chunk = _CHUNK.match(text, _chunk_start(text, a))
        before, rest = text[chunk.start() : a], text[a : chunk.end()]
        if a in starts or "\n" in gap:
            kinds.append("wall")
        elif not before:  # a new whitespace-separated word
            kinds.append("spaced" if text[a] not in _OUTER else "inside")
        elif before[-1] in _DASHES and before.strip(_OUTER + _DASHES):
            # a number after a dash belongs to what precedes it ("PP-15"); a wire-copy prefix ends at its
            # dash ("UPDATE 1-ETHIOPIAN TROOPS"); two words joined by a dash may be one name or two names
            kinds.append("glued" if text[a].isdigit() else "inside" if re.fullmatch(r"\d+[-–]", before)
                         else "hyphen" if before[-1] == "-" else "joined")
        elif not before.strip(_OUTER) or not rest.strip(_OUTER):
            kinds.append("inside")  # the outer punctuation of a word
        elif _POSSESSIVE.fullmatch(rest):
            kinds.append("possessive")
        else:
            kinds.append("glued")
    return kinds


def _inner_dash(tdoc: TokenizedDoc, tok: int) -> bool:
    """A dash between two words with no space ("Chak-Amru"): it takes no tag of its own."""
    a, b = tdoc.offsets[tok]
    text = tdoc.text
    return text[a:b] in tuple(_DASHES) and 0 < a and b < len(text) and not text[a - 1].isspace() \
        and not text[b].isspace()


_CHUNK = re.compile(r"\S+")


def _chunk_start(text: str, i: int) -> int:
    while i > 0 and not text[i - 1].isspace():
        i -= 1
    return i


def viterbi(logp: np.ndarray, kinds: list[str]) -> list[int]:
    """The best tag sequence [N] for log-probabilities [N, TAGS] under the boundary kinds."""
    n = len(logp)
    if not n:
        return []
    score = np.where(TRANSITIONS["wall"][0], logp[0], -np.inf)
    back = np.zeros((n, TAGS), dtype=np.int64)
    for i in range(1, n):
        allowed = TRANSITIONS[kinds[i]]
        cand = np.where(allowed, score[:, None], -np.inf)  # [prev, tag]
        back[i] = cand.argmax(0)
        score = cand.max(0) + logp[i]
    best = [int(score.argmax())]
    for i in range(n - 1, 0, -1):
        best.append(int(back[i, best[-1]]))
    return best[::-1]


def trim_span(text: str, start: int, end: int) -> tuple[int, int]:
    """The spec's trimming of a span's ends: whitespace, quotes and commas go; a closing bracket
    stays when the span opens it ("(CSTO)"), a period stays after an abbreviation ("8 p.m.")."""
    while start < end:
        if text[start] in _TRIM or text[start] in "([" and not any(c in text[start + 1 : end] for c in ")]"):
            start += 1
        elif text[end - 1] in ")]" and text[end - 1] == {"(": ")", "[": "]"}.get(
                next((c for c in reversed(text[start : end - 1]) if c in "([)]"), ""), ""):
            break
        elif text[end - 1] == "." and re.search(r"(?:^|[\s.])[A-Za-z]\.$", text[start:end]):
            break
        elif text[end - 1] in _TRIM or text[end - 1] in ")]":
            end -= 1
        else:
            break
    return start, end


def tidy_spans(spans: list[dict], text: str) -> list[dict]:
    """Character spans of one label run as the spec's gold has them: trimmed, and same-label spans
    separated only by whitespace joined (the gold never has two such; a tagger often says B-X B-X).
    Each span dict has start, end, label and optionally probs (a list)."""
    out: list[dict] = []
    for span in sorted(spans, key=lambda x: x["start"]):
        start, end = trim_span(text, span["start"], span["end"])
        if end <= start:
            continue
        span = {**span, "start": start, "end": end}
        last = out[-1] if out else None
        if (last and last["label"] == span["label"] and last["end"] <= start and not text[last["end"]:start].strip()
                and "\n" not in text[last["end"]:start]):
            last["end"] = end
            last["probs"] = last.get("probs", []) + span.get("probs", [])
            last["last"] = span.get("last", last.get("last"))
        else:
            out.append(span)
    return out


def _runs(tdoc: TokenizedDoc, tokens: list[int], tags: list[int], probs: list[float]) -> list[dict]:
    spans, current = [], None
    for tok, tag, p in zip(tokens, tags, probs):
        if tag == 0:
            current = None
            continue
        kind, label = ID2LABEL[tag].split("-", 1)
        if kind == "I" and current is not None and current["label"] == label:
            current["last"] = tok
            current["probs"].append(p)
        else:
            current = {"label": label, "first": tok, "last": tok, "probs": [p]}
            spans.append(current)
    for s in spans:
        s["start"], s["end"] = tdoc.offsets[s["first"]][0], tdoc.word_end[s["last"]]
    return spans


_TRAILING_RESULTATIVE = re.compile(r"\s+(%s)\b" % "|".join(RESULTATIVES))
_ENDS_IN_QUANTITY = re.compile(r"(?:\d|\b(?:%s))$" % "|".join(sorted(NUMBER_WORDS | VAGUE_QUANTIFIERS, key=len)))


def _figure(text: str, span: dict) -> dict | None:
    """A figure as the spec has it, or None: it holds a quantity; with no head noun it keeps its
    resultative ("more than 200" + "wounded"); its own words decide its label ("Almost fifty deaths" is
    KILLED whatever the tags said), else the verb that follows it ("4,000 residents were evacuated")."""
    start, end = span["start"], span["end"]
    if not has_quantity(text[start:end]):
        return None
    if _ENDS_IN_QUANTITY.search(text[start:end].lower()) and (m := _TRAILING_RESULTATIVE.match(text, end)):
        end = m.end()
    label = figure_outcome(text[start:end]) or predicate_outcome(text, end) or span["label"]
    return {**span, "end": end, "label": label}


def _without_breakdowns(text: str, spans: list[dict]) -> list[dict]:
    """Drop the figures of a breakdown set off after another figure ("at least ten others, including 6
    border guards and 4 civilians, were wounded": the spec annotates the total alone)."""
    inside = [b for s in spans if s["label"] in FIGURE_LABELS and (b := breakdown_after(text, s["end"]))]
    return [s for s in spans
            if not (s["label"] in FIGURE_LABELS and any(a <= s["start"] and s["end"] <= b for a, b in inside))]


_COMPASS = r"(?:(?:north|south)(?:-?(?:east|west))?|east|west)(?:ern)?|central"
_LEADING_COMPASS = re.compile(rf"(?:{_COMPASS})\s+(?=[A-Z])")
# "Batken's Leilik district", "Ukraine's Donetsk Oblast": a possessor and a named place of a lower order,
# each its own span; a possessive inside one name ("People's Republic of China", "Martha's Vineyard", "St
# Martin's Island") is left alone, since no administrative noun ends it
_ADMIN_NOUN = "(?:%s)" % "|".join(f"[{n[0].upper()}{n[0]}]{n[1:]}" for n in TYPE_NOUNS)
_POSSESSIVE_PLACE = re.compile(rf"[’']s\s+(?:(?:{_COMPASS})\s+)?(?=[A-Z][^’']*\s{_ADMIN_NOUN}(?:[’']s\b|$))")


def _location_pieces(text: str, span: dict) -> list[dict]:
    """A LOCATION as the spec has it: containers each their own span ("Batken's Leilik district" ->
    "Batken" + "Leilik district"), a compass adjective left out ("western Batken region" -> "Batken
    region"; guidelines §2, seed 004)."""
    start, end = span["start"], span["end"]
    pieces = []
    while m := _POSSESSIVE_PLACE.search(text[:end], start):
        pieces.append((start, m.start()))
        start = m.end()
    pieces.append((start, end))
    out = []
    for a, b in pieces:
        if c := _LEADING_COMPASS.match(text, a, b):
            a = c.end()
        if a < b:
            out.append({**span, "start": a, "end": b})
    return out


# a dash with a space after it, or one set off by spaces, parts two phrases ("Alwaght- Tajikistan": an
# outlet's name glued to the first word); "Kyrgyz-Tajik" and "Chak-Amru" are one word
_SPACED_DASH = re.compile(r"\s*[-–—]\s+|\s+[-–—]\s*")


def _dash_pieces(text: str, span: dict) -> list[dict]:
    """An actor or a place parted at a spaced dash; a piece that runs from a line's start to the dash is a
    dateline or the outlet's tag (guidelines §5, boilerplate) and is dropped."""
    out, start = [], span["start"]
    for m in [*_SPACED_DASH.finditer(text, span["start"], span["end"]), None]:
        end = m.start() if m else span["end"]
        dateline = m is not None and (start == 0 or text[start - 1] == "\n")
        if end > start and not dateline:
            out.append({**span, "start": start, "end": end})
        start = m.end() if m else start
    return out


# "border of Kyrgyzstan and Tajikistan" is one place (guidelines §2 and §8.9); "border between Congo's
# North Kivu province and Rwanda's Rubavu district" names four
_BORDER_OF = re.compile(r"\b[Bb]orders?\s+(?:of|between)\s+(?:the\s+)?$")
_AND = re.compile(r"\s+and\s+(?:the\s+)?$")
# "an invasion attempt by Dushanbe": a place after "by" is the side that acted (63 of the 64 names
# after "by" in the gold and synthetic corpus are actors); "surrounded by Kyrgyzstan" stays a place
_BY = re.compile(r"(?<!surrounded)(?<!bordered)(?<!flanked)(?<!encircled)(?<!ringed)(?<!separated)\s+by\s+$")
# "the town of Voruj", "the Kyrgyz village of Kalacha": only the name (guidelines §2, "type of Name")
# ("national waters of Karunde" is a description with a named country, which counts, like the border)
_TYPE_OF = re.compile(r"(?:(?P<adj>[A-Z][\w’'-]*)\s+)?(?:[a-z][\w-]*\s+)*?(?:%s)\s+of\s+(?=[A-Z])" % "|".join(TYPE_NOUNS))


def _merge_borders(text: str, spans: list[dict]) -> list[dict]:
    out: list[dict] = []
    for s in spans:
        a = out[-1] if out else None
        border = _BORDER_OF.search(text, max(0, a["start"] - 40), a["start"]) if a else None
        if (a and border and s["label"] == a["label"] == "LOCATION" and _AND.fullmatch(text, a["end"], s["start"])
                and not re.search(r"[’']s\b", text[border.start():s["end"] + 2])
                and not any(o["end"] > border.start() for o in out[:-1])):
            out[-1] = {**a, "start": border.start(), "end": s["end"], "probs": a["probs"] + s["probs"], "last": s["last"]}
        else:
            out.append(s)
    return out


# "in the Batken region": a name keeps the type noun after it (guidelines §2, "Name + type"); no gold or
# synthetic place leaves one out
_TYPE_AFTER = re.compile(r" (?:%s)\b" % "|".join(TYPE_NOUNS))


def _named_place(text: str, span: dict, lexicon: Lexicon | None) -> dict | None:
    """A LOCATION with the type noun after it ("Batken" + "region") and without its "type of" ("town of
    Voruj" -> "Voruj"), None for a nationality adjective alone ("Tajik"); an actor when "by" names it as
    the side that acted."""
    if m := _TYPE_AFTER.match(text, span["end"]):
        span = {**span, "end": m.end()}
    words = text[span["start"]:span["end"]]
    if lexicon and lexicon.is_demonym(words):
        return None
    if _BY.search(text, max(0, span["start"] - 20), span["start"]):
        return {**span, "label": "ACTOR"}
    m = _TYPE_OF.match(text, span["start"], span["end"])
    if m and (m["adj"] is None or (lexicon and lexicon.is_demonym(m["adj"]))):
        return {**span, "start": m.end()}
    return span


def _without_type_descriptions(text: str, spans: list[dict], lexicon: Lexicon | None) -> list[dict]:
    """Drop "Kyrgyz region" of "the Kyrgyz region of Batkén": a nationality adjective and a type, followed by
    "of" and the place's name, describe that place (guidelines §2); "the Russian bank of the Pasvik river"
    names a position, which counts (§8.10)."""
    if lexicon is None:
        return spans
    out = []
    for i, s in enumerate(spans):
        nxt = spans[i + 1] if i + 1 < len(spans) else None
        words = text[s["start"]:s["end"]].split()
        if (s["label"] == "LOCATION" and nxt and nxt["label"] == "LOCATION" and lexicon.is_demonym(words[0])
                and len(words) > 1 and all(w[:1].islower() for w in words[1:]) and words[-1] in TYPE_NOUNS
                and re.fullmatch(r"\s+of\s+(?:the\s+)?", text[s["end"]:nxt["start"]])):
            continue
        out.append(s)
    return out


def _is_name(words: str) -> bool:
    return all(w[:1].isupper() for w in words.split())


def _name_roles(text: str, spans: list[dict]) -> list[dict]:
    """Two names joined by "and" share a role, the surer one's ("Tajikistan and Kyrgyzstan have agreed":
    not a place and an actor); a name with a possessive before a place contains it ("Tajikistan's Surkh
    jamoat"). In the gold and synthetic corpus, 410 of 412 actor or place names joined by "and" share
    their label (the two others are no pair of names), and 54 of 54 possessors of a place are places."""
    out = [dict(s) for s in spans]
    for a, b in zip(out, out[1:]):
        gap = text[a["end"]:b["start"]]
        pair = {a["label"], b["label"]} == {"ACTOR", "LOCATION"}
        if pair and re.fullmatch(r"\s+and\s+", gap) and _is_name(text[a["start"]:a["end"]]) \
                and _is_name(text[b["start"]:b["end"]]):
            sure = max((a, b), key=lambda s: sum(s["probs"]) / len(s["probs"]))
            a["label"] = b["label"] = sure["label"]
        elif a["label"] == "ACTOR" and b["label"] == "LOCATION" and re.fullmatch(r"[’']s\s+", gap) \
                and _is_name(text[a["start"]:a["end"]]):
            a["label"] = "LOCATION"
    return out


def _places(text: str, spans: list[dict], lexicon: Lexicon | None) -> list[dict]:
    """The guidelines' places (§2, §5, §8.9): borders of two countries whole, names without their type or
    nationality adjective, datelines out, a place after "by" an actor, names joined by "and" one role."""
    spans = [p for s in spans for p in (_dash_pieces(text, s) if s["label"] in ("ACTOR", "LOCATION") else [s])]
    spans = _name_roles(text, _merge_borders(text, spans))
    spans = [p for s in spans if (p := _named_place(text, s, lexicon) if s["label"] == "LOCATION" else s)]
    return _without_type_descriptions(text, spans, lexicon)


# "the lack of a border delimitation agreement", "no new clashes": a negated trigger is no event (guidelines
# §5); no gold or synthetic trigger follows such a cue ("not" is left alone: "did not deny the air strikes")
_NEGATION = re.compile(r"(?:\b(?:[Ll]ack|[Aa]bsence) of|\b[Nn]o)\s+(?:an?\s+|the\s+|any\s+)?(?:[\w-]+\s+){0,2}$")


def _negated(text: str, span: dict) -> bool:
    return span["label"] in TRIGGER_LABELS and bool(_NEGATION.search(text, max(0, span["start"] - 60), span["start"]))


def _finish(tdoc: TokenizedDoc, spans: list[dict], lexicon: Lexicon | None = None) -> list[dict]:
    out = []
    tidy = tidy_spans(spans, tdoc.text)
    for s in [piece for s in tidy for piece in (_location_pieces(tdoc.text, s) if s["label"] == "LOCATION" else [s])]:
        if s["label"] in FIGURE_LABELS and (s := _figure(tdoc.text, s)) is None or _negated(tdoc.text, s):
            continue
        out.append(s)
    out = _places(tdoc.text, _without_breakdowns(tdoc.text, out), lexicon)
    return [{"start": s["start"], "end": s["end"], "label": s["label"], "score": sum(s["probs"]) / len(s["probs"]),
             "first": s["first"], "last": s["last"]} for s in out]


def decode(tdoc: TokenizedDoc, logprobs: dict[int, np.ndarray], lexicon: Lexicon | None = None) -> list[dict]:
    """Spans of a document from its word-first tokens' tag log-probabilities (token index -> [TAGS]),
    constrained as the module says; each span has start, end, label, score (mean tag probability),
    first and last token."""
    tokens = [t for t in sorted(logprobs) if not _inner_dash(tdoc, t)]
    if not tokens:
        return []
    logp = np.stack([logprobs[t] for t in tokens])
    tags = viterbi(logp, boundaries(tdoc, tokens))
    probs = [float(np.exp(logp[i, t])) for i, t in enumerate(tags)]
    return _finish(tdoc, _runs(tdoc, tokens, tags, probs), lexicon)


def decode_greedy(tdoc: TokenizedDoc, tags: dict[int, int], probs: dict[int, float] | None = None,
                  lexicon: Lexicon | None = None) -> list[dict]:
    """The unconstrained decoder (argmax tags; a stray I- opens a span), kept for comparison and for
    gold tags: `decode_tags` of earlier versions."""
    tokens = sorted(tags)
    return _finish(tdoc, _runs(tdoc, tokens, [tags[t] for t in tokens],
                               [probs.get(t, 1.0) if probs else 1.0 for t in tokens]), lexicon)


def one_hot_logprobs(tags: dict[int, int]) -> dict[int, np.ndarray]:
    """Log-probabilities that put all mass on the given tags (tests, gold)."""
    out = {}
    for tok, tag in tags.items():
        row = np.full(TAGS, -30.0)
        row[tag] = 0.0
        out[tok] = row
    return out


__all__ = ["LABEL2ID", "decode", "decode_greedy", "tidy_spans", "trim_span", "viterbi", "boundaries"]
