"""Gold corpora: Label Studio JSON exports <-> Documents, the mechanical validator, and the
stand-off (.ann) files from which the gold exports are built reproducibly."""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from .schema import (
    RELATION_LABELS,
    SPAN_LABELS,
    AnnotationError,
    Document,
    Relation,
    Span,
    relation_allowed,
)

FROM_NAME, TO_NAME = "label", "text"

# ---------------------------------------------------------------- sentences

_ABBREVIATIONS = {
    "mr", "mrs", "ms", "dr", "gen", "col", "lt", "maj", "capt", "sgt", "st", "no", "vs", "jan", "feb", "mar",
    "apr", "aug", "sept", "sep", "oct", "nov", "dec", "inc", "ltd", "co", "corp", "gov", "sen", "rep", "approx",
}
_BOUNDARY = re.compile(r"[.!?…]+[\"'”’»)\]]*(?=\s+[\"'“‘«(\[]?[A-Z0-9])")


def sentence_bounds(text: str) -> list[tuple[int, int]]:
    """Character ranges of sentences: split at line breaks and at ./!/? followed by a capital,
    except after abbreviations ("Gen.", "a.m.", "U.S.")."""
    cuts: set[int] = set()
    for m in re.finditer(r"\n", text):
        cuts.add(m.end())
    for m in _BOUNDARY.finditer(text):
        word = re.search(r"([\w.]+)$", text[: m.start()])
        token = word.group(1).lower() if word else ""
        last = token.rsplit(".", 1)[-1]
        if token in _ABBREVIATIONS or len(last) == 1 and last.isalpha():
            continue
        cuts.add(m.end())
    bounds, start = [], 0
    for cut in sorted(cuts) + [len(text)]:
        segment = text[start:cut]
        stripped = segment.strip()
        if stripped:
            lead = len(segment) - len(segment.lstrip())
            bounds.append((start + lead, start + lead + len(stripped)))
        start = cut
    return bounds


def sentence_index(text: str) -> list[int]:
    """For each character, the index of its sentence (-1 for whitespace between sentences)."""
    index = [-1] * len(text)
    for i, (start, end) in enumerate(sentence_bounds(text)):
        index[start:end] = [i] * (end - start)
    return index


# ---------------------------------------------------------------- Label Studio <-> Document


def _fail(message: str, task: str, item: str | None, rule: str) -> AnnotationError:
    return AnnotationError(message, task=task, item=item, rule=rule)


def _task_name(task: dict, position: int) -> str:
    data = task.get("data") if isinstance(task, dict) else None
    if isinstance(data, dict) and data.get("doc_id"):
        return str(data["doc_id"])
    return f"#{task.get('id', position) if isinstance(task, dict) else position}"


def pick_annotation(task: dict) -> dict | None:
    """The human annotation a task's gold comes from: the latest one that was not cancelled."""
    annotations = [a for a in task.get("annotations") or [] if not a.get("was_cancelled")]
    if not annotations:
        return None
    return max(annotations, key=lambda a: (str(a.get("updated_at") or a.get("created_at") or ""), a.get("id") or 0))


def document_from_result(task: dict, result: list, name: str) -> Document:
    """Build a Document from one task and one result list, checking item shapes (not spec rules)."""
    data = task["data"]
    text = data["text"]
    doc = Document(
        doc_id=str(data.get("doc_id") or name),
        text=text,
        meta={"task_id": task.get("id"), "data": {k: v for k, v in data.items() if k not in ("text", "doc_id")}},
    )
    if not isinstance(result, list):
        raise _fail("result is not a list", name, None, "shape")
    for n, item in enumerate(result):
        if not isinstance(item, dict):
            raise _fail(f"result item {n} is not an object", name, str(n), "shape")
        kind = item.get("type")
        if kind == "labels":
            value = item.get("value") or {}
            sid = str(item.get("id") or "")
            labels = value.get("labels")
            start, end = value.get("start"), value.get("end")
            if not sid:
                raise _fail("span without id", name, str(n), "shape")
            if not isinstance(start, int) or not isinstance(end, int) or isinstance(start, bool):
                raise _fail(f"start/end must be integers, got {start!r}/{end!r}", name, sid, "offsets")
            if not isinstance(labels, list) or len(labels) != 1:
                raise _fail(f"a span needs exactly one label, got {labels!r}", name, sid, "label")
            doc.spans.append(Span(sid, start, end, labels[0], value.get("text", ""), item.get("score")))
        elif kind == "relation":
            labels = item.get("labels") or []
            rid = f"{item.get('from_id')}->{item.get('to_id')}"
            if len(labels) != 1:
                raise _fail(f"a relation needs exactly one label, got {labels!r}", name, rid, "label")
            doc.relations.append(Relation(str(item.get("from_id")), str(item.get("to_id")), labels[0], item.get("score")))
        else:
            raise _fail(f"unknown result type {kind!r}", name, str(item.get("id", n)), "shape")
    return doc


