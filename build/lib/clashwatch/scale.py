"""`clashwatch extract --engine ray`: archive-scale extraction on Ray Data (`pip install clashwatch[ray]`).

    plan_inputs(paths)            every input checked on the driver before anything starts (a Parquet
                                  file without `text` is refused here)
    check_output(...)             the output folder: refused when another model wrote it (unless overwrite)
    check_address(address)        a cluster that does not answer fails in seconds
    read_documents(plan)          Ray Data reads: read_binary_files (.txt, .jsonl), read_parquet; one row
                                  per document {doc_id, text, published, error}
    map_batches(ShardExtractor)   an actor pool: each actor loads the Extractor once, runs the local
                                  engine's own batching (`cli.extract.extract_each`) and writes each batch
                                  as one shard (temp name + rename), returning a summary row
    write_acled(out)              on request, the ACLED CSV from every shard

The output folder holds `part-*.jsonl` shards (one `Extraction.to_dict()` per line, as the local engine
writes them) or `part-*.parquet` shards (columns doc_id, error, events, record = that dict as JSON); a
document that failed is an error row `{"doc_id", "error"}`; `_clashwatch.json` names the model (path and
sha256 of its manifest.json). A rerun skips every doc_id already in a shard, error rows included; a
killed job leaves only `.part-*.tmp` files, which never count and are removed by the next run.

Ray is imported inside the functions: clashwatch works without it, and the ray engine says how to get it."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import socket
import tempfile
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from pathlib import Path

from .schema import ClashwatchError

SHARD_FORMATS = ("jsonl", "parquet")
OUTPUT_MANIFEST = "_clashwatch.json"
ACLED_FILE = "events.csv"
SHARD_PREFIX = "part-"
CONNECT_TIMEOUT_S = 5.0
INSTALL_HINT = "pip install 'clashwatch[ray]'"


class ScaleError(ClashwatchError):
    """A ray-engine run that cannot start; raised before any document is read."""


class RayMissingError(ScaleError, ImportError):
    pass


class ClusterUnreachableError(ScaleError, ConnectionError):
    pass


class InputError(ScaleError, ValueError):
    pass


class OutputFolderError(ScaleError):
    pass


def require_ray():
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError as e:
        raise RayMissingError(f"the ray engine needs Ray Data ({e.name or e} is not installed): "
                              f"{INSTALL_HINT}") from None
    return ray


# ------------------------------------------------------------------ inputs, checked on the driver


@dataclass
class InputPlan:
    texts: list[tuple[str, str | None]] = field(default_factory=list)  # (path, folder the doc_ids are relative to)
    jsonl: list[str] = field(default_factory=list)
    parquet: list[tuple[str, list[str]]] = field(default_factory=list)  # (file or dataset folder, columns)

    def __bool__(self) -> bool:
        return bool(self.texts or self.jsonl or self.parquet)


def plan_inputs(paths: Iterable[str]) -> InputPlan:
    """What Ray will read, as absolute paths (workers, perhaps on other nodes, do not share the driver's
    working directory: give paths on a filesystem every node sees). The same inputs as the local engine:
    folders (every *.txt below them), .txt files, .jsonl files, and .parquet files or dataset folders."""
    plan = InputPlan()
    for raw in paths:
        if raw == "-":
            raise InputError("the ray engine reads files, not stdin: write the input to a .jsonl file first")
        path = Path(raw).resolve()
        if not path.exists():
            raise InputError(f"{raw}: no such file or folder")
        if path.suffix == ".parquet":
            plan.parquet.append((str(path), parquet_columns(path)))
        elif path.is_dir():
            if next(path.rglob("*.txt"), None) is not None:  # Ray refuses a folder with nothing to read
                plan.texts.append((str(path), str(path)))
        elif path.suffix == ".jsonl":
            plan.jsonl.append(str(path))
        else:
            plan.texts.append((str(path), None))
    return plan


def parquet_columns(path: Path) -> list[str]:
    """The columns to read (`text`, and `doc_id` / `published` where present) from every part's footer;
    a part without a string `text`, or parts that disagree, stop the run here."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from .cli.extract import PARQUET_COLUMNS, parquet_files

    found: list[str] | None = None
    for file in parquet_files(path):
        try:
            schema = pq.read_schema(file)
        except (OSError, ValueError) as e:  # pyarrow's ArrowInvalid is a ValueError
            raise InputError(f"{file}: not a readable Parquet file ({e})") from None
        if "text" not in schema.names:
            raise InputError(f"{file}: no `text` column (it has {', '.join(schema.names) or 'none'}); the ray "
                             "engine reads `text`, and `doc_id` and `published` where present")
        if not (pa.types.is_string(schema.field("text").type) or pa.types.is_large_string(schema.field("text").type)):
            raise InputError(f"{file}: the `text` column holds {schema.field('text').type}, not strings")
        columns = [c for c in PARQUET_COLUMNS if c in schema.names]
        if found is not None and columns != found:
            raise InputError(f"{path}: its parts disagree on the columns ({found} and {columns} in {file})")
        found = columns
    if found is None:
        raise InputError(f"{path}: no Parquet files in it")
    return found


