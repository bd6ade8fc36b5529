"""Stand-off annotation files (`.ann`), from which the gold and synthetic exports are built reproducibly:

    T<n> LABEL exact text [@occurrence]      a span: the n-th whole-word occurrence of the text
    R label T<head> T<tail>                  a relation

A corpus builds article by article: an article that breaks a rule is reported (task, item, rule) and
left out, and the rest still builds. Synthetic text must be new: an article sharing more than 5% of its
word 8-grams with a reference text (the seed articles) is rejected."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from .schema import AnnotationError, Document, Relation, Span
from .validate import check_document

_SPAN_LINE = re.compile(r"^(?P<id>T\d+)\s+(?P<label>[A-Z]+)\s+(?P<text>.+?)(?:\s+@(?P<occ>\d+))?\s*$")
_REL_LINE = re.compile(r"^R\s+(?P<label>[a-z_]+)\s+(?P<head>T\d+)\s+(?P<tail>T\d+)\s*$")
NGRAM = 8
MAX_SHARED = 0.05


def find_occurrences(text: str, needle: str) -> list[int]:
    """Start offsets of `needle` in `text`, not inside a longer word."""
    left = r"(?<!\w)" if needle[:1].isalnum() else ""
    right = r"(?!\w)" if needle[-1:].isalnum() else ""
    return [m.start() for m in re.finditer(left + re.escape(needle) + right, text)]


def parse_ann(ann: str, text: str, doc_id: str) -> Document:
    """Parse a stand-off file into a Document (raises AnnotationError on the first bad line)."""
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
                raise AnnotationError(f"{needle!r} occurs {len(starts)} times, @{occurrence} asked",
                                      task=doc_id, item=item, rule="ann_text")
            start = starts[occurrence - 1]
            doc.spans.append(Span(m["id"], start, start + len(needle), m["label"], needle))
        elif m := _REL_LINE.match(line):
            doc.relations.append(Relation(m["head"], m["tail"], m["label"]))
        else:
            raise AnnotationError(f"cannot parse {raw!r}", task=doc_id, item=item, rule="ann_syntax")
    return doc


def word_ngrams(text: str, n: int = NGRAM) -> set[tuple[str, ...]]:
    words = re.findall(r"\w+", text.lower())
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def shared_ngrams(text: str, reference: set[tuple[str, ...]]) -> float:
    """The share of a text's word 8-grams that also occur in the reference texts."""
    grams = word_ngrams(text)
    return len(grams & reference) / len(grams) if grams else 0.0


@dataclass
class Build:
    documents: list[Document] = field(default_factory=list)
    errors: list[AnnotationError] = field(default_factory=list)  # one or more per rejected article


def build_from_ann(text_dir: str | Path, ann_dir: str | Path, extra_data: dict | None = None,
                   reference_texts: list[str] | None = None) -> Build:
    """Documents from every `<doc_id>.ann` in ann_dir with its text `<doc_id>.txt` in text_dir; each
    article that fails (parse, validator, shared 8-grams with `reference_texts`) is reported, not built."""
    reference = set().union(*(word_ngrams(t) for t in reference_texts)) if reference_texts else set()
    build = Build()
    for ann_path in sorted(Path(ann_dir).glob("*.ann")):
        text_path = Path(text_dir) / (ann_path.stem + ".txt")
        try:
            doc = _build_one(ann_path, text_path, reference)
        except AnnotationError as e:
            build.errors.append(e)
            continue
        errors = check_document(doc)
        if errors:
            build.errors += errors
            continue
        doc.meta["data"] = dict(extra_data or {})
        build.documents.append(doc)
    return build


def _build_one(ann_path: Path, text_path: Path, reference: set) -> Document:
    if not text_path.exists():
        raise AnnotationError(f"no text {text_path} for {ann_path}", task=ann_path.name, rule="file")
    try:
        text = text_path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise AnnotationError(f"{text_path} is not UTF-8 ({e.reason})", task=text_path.name, rule="file") from None
    if reference and (share := shared_ngrams(text, reference)) > MAX_SHARED:
        raise AnnotationError(f"{share:.1%} of its word {NGRAM}-grams occur in a seed article (at most "
                              f"{MAX_SHARED:.0%}): synthetic text must be new", task=text_path.name, rule="seed_overlap")
    return parse_ann(ann_path.read_text(encoding="utf-8"), text, text_path.name)


def to_ann(doc: Document, comments: list[str] = ()) -> str:
    """A Document as a stand-off file (`parse_ann(to_ann(doc), doc.text, ...)` gives it back): each span by
    its exact text and, where the text occurs more than once, its whole-word occurrence."""
    lines = [f"# {c}" for c in comments]
    for s in doc.sorted_spans():
        starts = find_occurrences(doc.text, s.text)
        if s.start not in starts:
            raise AnnotationError(f"span {s.text!r} at {s.start} is not a whole-word occurrence", task=doc.doc_id,
                                  item=s.id, rule="ann_text")
        k = starts.index(s.start) + 1
        lines.append(f"{s.id} {s.label} {s.text}" + (f" @{k}" if k > 1 else ""))
    lines += [f"R {r.label} {r.head} {r.tail}" for r in doc.relations]
    return "\n".join(lines) + "\n"
