"""Event records from spans + relations (spec v1.1 "Event records") and the ACLED fatalities rule;
figures and dates are normalised by `normalize`."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import date

from .normalize import NUMBER_WORDS, normalize_figure, normalize_time
from .schema import EVENT_TYPES, ROLE_LABELS, Document, Span, same_event_components
from .validate import sentence_bounds

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
    start: int | None = None  # the span: figures are told apart by it, not by their words
    end: int | None = None


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


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 1.0


def _score(x) -> float:
    return 1.0 if x.score is None else float(x.score)


def assemble_events(doc: Document, published: date | None = None) -> list[Event]:
    """One Event per same_event component of trigger spans, with every argument linked to any of its
    mentions; deterministic order (first trigger offset)."""
    spans = doc.span_by_id()
    reporters: dict[str, list[Span]] = {}
    for r in doc.relations:
        if r.label == "reported_by" and r.head in spans and r.tail in spans:
            reporters.setdefault(r.head, []).append(spans[r.tail])
    sentences = sentence_bounds(doc.text)

    events = []
    for mentions in same_event_components(doc):
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
            # a figure is its span (each side's "two soldiers" is a figure of its own); other arguments
            # are their words (the same place named twice is one place)
            key = (name, span.id if name in _TOLL_FIELDS.values() else normalized_text(span.text))
            reported = [a.text for a in sorted(reporters.get(span.id, []), key=lambda a: a.start)]
            if key in seen:  # a repeated argument: keep the first, gather any further reporters
                if isinstance(seen[key], FigureRecord):
                    seen[key].reported_by.extend(t for t in reported if t not in seen[key].reported_by)
                continue
            if name in _TOLL_FIELDS.values():
                figure = normalize_figure(span.text)
                item = FigureRecord(span.text, figure.value, figure.qualifier, figure.range,
                                    list(dict.fromkeys(reported)), span.start, span.end)
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
    heads = {_singular(w) for w in words if w not in NUMBER_WORDS and w not in _FILLER}
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
    return fatalities(event).value


@dataclass
class Fatalities:
    """The ACLED fatalities of an event and what they rest on."""

    value: int | None
    figures: list[dict] = field(default_factory=list)  # the KILLED figures counted (the lowest of each population)
    qualifier: str = ""  # exact, at_least, at_most, approx, range, vague, or mixed
    sources: list[str] = field(default_factory=list)  # who reported the figures counted
    vague_only: bool = False  # every figure counted is vague ("dozens"): the number is a conservative floor


def fatalities(event: Event | dict) -> Fatalities:
    """`acled_fatalities` with its basis: the figures counted, their qualifier and their reporters."""
    killed = event.killed if isinstance(event, Event) else event.get("killed") or []
    figures = [asdict(f) if isinstance(f, FigureRecord) else f for f in killed]
    lowest: dict[frozenset[str], dict] = {}
    for f in figures:
        if f.get("value") is not None:
            group = population(f.get("text", ""))
            if group not in lowest or f["value"] < lowest[group]["value"]:
                lowest[group] = f
    if not lowest:
        return Fatalities(None)
    total = lowest.pop(frozenset(), None)
    parts = sum(f["value"] for f in lowest.values())
    counted = [total] if total is not None and total["value"] >= parts else list(lowest.values())
    value = total["value"] if counted == [total] else parts
    qualifiers = {"range" if f.get("range") else f.get("qualifier") or "exact" for f in counted}
    sources = list(dict.fromkeys(r for f in counted for r in f.get("reported_by") or []))
    return Fatalities(value, counted, qualifiers.pop() if len(qualifiers) == 1 else "mixed", sources,
                      all(f.get("qualifier") == "vague" for f in counted))