# ------------------------------------------------------------------ rows: one per document


def _row(doc_id: str, text: str = "", published: date | None = None, error: str = "") -> dict:
    # "" rather than None: every block then has the same string columns
    return {"doc_id": doc_id, "text": text, "published": published.isoformat() if published else "", "error": error}


def text_rows(row: dict, root: str | None, published: date | None) -> list[dict]:
    """A .txt file's row: doc_id = its path below the folder without .txt (a single file: its stem), as
    the local engine names it; a file that is not UTF-8 is an error row."""
    from .cli.extract import utf8_problem

    path = Path(row["path"])
    if root is None:
        doc_id = path.stem
    else:
        relative = path.relative_to(root)
        if relative.suffix != ".txt":  # Ray matches extensions ignoring case; the local engine reads *.txt
            return []
        doc_id = relative.with_suffix("").as_posix()
    try:
        return [_row(doc_id, row["bytes"].decode("utf-8"), published)]
    except UnicodeDecodeError as e:
        return [_row(doc_id, error=utf8_problem(e))]


def jsonl_rows(row: dict, published: date | None) -> list[dict]:
    """A JSONL file's lines as rows, each parsed as the local engine parses it (`jsonl_document`); a line
    that is not a document (bad JSON, no text, bad date, not UTF-8) is an error row `STEM:LINE`."""
    from .cli.extract import jsonl_document, utf8_problem

    name, out = row["path"], []
    raws = row["bytes"].split(b"\n")
    for number, raw in enumerate(raws, start=1):
        if not raw.strip():
            continue
        try:
            # each line as the local engine's text-mode reading gives it (newline kept, CRLF as LF), so
            # that even a broken line's message is the same
            line = raw.decode("utf-8").removesuffix("\r") + ("\n" if number < len(raws) else "")
            doc = jsonl_document(line, name, number, published)
            out.append(_row(doc.doc_id, doc.text, doc.published))
        except UnicodeDecodeError as e:  # before ValueError: it is one
            out.append(_row(f"{Path(name).stem}:{number}", error=utf8_problem(e)))
        except ValueError as e:
            out.append(_row(f"{Path(name).stem}:{number}", error=str(e)))
    return out


def parquet_rows(row: dict, published: date | None) -> list[dict]:
    from .cli.extract import parquet_document

    stem = Path(row["path"]).stem
    try:
        doc = parquet_document(row, stem, published)
    except ValueError as e:
        return [_row(str(row.get("doc_id") or f"{stem}:?"), error=str(e))]
    return [_row(doc.doc_id, doc.text, doc.published)]


def read_documents(plan: InputPlan, published: date | None):
    """One Ray Dataset of document rows over every input (lazy: nothing is read until it runs)."""
    import ray.data

    parts = []
    for path, root in plan.texts:
        data = ray.data.read_binary_files(path, include_paths=True, file_extensions=["txt"] if root else None)
        parts.append(data.flat_map(partial(text_rows, root=root, published=published)))
    for path in plan.jsonl:
        data = ray.data.read_binary_files(path, include_paths=True)
        parts.append(data.flat_map(partial(jsonl_rows, published=published)))
    for path, columns in plan.parquet:
        data = ray.data.read_parquet(path, include_paths=True).select_columns([*columns, "path"])
        parts.append(data.flat_map(partial(parquet_rows, published=published)))
    return parts[0].union(*parts[1:]) if len(parts) > 1 else parts[0]


