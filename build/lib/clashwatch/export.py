"""Writers for extraction results: JSON (one list), JSONL (one extraction per line) and an ACLED-style
CSV (one row per event). Every writer streams: each record goes out in a single write + flush, so an
interrupted run leaves at most one partial line, which `drop_partial_line` removes before a resume."""

from __future__ import annotations

import csv
import io
import json
import os
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import IO

from .events import acled_fatalities, fatalities

FORMATS = ("json", "jsonl", "acled", "summary")
ACLED_COLUMNS = ("event_date", "event_type", "sub_event_type", "actor1", "actor2", "assoc_actors", "mediators",
                 "location", "fatalities", "fatalities_qualifier", "fatalities_source", "fatalities_note", "notes",
                 "source")
ACLED_TYPES = {"armed_clash": ("Battles", "Armed clash"), "ceasefire": ("Strategic developments", "Agreement")}


def as_record(extraction) -> dict:
    """An extraction as a plain dict (`Extraction.to_dict()`, or a dict already)."""
    return extraction if isinstance(extraction, dict) else extraction.to_dict()


def _event_date(event: dict) -> str:
    dates = sorted(t["iso"] for t in event.get("times") or [] if isinstance(t, dict) and t.get("iso"))
    full = [d for d in dates if len(d) == 10]
    return (full or dates or [""])[0]


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _fatalities_note(basis) -> str:
    if basis.value is None:
        return "no killed figure"
    if basis.vague_only:
        return "rests only on a vague figure (a conservative floor)"
    if len(basis.figures) > 1:
        return "sum of figures for disjoint groups"
    return ""


def acled_rows(record: dict) -> list[dict]:
    """ACLED columns for each event of one extraction record. `fatalities` follows
    `events.fatalities` (0 where no KILLED figure is given, as ACLED codes it): the lowest of competing
    tallies of one population, the sum over disjoint groups; its qualifier, its reporters and a note
    (e.g. that it rests only on a vague figure) stand beside it."""
    rows = []
    for event in record.get("events") or []:
        basis = fatalities(event)
        event_type, sub_event_type = ACLED_TYPES.get(event.get("event_type"), ("", ""))
        actors = list(event.get("actors") or [])
        evidence = event.get("evidence") or {}
        rows.append({
            "event_date": _event_date(event),
            "event_type": event_type,
            "sub_event_type": sub_event_type,
            "actor1": actors[0] if actors else "",
            "actor2": actors[1] if len(actors) > 1 else "",
            "assoc_actors": "; ".join(actors[2:]),
            "mediators": "; ".join(event.get("mediators") or []),
            "location": "; ".join(event.get("locations") or []),
            "fatalities": basis.value or 0,
            "fatalities_qualifier": basis.qualifier,
            "fatalities_source": "; ".join(basis.sources),
            "fatalities_note": _fatalities_note(basis),
            "notes": evidence.get("sentence", "") if isinstance(evidence, dict) else "",
            "source": event.get("doc_id") or record.get("doc_id", ""),
        })
    # one CSV record = one line, so resume can cut a partial record at a line boundary
    return [{k: _one_line(v) if isinstance(v, str) else v for k, v in row.items()} for row in rows]


# ---------------------------------------------------------------- streaming writers


class JsonlWriter:
    def __init__(self, stream: IO[str]):
        self.stream = stream

    def write(self, extraction) -> None:
        self.stream.write(json.dumps(as_record(extraction), ensure_ascii=False) + "\n")
        self.stream.flush()

    def finish(self) -> None:
        pass


class JsonArrayWriter:
    """A JSON list written item by item (valid JSON once `finish` has run)."""

    def __init__(self, stream: IO[str]):
        self.stream, self.count = stream, 0

    def write(self, extraction) -> None:
        item = json.dumps(as_record(extraction), ensure_ascii=False, indent=1)
        self.stream.write(("[\n" if self.count == 0 else ",\n") + item)
        self.stream.flush()
        self.count += 1

    def finish(self) -> None:
        self.stream.write("[]\n" if self.count == 0 else "\n]\n")
        self.stream.flush()


