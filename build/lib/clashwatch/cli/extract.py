"""`clashwatch extract PATH...`: run a trained model over articles and stream the results.

Inputs: .txt files, folders (every *.txt below them), JSONL files with a `text` field (optional
`doc_id`, `published`), Parquet files (or dataset folders named *.parquet) with a `text` column
(optional `doc_id`, `published`), or `-` for stdin (JSONL when it starts with "{", else one article).
Each record is written (one write + flush) as soon as its document is done; with --out in jsonl/acled
a rerun skips the documents already in the output. Bad inputs are reported and skipped; the exit status
is 1 when any were.

--engine ray runs the same extraction on a Ray cluster (`clashwatch.scale`): --out is a folder of
shards, a failed document is an error row, a rerun resumes."""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
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


def jsonl_document(line: str, name: str, number: int, published: date | None) -> InputDocument:
    """One JSONL line as a document (doc_id `STEM:LINE` when it has none); ValueError when it is not
    an object with a string `text` or its `published` is not an ISO date. Shared with the ray engine."""
    item = json.loads(line)  # json.JSONDecodeError is a ValueError
    if not isinstance(item, dict) or not isinstance(item.get("text"), str):
        raise ValueError('expected an object with a string "text" field')
    own_date = parse_date(item["published"]) if item.get("published") else published
    return InputDocument(str(item.get("doc_id") or f"{Path(name).stem}:{number}"), item["text"], own_date)


def _jsonl_documents(lines: Iterable[str], name: str, published: date | None, report: Report) -> Iterator[InputDocument]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            yield jsonl_document(line, name, number, published)
        except ValueError as e:
            report(f"{name}:{number}: skipped: {e}")


def utf8_problem(e: UnicodeDecodeError) -> str:
    return f"not UTF-8 text ({e.reason} at byte {e.start})"


def _text_document(path: Path, doc_id: str, published: date | None, report: Report) -> Iterator[InputDocument]:
    try:
        # newline="" keeps CRLF as it is in the file: offsets index the raw text
        with open(path, encoding="utf-8", newline="") as f:
            yield InputDocument(doc_id, f.read(), published)
    except UnicodeDecodeError as e:
        report(f"{path}: skipped: {utf8_problem(e)}")
    except OSError as e:
        report(f"{path}: skipped: {e.strerror or e}")


PARQUET_COLUMNS = ("text", "doc_id", "published")


def parquet_document(row: dict, stem: str, published: date | None) -> InputDocument:
    """One Parquet row (`text`, optional `doc_id` and `published`, a date or an ISO string) as a document.
    Without a doc_id it is `STEM:` + 16 hex of the text's sha256: a row number does not survive parallel
    reading, a content hash gives the same id in both engines and on every rerun. ValueError when the
    text is not a string or the date not ISO. Shared with the ray engine."""
    text = row.get("text")
    if not isinstance(text, str):
        raise ValueError(f"`text` is {type(text).__name__}, not a string")
    own = row.get("published")
    if isinstance(own, datetime):
        own_date = own.date()
    elif isinstance(own, date):
        own_date = own
    else:
        own_date = parse_date(own) if own else published
    doc_id = row.get("doc_id")
    if doc_id is None or doc_id == "":
        doc_id = f"{stem}:{hashlib.sha256(text.encode('utf-8')).hexdigest()[:16]}"
    return InputDocument(str(doc_id), text, own_date)


def parquet_files(path: Path) -> list[Path]:
    """A .parquet file, or the part files of a Parquet dataset folder named *.parquet."""
    return sorted(p for p in path.rglob("*.parquet") if p.is_file()) if path.is_dir() else [path]


def _parquet_documents(path: Path, published: date | None, report: Report) -> Iterator[InputDocument]:
    import pyarrow.parquet as pq

    for file in parquet_files(path):
        try:
            columns = [c for c in PARQUET_COLUMNS if c in pq.read_schema(file).names]
            if "text" not in columns:
                report(f"{file}: skipped: no `text` column")
                continue
            number = 0
            for batch in pq.ParquetFile(file).iter_batches(columns=columns, batch_size=1024):
                for row in batch.to_pylist():
                    number += 1
                    try:
                        yield parquet_document(row, file.stem, published)
                    except ValueError as e:
                        report(f"{file}:row {number}: skipped: {e}")
        except (OSError, ValueError) as e:  # an unreadable file, or not Parquet (pyarrow's ArrowInvalid)
            report(f"{file}: skipped: {e}")


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
        if path.suffix == ".parquet" and path.exists():  # a file, or a dataset folder of part files
            yield from _parquet_documents(path, published, report)
        elif path.is_dir():
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