def in_blocks_of(data, rows: int):
    """Blocks of at most `rows` documents. A reader makes one block per file, and an actor takes a block
    whole: a single large JSONL or Parquet file would go to one actor. Streaming (no barrier) where Ray
    has it; an older Ray keeps one block per file (parallel across files only)."""
    try:
        return data.repartition(target_num_rows_per_block=rows)
    except TypeError:
        return data


# ------------------------------------------------------------------ shards


def error_record(doc_id: str, reason: str) -> dict:
    return {"doc_id": doc_id, "error": reason}


def is_error(record: dict) -> bool:
    return "error" in record  # Extraction.to_dict() has no such key


def _parquet_table(records: list[dict]):
    import pyarrow as pa

    schema = pa.schema([("doc_id", pa.string()), ("error", pa.string()), ("events", pa.int32()),
                        ("record", pa.string())])
    ok = [not is_error(r) for r in records]
    return pa.table({
        "doc_id": [str(r["doc_id"]) for r in records],
        "error": [None if good else r["error"] for r, good in zip(records, ok)],
        "events": [len(r.get("events") or []) if good else None for r, good in zip(records, ok)],
        "record": [json.dumps(r, ensure_ascii=False) if good else None for r, good in zip(records, ok)],
    }, schema=schema)


def write_shard(out_dir: Path, records: list[dict], shard_format: str) -> str:
    """Write records as one shard under a temp name, then rename: a shard exists whole or not at all, so
    a killed job never leaves half a shard that a resume would count as done."""
    import pyarrow.parquet as pq

    name = f"{SHARD_PREFIX}{uuid.uuid4().hex}.{shard_format}"
    tmp = out_dir / f".{name}.tmp"
    with open(tmp, "wb") as f:
        if shard_format == "jsonl":
            f.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode("utf-8"))
        else:
            pq.write_table(_parquet_table(records), f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, out_dir / name)
    return name


def shard_paths(out_dir: Path) -> list[Path]:
    return sorted(p for fmt in SHARD_FORMATS for p in Path(out_dir).glob(f"{SHARD_PREFIX}*.{fmt}"))


def read_shard(path: Path) -> Iterator[dict]:
    """A shard's records: extraction dicts and error rows."""
    try:
        if path.suffix == ".jsonl":
            with open(path, encoding="utf-8") as f:
                rows = [json.loads(line) for line in f if line.strip()]
            yield from rows
            return
        import pyarrow.parquet as pq

        for row in pq.read_table(path).to_pylist():
            yield error_record(row["doc_id"], row["error"]) if row["error"] is not None else json.loads(row["record"])
    except (OSError, ValueError) as e:
        raise OutputFolderError(f"{path}: unreadable shard ({e}); remove it to extract its documents again") from None


def finished_doc_ids(out_dir: Path) -> set[str]:
    """doc_ids in the finished shards (error rows included): what a rerun skips."""
    import pyarrow.parquet as pq

    done: set[str] = set()
    for path in shard_paths(out_dir):
        if path.suffix == ".parquet":
            try:
                done.update(pq.read_table(path, columns=["doc_id"]).column("doc_id").to_pylist())
            except (OSError, ValueError) as e:
                raise OutputFolderError(f"{path}: unreadable shard ({e}); remove it to extract its documents "
                                        "again") from None
        else:
            done.update(_jsonl_doc_ids(path))
    return done


# every record we write starts with its doc_id (Extraction.to_dict() and error rows put it first)
_LEADING_DOC_ID = re.compile(r'\{"doc_id": ("(?:[^"\\]|\\.)*")')


def _jsonl_doc_ids(path: Path) -> Iterator[str]:
    """A JSONL shard's doc_ids without parsing whole records (texts and all): a resume over millions of
    documents reads only the start of each line."""
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                head = _LEADING_DOC_ID.match(line)
                if head:
                    yield str(json.loads(head.group(1)))
                elif line.strip():
                    yield str(json.loads(line)["doc_id"])
    except (OSError, ValueError, KeyError) as e:
        raise OutputFolderError(f"{path}: unreadable shard ({e}); remove it to extract its documents again") from None


