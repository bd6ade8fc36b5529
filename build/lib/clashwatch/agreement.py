"""Inter-annotator agreement of two annotations of the same texts: span F1 (exact, and overlapping with
the same label), relation F1 (strict: both spans exact, both labels and the relation label), per label,
and every disagreement in context, sorted into kinds an adjudicator can turn into rules."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from .schema import SPAN_LABELS, ClashwatchError, Document
from .scoring import prf, relation_keys

KINDS = ("label", "boundary", "only_first", "only_second")


def _context(text: str, start: int, end: int, width: int = 50) -> str:
    left = text[max(0, start - width) : start].replace("\n", " ")
    right = text[end : end + width].replace("\n", " ")
    return f"…{left}[[{text[start:end]}]]{right}…"


def _span_disagreements(a: Document, b: Document) -> list[dict]:
    out, used = [], set()
    b_spans = b.sorted_spans()
    exact_b = {(s.start, s.end, s.label) for s in b_spans}
    for s in a.sorted_spans():
        if (s.start, s.end, s.label) in exact_b:
            used.add((s.start, s.end, s.label))
            continue
        other = next((t for t in b_spans if t.start < s.end and s.start < t.end and (t.start, t.end, t.label) not in used),
                     None)
        if other is None:
            out.append({"kind": "only_first", "label": s.label, "first": s.text, "second": "",
                        "context": _context(a.text, s.start, s.end)})
            continue
        used.add((other.start, other.end, other.label))
        kind = "label" if (other.start, other.end) == (s.start, s.end) else "boundary"
        out.append({"kind": kind, "label": f"{s.label}/{other.label}", "first": s.text, "second": other.text,
                    "context": _context(a.text, min(s.start, other.start), max(s.end, other.end))})
    for t in b_spans:
        if (t.start, t.end, t.label) not in used and (t.start, t.end, t.label) not in {(s.start, s.end, s.label)
                                                                                       for s in a.spans}:
            out.append({"kind": "only_second", "label": t.label, "first": "", "second": t.text,
                        "context": _context(b.text, t.start, t.end)})
    return out


def agreement(first: list[Document], second: list[Document]) -> dict:
    """Agreement over the documents both annotations hold (matched by doc_id; the texts must be equal)."""
    by_id = {d.doc_id: d for d in second}
    pairs = [(a, by_id[a.doc_id]) for a in first if a.doc_id in by_id]
    if not pairs:
        raise ClashwatchError("the two annotations share no document (doc_ids differ)")
    for a, b in pairs:
        if a.text != b.text:
            raise ClashwatchError(f"{a.doc_id}: the two annotations are of different texts")
    spans, overlap, relations = [0, 0, 0], [0, 0, 0], [0, 0, 0]
    per_label = {label: [0, 0, 0] for label in SPAN_LABELS}
    per_relation: dict[str, list[int]] = {}
    disagreements = []
    for a, b in pairs:
        ka, kb = {(s.start, s.end, s.label) for s in a.spans}, {(s.start, s.end, s.label) for s in b.spans}
        for i, v in enumerate((len(ka & kb), len(kb - ka), len(ka - kb))):
            spans[i] += v
        for label in SPAN_LABELS:
            la, lb = {k for k in ka if k[2] == label}, {k for k in kb if k[2] == label}
            for i, v in enumerate((len(la & lb), len(lb - la), len(la - lb))):
                per_label[label][i] += v
        matched = sum(any(s.label == t.label and s.start < t.end and t.start < s.end for t in b.spans) for s in a.spans)
        overlap[0] += matched
        overlap[1] += len(b.spans) - matched
        overlap[2] += len(a.spans) - matched
        ra, rb = set(relation_keys(a)), set(relation_keys(b))
        for i, v in enumerate((len(ra & rb), len(rb - ra), len(ra - rb))):
            relations[i] += v
        for key in ra | rb:
            c = per_relation.setdefault(key[-1], [0, 0, 0])
            c[0 if key in ra and key in rb else 1 if key in rb else 2] += 1
        disagreements += [{"doc": a.doc_id, **d} for d in _span_disagreements(a, b)]
    return {"documents": len(pairs), "spans": prf(*spans), "spans_overlap": prf(*overlap), "relations": prf(*relations),
            "span_labels": {k: prf(*v) for k, v in per_label.items()},
            "relation_labels": {k: prf(*v) for k, v in sorted(per_relation.items())},
            "disagreement_kinds": dict(Counter(d["kind"] for d in disagreements)),
            "disagreements": disagreements}


def write_agreement(path: str | Path, result: dict, first: str, second: str) -> None:
    from .corpus import write_text_atomic

    lines = [f"# Inter-annotator agreement: {first} vs {second}", "",
             f"{result['documents']} documents. Span F1 exact **{result['spans']['f1']:.3f}**, overlapping with the same "
             f"label {result['spans_overlap']['f1']:.3f}; relation F1 (strict) **{result['relations']['f1']:.3f}**.", "",
             "| span label | F1 | first only | second only | both |", "|---|---|---|---|---|"]
    lines += [f"| {k} | {v['f1']:.3f} | {v['fn']} | {v['fp']} | {v['tp']} |" for k, v in result["span_labels"].items()]
    lines += ["", "| relation | F1 | first only | second only | both |", "|---|---|---|---|---|"]
    lines += [f"| {k} | {v['f1']:.3f} | {v['fn']} | {v['fp']} | {v['tp']} |" for k, v in result["relation_labels"].items()]
    lines += ["", "## Span disagreements", "", "kinds: " + ", ".join(f"{k} {v}" for k, v in
                                                                     result["disagreement_kinds"].items()), "",
              "| doc | kind | labels | first | second | context |", "|---|---|---|---|---|---|"]
    cell = lambda v: str(v).replace("|", "\\|")  # noqa: E731
    lines += [f"| {d['doc']} | {d['kind']} | {d['label']} | {cell(d['first'])} | {cell(d['second'])} | "
              f"{cell(d['context'])} |" for d in result["disagreements"]]
    write_text_atomic(path, "\n".join(lines) + "\n")
