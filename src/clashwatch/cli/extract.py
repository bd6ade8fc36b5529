"""`clashwatch extract PATH...`: run a trained model over articles and stream the results.

Inputs: .txt files, folders (every *.txt below them), JSONL files with a `text` field (optional
`doc_id`, `published`), or `-` for stdin (JSONL when it starts with "{", else one article). Each
record is written (one write + flush) as soon as its document is done; with --out in jsonl/acled a
rerun skips the documents already in the output. Bad inputs are reported and skipped; the exit status
is 1 when any were."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from itertools import groupby, islice
from pathlib import Path

from ..export import FORMATS
from ..schema import ClashwatchError


@dataclass
class InputDocument:
    doc_id: str
    text: str
    published: date | None = None


@dataclass
class RunSummary:
    written: int = 0
    skipped: int = 0
    problems: list[str] = field(default_factory=list)  # one line per input or document that failed


Report = Callable[[str], None]


def parse_date(value: str) -> date:
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        raise ValueError(f"not an ISO date (YYYY-MM-DD): {value!r}") from None


def _jsonl_documents(lines: Iterable[str], name: str, published: date | None, report: Report) -> Iterator[InputDocument]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            if not isinstance(item, dict) or not isinstance(item.get("text"), str):
                raise ValueError('expected an object with a string "text" field')
            own_date = parse_date(item["published"]) if item.get("published") else published
        except ValueError as e:  # json.JSONDecodeError is a ValueError
            report(f"{name}:{number}: skipped: {e}")
            continue
        yield InputDocument(str(item.get("doc_id") or f"{Path(name).stem}:{number}"), item["text"], own_date)


def _text_document(path: Path, doc_id: str, published: date | None, report: Report) -> Iterator[InputDocument]:
    try:
        # newline="" keeps CRLF as it is in the file: offsets index the raw text
        with open(path, encoding="utf-8", newline="") as f:
            yield InputDocument(doc_id, f.read(), published)
    except UnicodeDecodeError as e:
        report(f"{path}: skipped: not UTF-8 text ({e.reason} at byte {e.start})")
    except OSError as e:
        report(f"{path}: skipped: {e.strerror or e}")


def iter_documents(paths: Iterable[str], *, published: date | None = None, report: Report,
                   stdin=None) -> Iterator[InputDocument]:
    """Documents from every input, lazily and in order; unreadable inputs go to `report` and are skipped."""
    for raw in paths:
        if raw == "-":
            stream = stdin or sys.stdin
            first = stream.readline()
            if first.lstrip().startswith("{"):
                yield from _jsonl_documents(_chain_first(first, stream), "<stdin>", published, report)
            else:
                yield InputDocument("stdin", first + stream.read(), published)
            continue
        path = Path(raw)
        if path.is_dir():
            for file in sorted(path.rglob("*.txt")):
                yield from _text_document(file, file.relative_to(path).with_suffix("").as_posix(), published, report)
        elif not path.exists():
            report(f"{path}: skipped: no such file or folder")
        elif path.suffix == ".jsonl":
            try:
                with open(path, encoding="utf-8") as f:
                    yield from _jsonl_documents(f, str(path), published, report)
            except UnicodeDecodeError as e:
                report(f"{path}: stopped: not UTF-8 text ({e.reason}); the lines before were read")
        else:
            yield from _text_document(path, path.stem, published, report)


def _chain_first(first: str, rest) -> Iterator[str]:
    yield first
    yield from rest


def _batches(documents: Iterable[InputDocument], size: int) -> Iterator[list[InputDocument]]:
    """Runs of at most `size` documents sharing a publication date (extract_batch takes one date)."""
    for _, run in groupby(documents, key=lambda d: d.published):
        while chunk := list(islice(run, size)):
            yield chunk


def run_extraction(extractor, documents: Iterable[InputDocument], output, *, batch_size: int = 8,
                   skip_ids: set[str] = frozenset(), report: Report, progress=None) -> RunSummary:
    """Extract every document not in `skip_ids` and write each result to `output` (anything with
    `.write(extraction)`) as soon as it is done. A document that fails is reported by its doc_id."""
    summary = RunSummary()

    def problem(message: str) -> None:
        summary.problems.append(message)
        report(message)

    def todo() -> Iterator[InputDocument]:
        seen: set[str] = set()
        for doc in documents:
            if doc.doc_id in skip_ids:
                summary.skipped += 1
                if progress is not None:
                    progress.update(1)
            elif doc.doc_id in seen:  # resume keys on doc_id, so a second one could never be told apart
                problem(f"{doc.doc_id}: skipped: duplicate doc_id in the input")
            else:
                seen.add(doc.doc_id)
                yield doc

    for batch in _batches(todo(), batch_size):
        for doc, result in _extract_each(extractor, batch, batch_size):
            if isinstance(result, BaseException) or hasattr(result, "error"):  # predict.BatchItemError
                problem(f"{doc.doc_id}: skipped: {getattr(result, 'error', result)}")
            else:
                output.write(result)
                summary.written += 1
            if progress is not None:
                progress.update(1)
    return summary


def _extract_each(extractor, batch: list[InputDocument], batch_size: int) -> Iterator[tuple[InputDocument, object]]:
    """(document, Extraction or error) pairs; if the batch call itself breaks, the documents it did not
    return are extracted one by one, so one bad document never costs the others."""
    done = 0
    try:
        results = extractor.extract_batch([d.text for d in batch], batch_size=batch_size,
                                          published=batch[0].published, doc_ids=[d.doc_id for d in batch])
        for doc, result in zip(batch, results):
            done += 1
            yield doc, result
    except ClashwatchError:
        raise
    except Exception:  # noqa: BLE001 - fall back to one document at a time
        for doc in batch[done:]:
            try:
                yield doc, extractor.extract(doc.text, published=doc.published, doc_id=doc.doc_id)
            except ClashwatchError:
                raise
            except Exception as e:  # noqa: BLE001 - reported per document
                yield doc, e


def cmd_extract(args) -> int:
    from tqdm import tqdm

    from ..export import OutputFile, completed_doc_ids
    from ..predict import Extractor

    problems: list[str] = []

    def report(message: str) -> None:
        problems.append(message)
        tqdm.write(f"clashwatch extract: {message}", file=sys.stderr)

    published = args.published
    if args.out and args.format == "json" and Path(args.out).exists():
        print(f"clashwatch extract: {args.out} will be replaced (only jsonl/acled outputs resume)", file=sys.stderr)
    fast = {"runtime": args.runtime, "quantize": args.quantize} if args.runtime != "torch" or args.quantize else {}
    extractor = Extractor.load(args.model, **fast)
    with OutputFile(args.format, args.out) as output:
        resumable = args.out and args.format in ("jsonl", "acled")
        done = completed_doc_ids(args.out, args.format) if resumable else set()
        documents = iter_documents(args.paths, published=published, report=report)
        with tqdm(desc="extract", unit="doc", file=sys.stderr, disable=args.quiet) as progress:
            summary = run_extraction(extractor, documents, output, batch_size=args.batch_size, skip_ids=done,
                                     report=report, progress=progress)
    print(f"clashwatch extract: {summary.written} written, {summary.skipped} already done, "
          f"{len(problems)} problem(s)", file=sys.stderr)
    return 1 if problems else 0


def _positive(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value!r}")
    return int(value)


def _iso_date(value: str) -> date:
    try:
        return parse_date(value)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def add_parser(verbs) -> None:
    p = verbs.add_parser("extract", help="extract clash/ceasefire events from articles with a trained model",
                         description=__doc__)
    p.add_argument("paths", nargs="+", metavar="PATH", help=".txt file, folder, .jsonl file, or - for stdin")
    p.add_argument("--model", default=None, help="model folder (default: $CLASHWATCH_MODEL, else models/default)")
    p.add_argument("--published", type=_iso_date, default=None, help="publication date YYYY-MM-DD for relative dates "
                   "(a JSONL `published` field overrides it)")
    p.add_argument("--format", choices=FORMATS, default="jsonl",
                   help="jsonl (default), json, acled (CSV, one row per event) or summary (readable text)")
    p.add_argument("--out", default=None, help="output file (default: stdout); jsonl/acled outputs resume")
    p.add_argument("--batch-size", type=_positive, default=8)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--runtime", choices=("torch", "onnx"), default="torch",
                   help="onnx: the encoder under ONNX Runtime on CPU, exported into the model folder on first use")
    p.add_argument("--quantize", action="store_true", help="with --runtime onnx: int8 dynamic quantisation")
    p.set_defaults(func=cmd_extract)

