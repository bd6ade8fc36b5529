"""The validator: the spec's mechanical rules as errors (`check_document`) and the consistency checks of
the guidelines as warnings (`lint_document`).

Errors make a file unusable (offsets that do not match the text, labels outside the spec, overlaps, a
span across a line break, relations the spec's table forbids). Warnings are what a careful annotator
reviews: a span across a sentence end (sentence splitters disagree; pysbd decides here), an argument
linked to nothing, a figure without a quantity, a coreference chain that skips a mention."""

from __future__ import annotations

import functools
import re
from collections import Counter

from .schema import (
    ARGUMENT_LABELS,
    FIGURE_LABELS,
    RELATION_LABELS,
    SPAN_LABELS,
    TRIGGER_LABELS,
    AnnotationError,
    Document,
    relation_allowed,
    same_event_components,
)

# pysbd ends a sentence after these titles when a capitalised name follows ("Pres. Japarov"); a title is
# never the last word of a sentence in news, so such cuts are undone
_TITLES = {"mr", "mrs", "ms", "dr", "gen", "brig", "col", "lt", "maj", "capt", "sgt", "cpl", "pvt", "adm", "cmdr",
           "gov", "sen", "rep", "pres", "prof", "rev", "st", "no", "hon", "amb", "supt", "insp", "det"}
_TRIM_CHARS = ",;:\"“”‘’'«»"


@functools.lru_cache(maxsize=1)
def _segmenter():
    import pysbd

    return pysbd.Segmenter(language="en", clean=False)


def _paragraph_sentences(text: str, offset: int) -> list[tuple[int, int]]:
    out, pos = [], 0
    for piece in _segmenter().segment(text):
        start = text.find(piece, pos) if piece else -1
        if start < 0:  # pysbd changed the text (it should not with clean=False): keep the paragraph whole
            return [(offset, offset + len(text))]
        end, pos = start + len(piece), start + len(piece)
        previous = text[out[-1][0] - offset : out[-1][1] - offset].rstrip() if out else ""
        last_word = re.search(r"(\w+)\.$", previous)
        if last_word and last_word.group(1).lower() in _TITLES:
            out[-1] = (out[-1][0], offset + end)
        else:
            out.append((offset + start, offset + end))
    return out


@functools.lru_cache(maxsize=64)  # the same text is split by the validator, the decoder and the events
def sentence_bounds(text: str) -> tuple[tuple[int, int], ...]:
    """Character ranges of sentences, whitespace trimmed: every line break ends one, and inside a line
    pysbd (a maintained rule-based splitter) decides, with titles before names kept ("Brig. Gen. Ivanov")."""
    bounds = []
    for m in re.finditer(r"[^\n]+", text):
        for start, end in _paragraph_sentences(m.group(), m.start()):
            segment = text[start:end]
            lead = len(segment) - len(segment.lstrip())
            stripped = segment.strip()
            if stripped:
                bounds.append((start + lead, start + lead + len(stripped)))
    return tuple(bounds)


def sentence_index(text: str) -> list[int]:
    """For each character, the index of its sentence (-1 for whitespace between sentences)."""
    index = [-1] * len(text)
    for i, (start, end) in enumerate(sentence_bounds(text)):
        index[start:end] = [i] * (end - start)
    return index


def _fail(message: str, task: str, item: str | None, rule: str) -> AnnotationError:
    return AnnotationError(message, task=task, item=item, rule=rule)


# ---------------------------------------------------------------- errors


def _span_errors(doc: Document, name: str) -> list[AnnotationError]:
    errors, text = [], doc.text
    for sid, count in Counter(s.id for s in doc.spans).items():
        if count > 1:
            errors.append(_fail(f"span id used {count} times", name, sid, "duplicate_id"))
    for s in doc.spans:
        if s.label not in SPAN_LABELS:
            errors.append(_fail(f"unknown span label {s.label!r}", name, s.id, "label"))
        if not (0 <= s.start < s.end <= len(text)):
            errors.append(_fail(f"offsets {s.start}:{s.end} outside text of length {len(text)}", name, s.id, "offsets"))
            continue
        inner = text[s.start : s.end]
        if inner != s.text:
            errors.append(_fail(f"text[{s.start}:{s.end}] is {inner!r}, span says {s.text!r}", name, s.id, "offsets"))
        if inner != inner.strip() or inner[0] in _TRIM_CHARS or inner[-1] in _TRIM_CHARS:
            errors.append(_fail(f"span {inner!r} is not trimmed", name, s.id, "trim"))
        if "\n" in inner:
            errors.append(_fail(f"span {inner!r} runs across a line break", name, s.id, "line_break"))
    ordered = doc.sorted_spans()
    for a, b in zip(ordered, ordered[1:]):
        if b.start < a.end:
            errors.append(_fail(f"overlaps span {a.id} ({a.text!r})", name, b.id, "overlap"))
    return errors