class AcledWriter:
    """CSV rows per event; with a `ledger` stream, every finished doc_id (with or without events) is
    recorded after its rows, so a resume skips the documents that had no event too."""

    def __init__(self, stream: IO[str], *, header: bool = True, ledger: IO[str] | None = None):
        self.stream, self.header, self.ledger = stream, header, ledger

    def write(self, extraction) -> None:
        record = as_record(extraction)
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=ACLED_COLUMNS, lineterminator="\n")
        if self.header:
            writer.writeheader()
            self.header = False
        writer.writerows(acled_rows(record))
        if buffer.getvalue():
            self.stream.write(buffer.getvalue())
            self.stream.flush()
        if self.ledger is not None:
            self.ledger.write(_one_line(str(record.get("doc_id", ""))) + "\n")
            self.ledger.flush()

    def finish(self) -> None:
        if self.header:  # no record at all: still a valid CSV with its header
            self.stream.write(",".join(ACLED_COLUMNS) + "\n")
            self.stream.flush()


def _figure_line(figure: dict) -> str:
    value = figure.get("value")
    qualifier = figure.get("qualifier") or "exact"
    by = ", ".join(figure.get("reported_by") or []) or "no named source"
    normalised = f"{qualifier} {value}" if value is not None else "no number"
    return f"{figure.get('text')} ({normalised}), by {by}"


def summary_text(record: dict) -> str:
    """A person-readable account of one extraction: each event with its arguments and evidence."""
    events = record.get("events") or []
    lines = [f"== {record.get('doc_id', '')}: {len(events)} event(s), {len(record.get('spans') or [])} spans, "
             f"{len(record.get('relations') or [])} relations"]
    for n, event in enumerate(events, 1):
        times = [f"{t['text']}" + (f" = {t['iso']}" if t.get("iso") else "") for t in event.get("times") or []]
        lines.append(f"{n}. {event.get('event_type')} (confidence {event.get('confidence', 0):.2f})")
        rows = [("triggers", ", ".join(event.get("trigger_texts") or [])),
                ("actors", "; ".join(event.get("actors") or [])),
                ("mediators", "; ".join(event.get("mediators") or [])),
                ("where", "; ".join(event.get("locations") or [])),
                ("when", "; ".join(times)),
                ("weapons", "; ".join(event.get("weapons") or []))]
        rows += [(name, _figure_line(f)) for name in ("killed", "injured", "displaced") for f in event.get(name) or []]
        if event.get("event_type") == "armed_clash":
            rows.append(("ACLED fatalities", str(acled_fatalities(event) or 0)))
        evidence = event.get("evidence") or {}
        rows.append(("evidence", _one_line(evidence.get("sentence", "")) if isinstance(evidence, dict) else ""))
        lines += [f"   {name:<17}{value}" for name, value in rows if value]
    return "\n".join(lines) + "\n\n"


class SummaryWriter:
    def __init__(self, stream: IO[str]):
        self.stream = stream

    def write(self, extraction) -> None:
        self.stream.write(summary_text(as_record(extraction)))
        self.stream.flush()

    def finish(self) -> None:
        pass


def make_writer(fmt: str, stream: IO[str], *, header: bool = True, ledger: IO[str] | None = None):
    if fmt not in FORMATS:
        raise ValueError(f"unknown output format {fmt!r}, expected one of {', '.join(FORMATS)}")
    if fmt == "json":
        return JsonArrayWriter(stream)
    if fmt == "jsonl":
        return JsonlWriter(stream)
    if fmt == "summary":
        return SummaryWriter(stream)
    return AcledWriter(stream, header=header, ledger=ledger)