def check_document(doc: Document, name: str | None = None) -> list[AnnotationError]:
    """Every mechanical rule of the spec, as a list of errors (empty = valid)."""
    name = name or doc.doc_id
    errors: list[AnnotationError] = []
    text = doc.text
    ids = Counter(s.id for s in doc.spans)
    for sid, count in ids.items():
        if count > 1:
            errors.append(_fail(f"span id used {count} times", name, sid, "duplicate_id"))
    sentences = sentence_index(text)
    for s in doc.spans:
        if s.label not in SPAN_LABELS:
            errors.append(_fail(f"unknown span label {s.label!r}", name, s.id, "label"))
        if not (0 <= s.start < s.end <= len(text)):
            errors.append(_fail(f"offsets {s.start}:{s.end} outside text of length {len(text)}", name, s.id, "offsets"))
            continue
        if text[s.start : s.end] != s.text:
            errors.append(
                _fail(f"text[{s.start}:{s.end}] is {text[s.start:s.end]!r}, span says {s.text!r}", name, s.id, "offsets")
            )
        inner = text[s.start : s.end]
        if inner != inner.strip() or inner[0] in ",;:\"“”‘’'«»" or inner[-1] in ",;:\"“”‘’'«»":
            errors.append(_fail(f"span {inner!r} is not trimmed", name, s.id, "trim"))
        if len({sentences[i] for i in range(s.start, s.end)} - {-1}) > 1 or -1 in sentences[s.start : s.end][:1]:
            errors.append(_fail(f"span {inner!r} crosses a sentence boundary", name, s.id, "sentence"))
    ordered = doc.sorted_spans()
    for a, b in zip(ordered, ordered[1:]):
        if b.start < a.end:
            errors.append(_fail(f"overlaps span {a.id} ({a.text!r})", name, b.id, "overlap"))
    spans = doc.span_by_id()
    seen = Counter((r.head, r.tail, r.label) for r in doc.relations)
    for (head, tail, label), count in seen.items():
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


def load_export_json(obj, source: str = "export", *, require_annotation: bool = True) -> list[Document]:
    """Validate a parsed Label Studio JSON export and turn it into Documents; raise on the first error."""
    if not isinstance(obj, list):
        raise _fail("a Label Studio JSON export is a list of tasks", source, None, "shape")
    docs, names = [], Counter()
    for position, task in enumerate(obj):
        name = _task_name(task, position)
        names[name] += 1
        if not isinstance(task, dict) or not isinstance(task.get("data"), dict):
            raise _fail("task has no data object", name, None, "shape")
        text = task["data"].get("text")
        if not isinstance(text, str) or not text.strip():
            raise _fail("data.text is missing or empty", name, None, "empty_text")
        annotation = pick_annotation(task)
        if annotation is None:
            if require_annotation:
                raise _fail("task has no annotation", name, None, "no_annotation")
            result = []
        else:
            result = annotation.get("result", [])
        doc = document_from_result(task, result, name)
        errors = check_document(doc, name)
        if errors:
            raise errors[0]
        docs.append(doc)
    for name, count in names.items():
        if count > 1:
            raise _fail(f"doc_id appears in {count} tasks", name, None, "duplicate_doc")
    return docs


def read_json(path: str | Path):
    path = Path(path)
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise AnnotationError(f"no such file: {path}", task=str(path), rule="file") from None
    except UnicodeDecodeError as e:
        raise AnnotationError(f"{path} is not UTF-8 ({e.reason})", task=str(path), rule="file") from None
    try:
        return json.loads(raw)
    except json.JSONDecodeError as e:
        raise AnnotationError(f"{path} is not JSON: {e}", task=str(path), rule="json") from None


def load_export(path: str | Path) -> list[Document]:
    """Read and validate a Label Studio JSON export file."""
    return load_export_json(read_json(path), str(path))


def validate_export(path: str | Path) -> list[AnnotationError]:
    """All errors of an export file (the CLI prints every one, not just the first)."""
    try:
        obj = read_json(path)
    except AnnotationError as e:
        return [e]
    if not isinstance(obj, list):
        return [_fail("a Label Studio JSON export is a list of tasks", str(path), None, "shape")]
    errors: list[AnnotationError] = []
    for position, task in enumerate(obj):
        try:
            load_export_json([task], str(path))
        except AnnotationError as e:
            name = _task_name(task, position)
            if e.rule in ("shape", "empty_text", "no_annotation", "offsets", "label"):
                errors.append(e)
                continue
            doc = document_from_result(task, pick_annotation(task)["result"], name)
            errors.extend(check_document(doc, name))
    names = Counter(_task_name(t, i) for i, t in enumerate(obj))
    errors += [_fail(f"doc_id appears in {c} tasks", n, None, "duplicate_doc") for n, c in names.items() if c > 1]
    return errors