def read_records(out_dir: str | Path) -> Iterator[dict]:
    """Every record of an output folder, each doc_id once (the first shard's): a batch that Ray retried
    after its shard was renamed can leave the same documents in two shards."""
    seen: set[str] = set()
    for path in shard_paths(Path(out_dir)):
        for record in read_shard(path):
            if str(record["doc_id"]) not in seen:
                seen.add(str(record["doc_id"]))
                yield record


def write_acled(out_dir: Path) -> Path:
    """`events.csv` (export.AcledWriter's columns) from every shard, replaced atomically: derived from the
    shards, it is rewritten whole after each run, resumed or not."""
    from .export import AcledWriter

    target = out_dir / ACLED_FILE
    fd, tmp = tempfile.mkstemp(dir=out_dir, prefix=f".{ACLED_FILE}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            writer = AcledWriter(f)
            for record in read_records(out_dir):
                if not is_error(record):
                    writer.write(record)
            writer.finish()
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it private; the shards beside it are not
        os.replace(tmp, target)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return target


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# ------------------------------------------------------------------ the output folder


def model_fingerprint(model: Path) -> dict:
    """The model's path and the sha256 of its manifest.json (which lists every file's sha256), after
    checking the folder: a broken model fails here, not on every worker."""
    from .modeling import MANIFEST, check_model_folder
    from .schema import ModelNotFoundError

    if not model.is_dir():
        raise ModelNotFoundError(f"no trained model at {model}")
    check_model_folder(model)
    return {"model": str(model.resolve()),
            "model_manifest_sha256": hashlib.sha256((model / MANIFEST).read_bytes()).hexdigest()}


def read_output_manifest(out_dir: Path) -> dict | None:
    path = out_dir / OUTPUT_MANIFEST
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as e:
        raise OutputFolderError(f"{path}: unreadable ({e}); --overwrite starts the folder afresh") from None


def check_output(out_dir: Path, fingerprint: dict, shard_format: str, overwrite: bool) -> None:
    """Refuse a folder written by another model (or shards of unknown origin, or the other shard
    format): mixing them would make one output of two models. Writes nothing."""
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputFolderError(f"{out_dir} is a file: the ray engine writes a folder of shards")
    if overwrite or not out_dir.exists():
        return
    manifest, shards = read_output_manifest(out_dir), shard_paths(out_dir)
    if manifest is None:
        if shards:
            raise OutputFolderError(f"{out_dir} holds shards but no {OUTPUT_MANIFEST}, so the model that wrote "
                                    "them is unknown; --overwrite replaces them")
        return
    theirs, ours = manifest.get("model_manifest_sha256", ""), fingerprint["model_manifest_sha256"]
    if theirs != ours:
        raise OutputFolderError(f"{out_dir} holds the results of another model ({manifest.get('model')}, manifest "
                                f"sha256 {theirs[:12]}), not of {fingerprint['model']} ({ours[:12]}); choose another "
                                "--out, or --overwrite to replace them")
    if shards and manifest.get("shard_format") != shard_format:
        raise OutputFolderError(f"{out_dir} holds {manifest.get('shard_format')} shards: resume with --output-format "
                                f"{manifest.get('shard_format')}, or --overwrite")


def prepare_output(out_dir: Path, fingerprint: dict, shard_format: str, overwrite: bool) -> None:
    """Create the folder, drop what a killed job had in flight (and, with overwrite, every earlier
    result of ours; other files are left), and write the manifest."""
    from .corpus import write_json_atomic

    out_dir.mkdir(parents=True, exist_ok=True)
    stale = list(out_dir.glob(f".{SHARD_PREFIX}*.tmp")) + list(out_dir.glob(f".{ACLED_FILE}.*.tmp"))
    if overwrite:
        stale += shard_paths(out_dir) + [out_dir / ACLED_FILE, out_dir / OUTPUT_MANIFEST]
    for path in stale:
        path.unlink(missing_ok=True)
    write_json_atomic(out_dir / OUTPUT_MANIFEST, {**fingerprint, "shard_format": shard_format,
                                                  "written_by": "clashwatch extract --engine ray"})


# ------------------------------------------------------------------ the cluster


# an HTTP/2 client preface and an empty SETTINGS frame: any gRPC server (Ray's GCS, the Ray Client
# server) answers with a SETTINGS frame (byte 3 of the frame header is its type, 4)
HTTP2_HELLO = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"


def check_address(address: str, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """Something at HOST:PORT (or ray://HOST:PORT) that speaks gRPC within `timeout` seconds, else
    ClusterUnreachableError. ray.init would otherwise retry for 20 s to minutes on an address that drops
    packets, accepts and stays silent, or is another kind of server (the dashboard's HTTP port, say)."""
    if address == "auto":  # Ray finds the cluster of this node itself, and says so quickly when there is none
        return
    host, _, port = address.split("://", 1)[-1].rpartition(":")
    if not host or not port.isdigit():
        raise ClusterUnreachableError(f"--address {address!r}: expected HOST:PORT or ray://HOST:PORT")
    hint = "start one with `ray start --head`, or leave out --address for a local one"
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout) as conn:
            if os.environ.get("RAY_USE_TLS", "0").lower() in ("1", "true"):  # TLS first: no plain-text probe
                return
            conn.settimeout(timeout)
            conn.sendall(HTTP2_HELLO)
            head = conn.recv(9)
    except OSError as e:  # refused, unreachable, or no answer within the timeout
        raise ClusterUnreachableError(f"no Ray cluster answers at {address} ({e.strerror or e}); {hint}") from None
    if len(head) < 4 or head[3] != 4:
        raise ClusterUnreachableError(f"{address} answers, but not as a Ray cluster (no gRPC there: the GCS port, "
                                      f"6379 by default, or ray://HOST:10001); {hint}")


def connect(ray, address: str | None, cpus: int) -> bool:
    """Join the cluster at `address`, or start a local one with `cpus` CPUs; True when this call did
    (the caller shuts it down). A session already up (a test's, a benchmark's) is used as it is."""
    # Ray Data's per-operator progress lines and notices; the verb shows its own bar and problems
    logging.getLogger("ray.data").setLevel(logging.ERROR)
    if ray.is_initialized():
        return False
    if address:
        try:
            ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING)
        except ConnectionError as e:  # a gRPC server that is not a Ray GCS, after Ray's own retries
            raise ClusterUnreachableError(f"no Ray cluster at {address}: {e}") from None
    else:
        ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING)
    return True


