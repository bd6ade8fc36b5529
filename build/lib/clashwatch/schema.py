"""The annotation schema (spec v1.1): labels, the relation table, documents and typed errors."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

SPEC_VERSION = "1.1"

SPAN_LABELS = ("CLASH", "CEASEFIRE", "ACTOR", "LOCATION", "TIME", "WEAPON", "KILLED", "INJURED", "DISPLACED")
TRIGGER_LABELS = ("CLASH", "CEASEFIRE")
FIGURE_LABELS = ("KILLED", "INJURED", "DISPLACED")
ARGUMENT_LABELS = tuple(label for label in SPAN_LABELS if label not in TRIGGER_LABELS)

# relation label -> (allowed head labels, allowed tail labels), exactly the spec's table
RELATION_TABLE: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "participant": (frozenset({"CLASH"}), frozenset({"ACTOR"})),
    "place": (frozenset({"CLASH", "CEASEFIRE"}), frozenset({"LOCATION"})),
    "time": (frozenset({"CLASH", "CEASEFIRE"}), frozenset({"TIME"})),
    "weapon": (frozenset({"CLASH"}), frozenset({"WEAPON"})),
    "toll": (frozenset({"CLASH"}), frozenset(FIGURE_LABELS)),
    "party": (frozenset({"CEASEFIRE"}), frozenset({"ACTOR"})),
    "mediator": (frozenset({"CEASEFIRE"}), frozenset({"ACTOR"})),
    "reported_by": (frozenset(FIGURE_LABELS), frozenset({"ACTOR"})),
    "same_event": (frozenset(TRIGGER_LABELS), frozenset(TRIGGER_LABELS)),
}
RELATION_LABELS = tuple(RELATION_TABLE)
# roles that attach an argument to a trigger (everything but coreference and attribution)
ROLE_LABELS = ("participant", "place", "time", "weapon", "toll", "party", "mediator")

EVENT_TYPES = {"CLASH": "armed_clash", "CEASEFIRE": "ceasefire"}


def relation_allowed(label: str, head_label: str, tail_label: str) -> bool:
    """True when the spec's table allows `label` from a `head_label` span to a `tail_label` span."""
    if label not in RELATION_TABLE:
        return False
    heads, tails = RELATION_TABLE[label]
    if head_label not in heads or tail_label not in tails:
        return False
    return label != "same_event" or head_label == tail_label


@functools.lru_cache(maxsize=None)  # asked for every candidate pair at inference
def allowed_relations(head_label: str, tail_label: str) -> tuple[str, ...]:
    """The relation labels the spec allows between two span labels (may be empty)."""
    return tuple(r for r in RELATION_LABELS if relation_allowed(r, head_label, tail_label))


ALLOWED_PAIRS: frozenset[tuple[str, str]] = frozenset(
    (h, t) for h in SPAN_LABELS for t in SPAN_LABELS if allowed_relations(h, t)
)


class ClashwatchError(Exception):
    """Base class of every error clashwatch raises on purpose."""


class AnnotationError(ClashwatchError, ValueError):
    """A gold or exported annotation breaks a rule; names the task, the item and the rule."""

    def __init__(self, message: str, *, task: str | None = None, item: str | None = None, rule: str | None = None):
        self.task, self.item, self.rule = task, item, rule
        where = ", ".join(f"{k} {v}" for k, v in (("task", task), ("item", item)) if v is not None)
        super().__init__(f"[{rule}] {where}: {message}" if where else f"[{rule}] {message}")


class ConfigError(ClashwatchError, ValueError):
    """A training or evaluation config is invalid."""


class ModelNotFoundError(ClashwatchError, FileNotFoundError):
    """No trained model at the given path."""


@dataclass
class Span:
    id: str
    start: int
    end: int
    label: str
    text: str
    score: float | None = None


@dataclass
class Relation:
    head: str  # span id
    tail: str  # span id
    label: str
    score: float | None = None


@dataclass
class Document:
    doc_id: str
    text: str
    spans: list[Span] = field(default_factory=list)
    relations: list[Relation] = field(default_factory=list)
    meta: dict = field(default_factory=dict)  # extra task data (e.g. synthetic, source), kept on round trips

    def span_by_id(self) -> dict[str, Span]:
        return {s.id: s for s in self.spans}

    def sorted_spans(self) -> list[Span]:
        return sorted(self.spans, key=lambda s: (s.start, s.end))


def same_event_components(doc: Document) -> list[list[Span]]:
    """The events of a document: connected components of same_event links among trigger spans, each in
    text order, ordered by their first mention (spec "Event records")."""
    spans = doc.span_by_id()
    parent = {s.id: s.id for s in doc.spans if s.label in TRIGGER_LABELS}

    def root(sid: str) -> str:
        while parent[sid] != sid:
            parent[sid] = parent[parent[sid]]
            sid = parent[sid]
        return sid

    for r in doc.relations:
        if r.label == "same_event" and r.head in parent and r.tail in parent:
            parent[root(r.head)] = root(r.tail)
    groups: dict[str, list[Span]] = {}
    for sid in sorted(parent, key=lambda x: (spans[x].start, spans[x].end)):
        groups.setdefault(root(sid), []).append(spans[sid])
    return sorted(groups.values(), key=lambda g: (g[0].start, g[0].end))