def result_from_document(doc: Document, *, with_scores: bool = False) -> list[dict]:
    """A Label Studio `result` list (spans then relations) for a Document."""
    result = []
    for s in doc.sorted_spans():
        item = {
            "id": s.id,
            "from_name": FROM_NAME,
            "to_name": TO_NAME,
            "type": "labels",
            "value": {"start": s.start, "end": s.end, "text": s.text, "labels": [s.label]},
        }
        if with_scores and s.score is not None:
            item["score"] = round(float(s.score), 4)
        result.append(item)
    for r in doc.relations:
        item = {"from_id": r.head, "to_id": r.tail, "type": "relation", "direction": "right", "labels": [r.label]}
        if with_scores and r.score is not None:
            item["score"] = round(float(r.score), 4)
        result.append(item)
    return result


def task_from_document(doc: Document, task_id: int | None = None) -> dict:
    """A Label Studio task (with the document's annotation) as it appears in a JSON export."""
    data = {"text": doc.text, "doc_id": doc.doc_id, **(doc.meta.get("data") or {})}
    tid = task_id if task_id is not None else doc.meta.get("task_id")
    return {
        "id": tid,
        "data": data,
        "annotations": [{"id": tid, "result": result_from_document(doc), "was_cancelled": False}],
        "predictions": [],
    }


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write through a temp file in the same folder and a rename: readers never see half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json_atomic(path: str | Path, obj) -> None:
    write_text_atomic(path, json.dumps(obj, ensure_ascii=False, indent=1) + "\n")


def write_export(path: str | Path, docs: list[Document]) -> None:
    """Validate Documents and write them atomically as a Label Studio JSON export."""
    tasks = [task_from_document(d, task_id=d.meta.get("task_id") or i + 1) for i, d in enumerate(docs)]
    load_export_json(tasks, str(path))
    write_json_atomic(path, tasks)


# ---------------------------------------------------------------- stand-off .ann files

_SPAN_LINE = re.compile(r"^(?P<id>T\d+)\s+(?P<label>[A-Z]+)\s+(?P<text>.+?)(?:\s+@(?P<occ>\d+))?\s*$")
_REL_LINE = re.compile(r"^R\s+(?P<label>[a-z_]+)\s+(?P<head>T\d+)\s+(?P<tail>T\d+)\s*$")


def find_occurrences(text: str, needle: str) -> list[int]:
    """Start offsets of `needle` in `text`, not inside a longer word."""
    left = r"(?<!\w)" if needle[:1].isalnum() else ""
    right = r"(?!\w)" if needle[-1:].isalnum() else ""
    return [m.start() for m in re.finditer(left + re.escape(needle) + right, text)]


@dataclass
class AnnLine:
    number: int
    raw: str


def parse_ann(ann: str, text: str, doc_id: str) -> Document:
    """Parse a stand-off file: `T<n> LABEL exact text [@occurrence]` and `R label T<head> T<tail>`.

    The occurrence counts whole-word matches of the text in the article, from 1."""
    doc = Document(doc_id=doc_id, text=text)
    for number, raw in enumerate(ann.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        item = f"line {number}"
        if m := _SPAN_LINE.match(line):
            needle, occurrence = m["text"], int(m["occ"] or 1)
            starts = find_occurrences(text, needle)
            if len(starts) < occurrence:
                raise _fail(f"{needle!r} occurs {len(starts)} times, @{occurrence} asked", doc_id, item, "ann_text")
            start = starts[occurrence - 1]
            doc.spans.append(Span(m["id"], start, start + len(needle), m["label"], needle))
        elif m := _REL_LINE.match(line):
            doc.relations.append(Relation(m["head"], m["tail"], m["label"]))
        else:
            raise _fail(f"cannot parse {raw!r}", doc_id, item, "ann_syntax")
    return doc


def build_from_ann(text_dir: str | Path, ann_dir: str | Path, extra_data: dict | None = None) -> list[Document]:
    """Documents from every `<doc_id>.ann` in ann_dir with its text `<doc_id>` (a .txt file) in text_dir."""
    docs = []
    for ann_path in sorted(Path(ann_dir).glob("*.ann")):
        text_path = Path(text_dir) / (ann_path.stem + ".txt")
        if not text_path.exists():
            raise AnnotationError(f"no text {text_path} for {ann_path}", task=ann_path.name, rule="file")
        text = text_path.read_text(encoding="utf-8")
        doc = parse_ann(ann_path.read_text(encoding="utf-8"), text, text_path.name)
        doc.meta["data"] = dict(extra_data or {})
        docs.append(doc)
    return docs


def corpus_stats(docs: list[Document]) -> dict:
    spans = Counter(s.label for d in docs for s in d.spans)
    relations = Counter(r.label for d in docs for r in d.relations)
    return {
        "documents": len(docs),
        "spans": {label: spans.get(label, 0) for label in SPAN_LABELS},
        "relations": {label: relations.get(label, 0) for label in RELATION_LABELS},
        "span_total": sum(spans.values()),
        "relation_total": sum(relations.values()),
    }