class OutputFile:
    """A writer on a file (or stdout for None). json goes to a temp file renamed into place when the run
    finishes; jsonl and acled append in place (resume keeps what is already there)."""

    def __init__(self, fmt: str, path: str | Path | None):
        self.fmt, self.path, self.tmp, self.ledger = fmt, Path(path) if path else None, None, None
        if self.path is None:
            self.stream, header = sys.stdout, True
        elif fmt == "json":
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, self.tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp")
            self.stream, header = os.fdopen(fd, "w", encoding="utf-8"), True
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            drop_partial_line(self.path)
            header = not self.path.exists() or self.path.stat().st_size == 0
            self.stream = open(self.path, "a", encoding="utf-8", newline="")
            if fmt == "acled":
                drop_partial_line(ledger_path(self.path))
                self.ledger = open(ledger_path(self.path), "a", encoding="utf-8")
        self.writer = make_writer(fmt, self.stream, header=header, ledger=self.ledger)

    def write(self, extraction) -> None:
        self.writer.write(extraction)

    def close(self, *, completed: bool = True) -> None:
        """Finish the output; an interrupted json run removes its temp file (jsonl/acled keep every
        complete record, for resume)."""
        if self.fmt != "json" or completed:
            self.writer.finish()
        if self.ledger is not None:
            self.ledger.close()
        if self.stream is sys.stdout:
            return
        self.stream.close()
        if self.tmp:
            if completed:
                os.replace(self.tmp, self.path)
            else:
                Path(self.tmp).unlink(missing_ok=True)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.close(completed=exc_type is None)


def write_json(path: str | Path, extractions: Iterable) -> None:
    with OutputFile("json", path) as out:
        for e in extractions:
            out.write(e)


def write_jsonl(path: str | Path, extractions: Iterable) -> None:
    """Append extractions to a JSONL file, one line each."""
    with OutputFile("jsonl", path) as out:
        for e in extractions:
            out.write(e)


def write_acled(path: str | Path, extractions: Iterable) -> None:
    """Append the events of extractions to an ACLED-style CSV (header written once)."""
    with OutputFile("acled", path) as out:
        for e in extractions:
            out.write(e)


# ---------------------------------------------------------------- resume


def drop_partial_line(path: str | Path) -> bool:
    """Cut a trailing line without its newline (a record an interrupted run left half-written).
    Returns True when something was cut."""
    path = Path(path)
    if not path.exists() or path.stat().st_size == 0:
        return False
    with open(path, "rb+") as f:
        f.seek(-1, os.SEEK_END)
        if f.read(1) == b"\n":
            return False
        data_end = f.seek(0, os.SEEK_END)
        # scan back for the last newline in blocks, so a large file is never read whole
        position, keep = data_end, 0
        while position > 0:
            step = min(65536, position)
            position -= step
            f.seek(position)
            block = f.read(step)
            cut = block.rfind(b"\n")
            if cut >= 0:
                keep = position + cut + 1
                break
        f.truncate(keep)
    return True


def completed_doc_ids(path: str | Path, fmt: str) -> set[str]:
    """doc_ids already in a jsonl or acled output (after `drop_partial_line`)."""
    path = Path(path)
    if not path.exists():
        return set()
    done = set()
    with open(path, encoding="utf-8", newline="") as f:
        if fmt == "jsonl":
            for line in f:
                if line.strip():
                    try:
                        done.add(str(json.loads(line)["doc_id"]))
                    except (ValueError, KeyError, TypeError):
                        continue  # not a record of ours: leave it, it does not mark a document done
        elif fmt == "acled":
            # a document without an event writes no row: the ledger beside the CSV lists every finished one
            done = {row["source"] for row in csv.DictReader(f) if row.get("source")}
            ledger = ledger_path(path)
            if ledger.exists():
                done |= {line.strip() for line in ledger.read_text(encoding="utf-8").splitlines() if line.strip()}
        else:
            raise ValueError(f"resume works with jsonl and acled outputs, not {fmt!r}")
    return done


def ledger_path(path: str | Path) -> Path:
    """The list of finished doc_ids beside an ACLED CSV (`events.csv` -> `events.csv.done`)."""
    path = Path(path)
    return path.with_name(path.name + ".done")