def _relation_errors(doc: Document, name: str) -> list[AnnotationError]:
    errors, spans = [], doc.span_by_id()
    for (head, tail, label), count in Counter((r.head, r.tail, r.label) for r in doc.relations).items():
        if count > 1:
            errors.append(_fail(f"relation {label} given {count} times", name, f"{head}->{tail}", "duplicate_relation"))
    for r in doc.relations:
        rid = f"{r.label}:{r.head}->{r.tail}"
        if r.label not in RELATION_LABELS:
            errors.append(_fail(f"unknown relation label {r.label!r}", name, rid, "label"))
            continue
        if r.head not in spans or r.tail not in spans:
            missing = r.head if r.head not in spans else r.tail
            errors.append(_fail(f"points at missing span id {missing!r}", name, rid, "dangling"))
            continue
        head, tail = spans[r.head], spans[r.tail]
        if not relation_allowed(r.label, head.label, tail.label):
            errors.append(_fail(f"{r.label} not allowed from {head.label} to {tail.label}", name, rid, "relation_type"))
        if r.label == "same_event" and not head.start > tail.start:
            errors.append(_fail("same_event must point from a later to an earlier mention", name, rid, "same_event"))
    return errors


def check_document(doc: Document, name: str | None = None) -> list[AnnotationError]:
    """Every mechanical rule of the spec, as a list of errors (empty = valid)."""
    name = name or doc.doc_id
    return _span_errors(doc, name) + _relation_errors(doc, name)


# ---------------------------------------------------------------- warnings


def _chains(doc: Document) -> dict[str, list[str]]:
    """Trigger id -> the ids of its same_event component, in text order."""
    return {s.id: [m.id for m in group] for group in same_event_components(doc) for s in group}


def _link_warnings(doc: Document, name: str) -> list[AnnotationError]:
    from .normalize import has_quantity

    warnings, spans = [], doc.span_by_id()
    as_tail = Counter(r.tail for r in doc.relations if r.label != "same_event")
    tolls = {r.tail for r in doc.relations if r.label == "toll"}
    for s in doc.sorted_spans():
        if s.label in ARGUMENT_LABELS and not as_tail[s.id]:
            warnings.append(_fail(f"{s.label} {s.text!r} is linked to no trigger", name, s.id, "unlinked"))
        if s.label in FIGURE_LABELS:
            if s.id not in tolls:
                warnings.append(_fail(f"figure {s.text!r} has no toll link from a clash", name, s.id, "no_toll"))
            if not has_quantity(s.text):
                warnings.append(_fail(f"figure {s.text!r} holds no quantity", name, s.id, "quantity"))
        if s.label in ("ACTOR", "LOCATION") and re.match(r"(?:the|a|an)\s", s.text):
            warnings.append(_fail(f"{s.label} {s.text!r} starts with a determiner", name, s.id, "determiner"))
    chains = _chains(doc)
    out_links = Counter(r.head for r in doc.relations if r.label == "same_event" and r.head in chains)
    for r in doc.relations:
        if r.label != "same_event" or r.head not in chains or r.tail not in chains:
            continue
        if out_links[r.head] > 1:
            warnings.append(_fail(f"{spans[r.head].text!r} has {out_links[r.head]} same_event links (one expected)",
                                  name, r.head, "chain_fanout"))
        chain = chains[r.head]
        closest = chain[chain.index(r.head) - 1] if chain.index(r.head) else None
        if closest is not None and closest != r.tail:
            warnings.append(_fail(f"{spans[r.head].text!r} links to {spans[r.tail].text!r}, not to the closest earlier "
                                  f"mention {spans[closest].text!r}", name, r.head, "chain_skip"))
    # keyed on the event's first mention: every mention of an event shares it
    roles = Counter((chains[r.head][0], r.tail, r.label) for r in doc.relations
                    if r.label not in ("same_event", "reported_by") and r.head in chains)
    for (_, tail, label), count in roles.items():
        if count > 1 and tail in spans:
            warnings.append(_fail(f"{spans[tail].text!r} is linked as {label} to {count} mentions of one event",
                                  name, tail, "duplicate_role"))
    return warnings


def lint_document(doc: Document, name: str | None = None) -> list[AnnotationError]:
    """The guidelines' consistency checks, as warnings (a document with warnings is still valid)."""
    name = name or doc.doc_id
    warnings = []
    sentences = sentence_index(doc.text)
    for s in doc.spans:
        inside = sentences[s.start : s.end]
        if len(set(inside) - {-1}) > 1:
            warnings.append(_fail(f"span {s.text!r} crosses a sentence end", name, s.id, "sentence"))
    return warnings + _link_warnings(doc, name)