def extract_each(extractor, documents: Iterable[InputDocument],
                 batch_size: int) -> Iterator[tuple[InputDocument, object]]:
    """(document, Extraction or error) for every document, in batches of one publication date: the
    local loop's own batching, reused by the ray engine so that both give the same answers."""
    for batch in _batches(documents, batch_size):
        yield from _extract_each(extractor, batch, batch_size)


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


RAY_ONLY = {"address": "--address", "workers": "--workers", "threads_per_worker": "--threads-per-worker",
            "gpus_per_worker": "--gpus-per-worker", "output_format": "--output-format", "shard_size": "--shard-size",
            "acled": "--acled", "overwrite": "--overwrite"}


def cmd_extract(args) -> int:
    from tqdm import tqdm

    from ..export import OutputFile, completed_doc_ids
    from ..predict import Extractor

    if args.engine == "ray":
        return cmd_extract_ray(args)
    given = [flag for name, flag in RAY_ONLY.items() if getattr(args, name, None) not in (None, False)]
    if given:
        raise ClashwatchError(f"{', '.join(given)}: only with --engine ray")
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


def cmd_extract_ray(args) -> int:
    """The ray engine (`scale.py`): a folder of shards at --out, error rows for failed documents."""
    from tqdm import tqdm

    from ..scale import run

    if not args.out:
        raise ClashwatchError("--engine ray writes a folder of shards: name it with --out DIR")
    if args.format != "jsonl":
        raise ClashwatchError("--engine ray: --output-format jsonl|parquet chooses the shards and --acled adds the "
                              "ACLED CSV; --format is for the local engine")

    def report(message: str) -> None:
        tqdm.write(f"clashwatch extract: {message}", file=sys.stderr)

    fast = {"runtime": args.runtime, "quantize": args.quantize} if args.runtime != "torch" or args.quantize else {}
    with tqdm(desc="extract (ray)", unit="doc", file=sys.stderr, disable=args.quiet) as progress:
        summary = run(args.paths, args.out, model=args.model, address=args.address, workers=args.workers,
                      threads=args.threads_per_worker or 1, gpus=args.gpus_per_worker,
                      shard_format=args.output_format or "jsonl", batch_size=args.batch_size,
                      shard_size=args.shard_size or 256, published=args.published, acled=args.acled,
                      overwrite=args.overwrite, load_options=fast, report=report, progress=progress)
    acled = f"; ACLED CSV {summary.acled}" if summary.acled else ""
    print(f"clashwatch extract: {summary.written} written, {summary.errors} error row(s), {summary.skipped} already "
          f"done, {summary.shards} new shard(s) in {args.out} ({summary.workers} workers){acled}", file=sys.stderr)
    return 1 if summary.errors else 0


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
    p.add_argument("paths", nargs="+", metavar="PATH",
                   help=".txt file, folder, .jsonl file, .parquet file or dataset folder, or - for stdin")
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
    ray = p.add_argument_group("ray engine", "archive scale on Ray Data (pip install 'clashwatch[ray]'): --out names "
                               "a folder of shards; a rerun skips the documents already in it")
    ray.add_argument("--engine", choices=("local", "ray"), default="local",
                     help="local: this process (default); ray: an actor pool on a Ray cluster")
    ray.add_argument("--address", default=None, help="join the Ray cluster at HOST:PORT or ray://HOST:PORT "
                     "(default: start a local one)")
    ray.add_argument("--workers", type=_positive, default=None,
                     help="actors, each with its own model (default: one per GPU, else per free CPU)")
    ray.add_argument("--threads-per-worker", type=_positive, default=None, help="CPU threads per actor (default 1)")
    ray.add_argument("--gpus-per-worker", type=float, default=None,
                     help="GPUs per actor (default: 1 where the cluster has GPUs, else 0)")
    ray.add_argument("--output-format", choices=("jsonl", "parquet"), default=None, help="shard format (default jsonl)")
    ray.add_argument("--shard-size", type=_positive, default=None, help="documents per shard (default 256)")
    ray.add_argument("--acled", action="store_true", help="also write the ACLED CSV, DIR/events.csv")
    ray.add_argument("--overwrite", action="store_true",
                     help="replace the results already in --out (needed when another model wrote them)")
    p.set_defaults(func=cmd_extract)

