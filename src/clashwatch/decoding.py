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

After decoding, spans are trimmed to the spec's extent (`tidy_spans`), places and names are put as the
guidelines have them (`places.py`: "Batken's Leilik district" -> "Batken" + "Leilik district", no place
"Tajik", ...), a trigger after "lack of" or "no" is dropped (negated), and a KILLED, INJURED or
DISPLACED span must be a figure: one that holds no quantity is dropped, one with no head noun keeps its
resultative ("more than 200 wounded"), the outcome its own words name decides its label ("Almost
fifty deaths" is KILLED), else the verb that follows it, past a breakdown set off by commas ("at least
ten others, including 6 border guards and 4 civilians, were wounded": the total is INJURED, and the
breakdown's figures are dropped, since the spec annotates the total alone)."""

from __future__ import annotations

import re

import numpy as np

from .data import ID2LABEL, LABEL2ID, TokenizedDoc
from .lexicon import Lexicon
from .places import places
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


# "the lack of a border delimitation agreement", "no new clashes": a negated trigger is no event (guidelines
# §5); no gold or synthetic trigger follows such a cue ("not" is left alone: "did not deny the air strikes",
# and so is "no casualties from shelling"); one space between words, so a headline's "no" never reaches
# the next line
_NEGATION = re.compile(r"(?:\b(?:[Ll]ack|[Aa]bsence) of (?:(?:an?|the|any) )?(?:[\w-]+ ){0,2}"
                       r"|\b[Nn]o (?:(?:new|further|fresh|renewed|more) )?)$")


def _negated(text: str, span: dict) -> bool:
    return span["label"] in TRIGGER_LABELS and bool(_NEGATION.search(text, max(0, span["start"] - 60), span["start"]))


def _finish(tdoc: TokenizedDoc, spans: list[dict], lexicon: Lexicon | None = None) -> list[dict]:
    out = []
    tidy = tidy_spans(spans, tdoc.text)
    for s in tidy:
        if s["label"] in FIGURE_LABELS:
            s = _figure(tdoc.text, s)
        if s is not None and not _negated(tdoc.text, s):
            out.append(s)
    out = places(tdoc.text, _without_breakdowns(tdoc.text, out), lexicon)
    return [{"start": s["start"], "end": s["end"], "label": s["label"], "score": sum(s["probs"]) / len(s["probs"])}
            for s in out]


def decode(tdoc: TokenizedDoc, logprobs: dict[int, np.ndarray], lexicon: Lexicon | None = None) -> list[dict]:
    """Spans of a document from its word-first tokens' tag log-probabilities (token index -> [TAGS]),
    constrained as the module says; each span has start, end, label and score (mean tag probability)."""
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
