"""Gold corpora as Label Studio JSON exports: export <-> Documents (checked by `validate`), atomic
writes, counts."""

from __future__ import annotations

import json
import os

import tempfile
from collections import Counter
from pathlib import Path

from .schema import RELATION_LABELS, SPAN_LABELS, AnnotationError, Document, Relation, Span
from .validate import check_document

FROM_NAME, TO_NAME = "label", "text"

# ---------------------------------------------------------------- Label Studio <-> Document


def _fail(message: str, task: str, item: str | None, rule: str) -> AnnotationError:
    return AnnotationError(message, task=task, item=item, rule=rule)


def _task_name(task, position: int) -> str:
    data = task.get("data") if isinstance(task, dict) else None
    if isinstance(data, dict) and isinstance(data.get("doc_id"), (str, int)) and data.get("doc_id") != "":
        return str(data["doc_id"])
    tid = task.get("id", position) if isinstance(task, dict) else position
    return f"#{tid if isinstance(tid, (str, int)) else position}"


def pick_annotation(task: dict, name: str = "task") -> dict | None:
    """The human annotation a task's gold comes from: the latest one that was not cancelled."""
    annotations = task.get("annotations")
    if annotations is None:
        return None
    if not isinstance(annotations, list):
        raise _fail(f"annotations must be a list, got {type(annotations).__name__}", name, None, "shape")
    kept = []
    for n, a in enumerate(annotations):
        if not isinstance(a, dict):
            raise _fail(f"annotation {n} is not an object", name, f"annotation {n}", "shape")
        if not a.get("was_cancelled"):
            kept.append(a)
    if not kept:
        return None
    # ids may be ints in one export and strings in another: compare them as text
    return max(kept, key=lambda a: (str(a.get("updated_at") or a.get("created_at") or ""), str(a.get("id") or "")))


def _item_id(value, n: int) -> str:
    return str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) and value != "" else ""


def _span_item(item: dict, n: int, name: str) -> Span:
    value = item.get("value")
    if not isinstance(value, dict):
        raise _fail(f"value must be an object, got {type(value).__name__}", name, str(n), "shape")
    sid = _item_id(item.get("id"), n)
    if not sid:
        raise _fail("span without a string or integer id", name, str(n), "shape")
    start, end, labels = value.get("start"), value.get("end"), value.get("labels")
    if not isinstance(start, int) or not isinstance(end, int) or isinstance(start, bool) or isinstance(end, bool):
        raise _fail(f"start/end must be integers, got {start!r}/{end!r}", name, sid, "offsets")
    if not isinstance(labels, list) or len(labels) != 1 or not isinstance(labels[0], str):
        raise _fail(f"a span needs exactly one label, got {labels!r}", name, sid, "label")
    text, score = value.get("text", ""), item.get("score")
    if not isinstance(text, str):
        raise _fail(f"value.text must be a string, got {type(text).__name__}", name, sid, "shape")
    return Span(sid, start, end, labels[0], text, _score(score, name, sid))


def _relation_item(item: dict, n: int, name: str) -> Relation:
    head, tail = _item_id(item.get("from_id"), n), _item_id(item.get("to_id"), n)
    rid = f"{item.get('from_id')!r}->{item.get('to_id')!r}"
    if not head or not tail:
        raise _fail("a relation needs from_id and to_id (strings or integers)", name, rid, "shape")
    labels = item.get("labels")
    if labels is None:
        labels = []
    if not isinstance(labels, list) or len(labels) != 1 or not isinstance(labels[0], str):
        raise _fail(f"a relation needs exactly one label, got {labels!r}", name, f"{head}->{tail}", "label")
    return Relation(head, tail, labels[0], _score(item.get("score"), name, f"{head}->{tail}"))


def _score(score, name: str, item: str) -> float | None:
    if score is None:
        return None
    if not isinstance(score, (int, float)) or isinstance(score, bool):
        raise _fail(f"score must be a number, got {score!r}", name, item, "shape")
    return float(score)


def document_from_result(task: dict, result: list, name: str) -> Document:
    """Build a Document from one task and one result list, checking item shapes (not spec rules)."""
    data = task["data"]
    doc = Document(
        doc_id=str(data.get("doc_id") or name),
        text=data["text"],
        meta={"task_id": task.get("id"), "data": {k: v for k, v in data.items() if k not in ("text", "doc_id")}},
    )
    if not isinstance(result, list):
        raise _fail(f"result must be a list, got {type(result).__name__}", name, None, "shape")
    for n, item in enumerate(result):
        if not isinstance(item, dict):
            raise _fail(f"result item {n} is not an object", name, str(n), "shape")
        kind = item.get("type")
        if kind == "labels":
            doc.spans.append(_span_item(item, n, name))
        elif kind == "relation":
            doc.relations.append(_relation_item(item, n, name))
        else:
            raise _fail(f"unknown result type {kind!r}", name, _item_id(item.get("id"), n) or str(n), "shape")
    return doc


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
        annotation = pick_annotation(task, name)
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


def task_errors(task, position: int = 0, source: str = "export") -> list[AnnotationError]:
    """Every error of one task: its first shape error, or every spec rule its annotation breaks."""
    try:
        load_export_json([task], source)
    except AnnotationError as e:
        if e.rule in ("shape", "empty_text", "no_annotation", "offsets", "label"):
            return [e]
        name = _task_name(task, position)
        return check_document(document_from_result(task, pick_annotation(task, name)["result"], name), name)
    return []


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
        errors += task_errors(task, position, str(path))
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
