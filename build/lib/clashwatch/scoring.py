"""Scorers over gold and predicted Documents (spec v1.1, "Scoring").

Conventions, the same for every scorer:
- P = tp / (tp + fp), R = tp / (tp + fn), F1 = 2PR / (P + R); a ratio whose denominator is 0 is 0.0
  (so an empty gold with an empty prediction scores 0/0/0 with tp = fp = fn = 0; read the counts).
- Predictions are multisets: a span or relation predicted twice counts once as tp and once as fp.
  Only the mention-agnostic ACE argument scores (and the trigger scores) use sets, as the spec asks.
- Documents are matched by doc_id; a prediction for a document not in the gold, or whose text differs,
  raises EvaluationError before anything is scored; a gold document without prediction scores as an
  empty prediction and is listed under "missing_predictions".
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Hashable, Iterable

from seqeval.scheme import IOB2, Entities

from .schema import EVENT_TYPES, RELATION_LABELS, ROLE_LABELS, SPAN_LABELS, TRIGGER_LABELS, ClashwatchError, Document

TOKEN_RE = re.compile(r"\w+|[^\w\s]")
EVENT_FIELDS = ("actors", "mediators", "locations", "times", "weapons", "killed", "injured", "displaced")
FIGURE_FIELDS = ("killed", "injured", "displaced")
HEADLINE = {
    "span_f1_strict": ("spans_iob2", "micro"),
    "char_span_f1": ("spans_char", "micro"),
    "relation_f1": ("relations", "micro"),
    "trigger_cls_f1": ("triggers", "classification"),
    "argument_cls_f1": ("arguments", "classification"),
    "event_micro_f1": ("events", "micro"),
    "records_f1": ("records", "pooled", "records"),
    "killed_in_record_f1": ("records", "pooled", "killed_in_record"),
}


class EvaluationError(ClashwatchError, ValueError):
    """Gold and predictions cannot be scored together (unknown document, different text, ...)."""


# ---------------------------------------------------------------- counting


def prf(tp: int, fp: int, fn: int) -> dict:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": p, "recall": r, "f1": f, "tp": tp, "fp": fp, "fn": fn, "support": tp + fn}


def count_multiset(gold: Iterable[Hashable], pred: Iterable[Hashable]) -> tuple[int, int, int]:
    g, p = Counter(gold), Counter(pred)
    tp = sum((g & p).values())
    return tp, sum(p.values()) - tp, sum(g.values()) - tp


def score_keys(gold: list[tuple], pred: list[tuple], labels: Iterable[str], label_of=lambda k: k[-1]) -> dict:
    """Micro and per-label P/R/F1 of keyed items; `label_of` picks the label out of a key."""
    per_label = {}
    for label in labels:
        per_label[label] = prf(*count_multiset([k for k in gold if label_of(k) == label],
                                               [k for k in pred if label_of(k) == label]))
    return {"micro": prf(*count_multiset(gold, pred)), "per_label": per_label}


# ---------------------------------------------------------------- pairing documents


def pair_documents(gold: list[Document], pred: list[Document]) -> tuple[list[tuple[Document, Document]], list[str]]:
    """(gold, prediction) pairs in gold order, and the ids of gold documents with no prediction."""
    by_id = {d.doc_id: d for d in gold}
    if len(by_id) != len(gold):
        raise EvaluationError("the gold has duplicate doc_ids")
    preds: dict[str, Document] = {}
    for d in pred:
        if d.doc_id not in by_id:
            raise EvaluationError(f"prediction for unknown document {d.doc_id!r} (not in the gold)")
        if d.doc_id in preds:
            raise EvaluationError(f"two predictions for document {d.doc_id!r}")
        if d.text != by_id[d.doc_id].text:
            raise EvaluationError(f"prediction for {d.doc_id!r} has a different text than the gold")
        preds[d.doc_id] = d
    missing = [d.doc_id for d in gold if d.doc_id not in preds]
    pairs = [(g, preds.get(g.doc_id) or Document(g.doc_id, g.text)) for g in gold]
    return pairs, missing


# ---------------------------------------------------------------- spans


def tokenize(text: str) -> list[tuple[int, int]]:
    """Word-level tokens (\\w+ or one punctuation mark) as character ranges."""
    return [m.span() for m in TOKEN_RE.finditer(text)]


def iob2_tags(doc: Document, tokens: list[tuple[int, int]]) -> list[str]:
    """IOB2 tags of the tokens a span overlaps. On overlapping spans (possible in predictions) the
    earlier-starting, then longer, span keeps its tokens and the later one is cut or dropped."""
    tags = ["O"] * len(tokens)
    for span in sorted(doc.spans, key=lambda s: (s.start, -s.end)):
        inside = [i for i, (a, b) in enumerate(tokens) if a < span.end and b > span.start and tags[i] == "O"]
        for n, i in enumerate(inside):
            tags[i] = ("B-" if n == 0 else "I-") + span.label
    return tags


def score_spans_iob2(pairs: list[tuple[Document, Document]]) -> dict:
    """seqeval strict IOB2 entities over word tokens, one sequence per document."""
    y_true, y_pred = [], []
    for g, p in pairs:
        tokens = tokenize(g.text)
        y_true.append(iob2_tags(g, tokens))
        y_pred.append(iob2_tags(p, tokens))
    # Entities is seqeval's strict IOB2 decoder (what mode="strict" scores); we only count its output
    gold = [e.to_tuple() for seq in Entities(y_true, IOB2).entities for e in seq]
    pred = [e.to_tuple() for seq in Entities(y_pred, IOB2).entities for e in seq]
    return score_keys(gold, pred, SPAN_LABELS, label_of=lambda k: k[1])


def span_key(doc: Document, s) -> tuple:
    return (doc.doc_id, s.start, s.end, s.label)


def score_spans_char(pairs: list[tuple[Document, Document]]) -> dict:
    gold = [span_key(g, s) for g, _ in pairs for s in g.spans]
    pred = [span_key(p, s) for _, p in pairs for s in p.spans]
    return score_keys(gold, pred, SPAN_LABELS)


# ---------------------------------------------------------------- relations, triggers, arguments


def relation_keys(doc: Document) -> list[tuple]:
    """(doc, head start/end/label, tail start/end/label, relation label); dangling relations are dropped."""
    spans = doc.span_by_id()
    keys = []
    for r in doc.relations:
        head, tail = spans.get(r.head), spans.get(r.tail)
        if head and tail:
            keys.append((doc.doc_id, head.start, head.end, head.label, tail.start, tail.end, tail.label, r.label))
    return keys


def score_relations(pairs: list[tuple[Document, Document]]) -> dict:
    gold = [k for g, _ in pairs for k in relation_keys(g)]
    pred = [k for _, p in pairs for k in relation_keys(p)]
    return score_keys(gold, pred, RELATION_LABELS)


def trigger_keys(doc: Document) -> tuple[set, set]:
    ident = {(doc.doc_id, s.start, s.end) for s in doc.spans if s.label in TRIGGER_LABELS}
    cls = {(doc.doc_id, s.start, s.end, s.label) for s in doc.spans if s.label in TRIGGER_LABELS}
    return ident, cls


def argument_keys(doc: Document) -> set[tuple]:
    """Mention-agnostic arguments: (doc, arg start, arg end, event type, role), whichever trigger
    mention of the event the role relation leaves from."""
    spans = doc.span_by_id()
    keys = set()
    for r in doc.relations:
        head, tail = spans.get(r.head), spans.get(r.tail)
        if r.label in ROLE_LABELS and head and tail and head.label in EVENT_TYPES:
            keys.add((doc.doc_id, tail.start, tail.end, EVENT_TYPES[head.label], r.label))
    return keys


def score_triggers(pairs: list[tuple[Document, Document]]) -> dict:
    gi, gc, pi, pc = set(), set(), set(), set()
    for g, p in pairs:
        a, b = trigger_keys(g)
        c, d = trigger_keys(p)
        gi |= a
        gc |= b
        pi |= c
        pc |= d
    return {"identification": prf(*count_multiset(gi, pi)), "classification": prf(*count_multiset(gc, pc)),
            "per_label": score_keys(list(gc), list(pc), TRIGGER_LABELS)["per_label"]}


def score_arguments(pairs: list[tuple[Document, Document]]) -> dict:
    gold = {k for g, _ in pairs for k in argument_keys(g)}
    pred = {k for _, p in pairs for k in argument_keys(p)}
    return {
        "identification": prf(*count_multiset({k[:4] for k in gold}, {k[:4] for k in pred})),
        "classification": prf(*count_multiset(gold, pred)),
        "per_role": score_keys(list(gold), list(pred), ROLE_LABELS)["per_label"],
    }


# ---------------------------------------------------------------- event records


def _norm_text(text: str) -> str:
    words = re.findall(r"\w+", str(text).casefold())
    return " ".join(words[1:] if words[:1] == ["the"] else words)


def field_items(record: dict, name: str) -> list:
    """Normalised values of one record field: figure values for casualty fields, ISO dates (else the
    text) for times, normalised text for the rest."""
    items = []
    for v in record.get(name) or []:
        if isinstance(v, dict):
            if name in FIGURE_FIELDS:
                value = v.get("value")
                items.append(value if value is not None else _norm_text(v.get("text", "")))
            elif name == "times":
                items.append(v.get("iso") or _norm_text(v.get("text", "")))
            else:
                items.append(_norm_text(v.get("text") or v.get("name") or v.get("value") or ""))
        else:
            items.append(_norm_text(v) if isinstance(v, str) and name != "times" else v)
    return items


def _shared(a: dict, b: dict) -> int:
    return sum(count_multiset(field_items(a, f), field_items(b, f))[0] for f in EVENT_FIELDS)


def _evidence(record: dict) -> set[tuple[int, int]]:
    spans = set()
    evidence = record.get("evidence") or []
    for e in evidence.get("spans", []) if isinstance(evidence, dict) else evidence:
        if isinstance(e, dict) and "start" in e:
            spans.add((int(e["start"]), int(e["end"])))
        elif isinstance(e, (list, tuple)) and len(e) >= 2:
            spans.add((int(e[0]), int(e[1])))
    return spans


def match_records(gold: list[dict], pred: list[dict]) -> list[tuple[int, int]]:
    """One-to-one (gold index, pred index) pairs of the same event_type maximising shared argument
    values (shared evidence spans break ties and let argument-less records match)."""
    if not gold or not pred:
        return []
    import numpy as np
    from scipy.optimize import linear_sum_assignment

    weight = np.zeros((len(gold), len(pred)))
    for i, g in enumerate(gold):
        for j, p in enumerate(pred):
            if g.get("event_type") == p.get("event_type"):
                # an argument value outweighs any number of shared evidence spans
                weight[i, j] = _shared(g, p) * 1000 + len(_evidence(g) & _evidence(p))
    rows, cols = linear_sum_assignment(weight, maximize=True)
    return [(int(i), int(j)) for i, j in zip(rows, cols) if weight[i, j] > 0]


def score_event_records(gold_records: dict[str, list[dict]], pred_records: dict[str, list[dict]]) -> dict:
    """Per-field and micro P/R/F1 over matched records (unmatched records count all their values as
    fn or fp), record-level P/R/F1, and exact match of casualty values on matched pairs."""
    counts = {f: [0, 0, 0] for f in EVENT_FIELDS}
    records = [0, 0, 0]
    exact = [0, 0]
    for doc_id, gold in gold_records.items():
        pred = pred_records.get(doc_id, [])
        pairs = match_records(gold, pred)
        records[0] += len(pairs)
        records[1] += len(pred) - len(pairs)
        records[2] += len(gold) - len(pairs)
        matched_g, matched_p = {i for i, _ in pairs}, {j for _, j in pairs}
        for f in EVENT_FIELDS:
            for i, j in pairs:
                tp, fp, fn = count_multiset(field_items(gold[i], f), field_items(pred[j], f))
                counts[f][0] += tp
                counts[f][1] += fp
                counts[f][2] += fn
                if f in FIGURE_FIELDS and (gold[i].get(f) or pred[j].get(f)):
                    exact[1] += 1
                    exact[0] += Counter(field_items(gold[i], f)) == Counter(field_items(pred[j], f))
            counts[f][2] += sum(len(field_items(gold[i], f)) for i in range(len(gold)) if i not in matched_g)
            counts[f][1] += sum(len(field_items(pred[j], f)) for j in range(len(pred)) if j not in matched_p)
    return {
        "records": prf(*records),
        "fields": {f: prf(*c) for f, c in counts.items()},
        "micro": prf(*(sum(c[k] for c in counts.values()) for k in range(3))),
        "casualty_exact": {"exact": exact[0], "total": exact[1], "accuracy": exact[0] / exact[1] if exact[1] else 0.0},
    }


def published_date(doc: Document) -> dt.date | None:
    value = (doc.meta.get("data") or {}).get("published")
    try:
        return dt.date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def document_records(doc: Document, published: dt.date | None = None) -> list[dict]:
    from .events import assemble_events

    return [e.to_dict() for e in assemble_events(doc, published)]


def score_events(pairs: list[tuple[Document, Document]]) -> dict:
    gold = {g.doc_id: document_records(g, published_date(g)) for g, _ in pairs}
    pred = {g.doc_id: document_records(p, published_date(g)) for g, p in pairs}
    return score_event_records(gold, pred)


# ---------------------------------------------------------------- what analysts read: records

RECORD_METRICS = ("records", "killed_in_record", "injured_in_record", "actors_in_record", "locations_in_record")


def _record_view(event) -> dict:
    """The parts of an event record the record metrics compare: trigger and figure spans, argument words."""
    evidence = event.evidence.spans
    return {
        "type": event.event_type,
        "triggers": [(e.start, e.end) for e in evidence if e.label in TRIGGER_LABELS],
        "killed": [(f.start, f.end) for f in event.killed],
        "injured": [(f.start, f.end) for f in event.injured],
        "actors": sorted({_norm_text(a) for a in event.actors + event.mediators}),
        "locations": sorted({_norm_text(a) for a in event.locations}),
    }


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def match_by_triggers(gold: list[dict], pred: list[dict]) -> list[tuple[int, int]]:
    """One-to-one (gold, pred) record pairs of the same type whose triggers overlap, maximising the
    number of overlapping trigger pairs."""
    if not gold or not pred:
        return []
    import numpy as np
    from scipy.optimize import linear_sum_assignment

    weight = np.zeros((len(gold), len(pred)))
    for i, g in enumerate(gold):
        for j, p in enumerate(pred):
            if g["type"] == p["type"]:
                weight[i, j] = sum(_overlaps(a, b) for a in g["triggers"] for b in p["triggers"])
    rows, cols = linear_sum_assignment(weight, maximize=True)
    return [(int(i), int(j)) for i, j in zip(rows, cols) if weight[i, j] > 0]


def _span_matches(gold: list[tuple[int, int]], pred: list[tuple[int, int]]) -> int:
    """Figures matched one to one by overlapping spans (two figures with the same words are two)."""
    used, tp = set(), 0
    for p in pred:
        k = next((i for i, g in enumerate(gold) if i not in used and _overlaps(g, p)), None)
        if k is not None:
            used.add(k)
            tp += 1
    return tp


def record_counts(gold_doc: Document, pred_doc: Document, published: dt.date | None = None) -> dict:
    """tp/fp/fn of one document for each record metric: records (same type, overlapping triggers, one to
    one) and, inside matched records, killed and injured figures (by span), actors and locations (by
    words); what sits in an unmatched record counts as fp or fn."""
    from .events import assemble_events

    gold = [_record_view(e) for e in assemble_events(gold_doc, published)]
    pred = [_record_view(e) for e in assemble_events(pred_doc, published)]
    pairs = match_by_triggers(gold, pred)
    counts = {"records": [len(pairs), len(pred) - len(pairs), len(gold) - len(pairs)],
              "predicted_records": len(pred), "gold_records": len(gold)}
    for metric, field, by_span in (("killed_in_record", "killed", True), ("injured_in_record", "injured", True),
                                   ("actors_in_record", "actors", False), ("locations_in_record", "locations", False)):
        tp = sum(_span_matches(gold[i][field], pred[j][field]) if by_span else len(set(gold[i][field]) & set(pred[j][field]))
                 for i, j in pairs)
        counts[metric] = [tp, sum(len(p[field]) for p in pred) - tp, sum(len(g[field]) for g in gold) - tp]
    return counts


def score_records(pairs: list[tuple[Document, Document]]) -> dict:
    """The record metrics per article and pooled (counts summed over articles)."""
    per_article, pooled = {}, {m: [0, 0, 0] for m in RECORD_METRICS}
    totals = {"predicted_records": 0, "gold_records": 0}
    for g, p in pairs:
        counts = record_counts(g, p, published_date(g))
        per_article[g.doc_id] = {m: prf(*counts[m]) for m in RECORD_METRICS}
        per_article[g.doc_id].update(predicted_records=counts["predicted_records"], gold_records=counts["gold_records"])
        for m in RECORD_METRICS:
            pooled[m] = [a + b for a, b in zip(pooled[m], counts[m])]
        for k in totals:
            totals[k] += counts[k]
    return {"pooled": {m: prf(*c) for m, c in pooled.items()} | totals, "per_article": per_article}


# ---------------------------------------------------------------- everything


def score(gold: list[Document], pred: list[Document], *, events: bool = True) -> dict:
    """Every scorer of the spec over matched documents; `headline` holds the six F1 values."""
    pairs, missing = pair_documents(gold, pred)
    result = {
        "documents": len(pairs),
        "missing_predictions": missing,
        "spans_iob2": score_spans_iob2(pairs),
        "spans_char": score_spans_char(pairs),
        "relations": score_relations(pairs),
        "triggers": score_triggers(pairs),
        "arguments": score_arguments(pairs),
    }
    if events:
        result["events"] = score_events(pairs)
        result["records"] = score_records(pairs)
    result["headline"] = headline(result)
    return result


def headline(result: dict) -> dict:
    out = {}
    for name, path in HEADLINE.items():
        node = result
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, dict):
            out[name] = node["f1"]
    return out