def default_workers(ray, threads: int, gpus: float) -> int:
    """One actor per GPU share where GPUs are used, else one per `threads` CPUs, leaving one CPU to the
    readers."""
    resources = ray.cluster_resources()
    if gpus:
        return max(1, int(resources.get("GPU", 0) // gpus))
    return max(1, (int(resources.get("CPU", 1)) - 1) // threads)


# ------------------------------------------------------------------ the actors


class ShardExtractor:
    """One actor of the pool: loads the Extractor once; each batch of document rows becomes one shard."""

    def __init__(self, model: str, out_dir: str, shard_format: str, batch_size: int, threads: int, device: str,
                 load_options: dict, done: set[str]):
        import torch

        from .predict import Extractor

        torch.set_num_threads(threads)
        self.extractor = Extractor.load(model, device=device, quiet=True, **load_options)
        self.out_dir, self.shard_format, self.batch_size, self.done = Path(out_dir), shard_format, batch_size, done

    def __call__(self, batch):
        import pyarrow as pa

        rows = batch.to_pylist()
        records, todo = self._triage(rows)
        records += self._extract(todo)
        errors = [r for r in records if is_error(r)]
        shard = write_shard(self.out_dir, records, self.shard_format) if records else ""
        return pa.table({"shard": [shard], "documents": [len(rows)], "written": [len(records) - len(errors)],
                         "errors": [len(errors)], "skipped": [len(rows) - len(records)],
                         "problems": ["\n".join(f"{r['doc_id']}: error: {r['error']}" for r in errors)]})

    def _triage(self, rows: list[dict]):
        """Error rows for what cannot be extracted (unreadable, empty), and the documents that can; the
        doc_ids of finished shards are dropped."""
        from .cli.extract import InputDocument, parse_date

        records, todo = [], []
        for row in rows:
            doc_id = str(row["doc_id"])
            if doc_id in self.done:
                continue
            if row["error"]:
                records.append(error_record(doc_id, row["error"]))
            elif not row["text"].strip():
                records.append(error_record(doc_id, "empty document"))
            else:
                published = parse_date(row["published"]) if row["published"] else None
                todo.append(InputDocument(doc_id, row["text"], published))
        return records, todo

    def _extract(self, todo) -> list[dict]:
        from .cli.extract import extract_each

        out = []
        for doc, result in extract_each(self.extractor, todo, self.batch_size):
            error = result if isinstance(result, BaseException) else getattr(result, "error", None)  # BatchItemError
            out.append(error_record(doc.doc_id, f"{type(error).__name__}: {error}") if error is not None
                       else result.to_dict())
        return out


# ------------------------------------------------------------------ the run


@dataclass
class ScaleSummary:
    written: int = 0
    errors: int = 0
    skipped: int = 0
    shards: int = 0
    workers: int = 0
    problems: list[str] = field(default_factory=list)
    acled: Path | None = None

    def add(self, row: dict) -> None:
        self.written += row["written"]
        self.errors += row["errors"]
        self.skipped += row["skipped"]
        self.shards += bool(row["shard"])


def run(paths: Iterable[str], out_dir: str | Path, *, model: str | Path | None = None, address: str | None = None,
        workers: int | None = None, threads: int = 1, gpus: float | None = None, shard_format: str = "jsonl",
        batch_size: int = 8, shard_size: int = 256, published: date | None = None, acled: bool = False,
        overwrite: bool = False, load_options: dict | None = None, report: Callable[[str], None] = print,
        progress=None) -> ScaleSummary:
    """Extract every document of `paths` into the shard folder `out_dir` on Ray; each check that can
    fail (Ray installed, inputs, model, output folder, address) runs before anything is written."""
    from .predict import default_model_path

    if shard_format not in SHARD_FORMATS:
        raise ScaleError(f"shard format must be one of {SHARD_FORMATS}, got {shard_format!r}")
    ray = require_ray()
    plan = plan_inputs(paths)
    model = Path(model) if model is not None else default_model_path()
    fingerprint, out_dir = model_fingerprint(model), Path(out_dir)
    check_output(out_dir, fingerprint, shard_format, overwrite)
    if address:
        check_address(address)
    prepare_output(out_dir, fingerprint, shard_format, overwrite)
    done = finished_doc_ids(out_dir)
    summary = ScaleSummary()
    if plan:
        started = connect(ray, address, cpus=max(os.cpu_count() or 1, (workers or 1) * threads + 1))
        try:
            _execute(ray, plan, summary, model=str(model.resolve()), out_dir=out_dir, workers=workers, threads=threads,
                     gpus=gpus, shard_format=shard_format, batch_size=batch_size, shard_size=shard_size,
                     published=published, load_options=load_options or {}, done=done, report=report, progress=progress)
        finally:
            if started:
                ray.shutdown()
    if acled:
        summary.acled = write_acled(out_dir)
    return summary


def _execute(ray, plan: InputPlan, summary: ScaleSummary, *, model, out_dir, workers, threads, gpus, shard_format,
             batch_size, shard_size, published, load_options, done, report, progress) -> None:
    ray.data.DataContext.get_current().enable_progress_bars = False
    if gpus is None:  # a GPU per actor wherever the cluster has GPUs
        gpus = 1 if ray.cluster_resources().get("GPU", 0) >= 1 else 0
    summary.workers = workers or default_workers(ray, threads, gpus)
    results = in_blocks_of(read_documents(plan, published), shard_size).map_batches(
        ShardExtractor, batch_size=shard_size, batch_format="pyarrow",
        compute=ray.data.ActorPoolStrategy(size=summary.workers), num_cpus=threads, num_gpus=gpus,
        fn_constructor_kwargs={"model": model, "out_dir": str(out_dir.resolve()), "shard_format": shard_format,
                               "batch_size": batch_size, "threads": threads, "device": "cuda" if gpus else "cpu",
                               "load_options": load_options, "done": done})
    for row in results.iter_rows():
        summary.add(row)
        for line in filter(None, row["problems"].split("\n")):
            summary.problems.append(line)
            report(line)
        if progress is not None:
            progress.update(row["documents"])
