import io
import json
import sys
import types
from dataclasses import dataclass
from datetime import date

import pytest

from clashwatch.cli import main
from clashwatch.cli.extract import InputDocument, iter_documents, run_extraction
from clashwatch.export import OutputFile


@dataclass
class FakeExtraction:
    doc_id: str
    text: str
    published: date | None

    def to_dict(self) -> dict:
        event = {"doc_id": self.doc_id, "event_type": "armed_clash", "actors": ["A", "B"], "killed": [],
                 "times": [{"text": "x", "iso": self.published.isoformat() if self.published else None}],
                 "evidence": {"sentence": self.text[:20], "spans": []}}
        return {"doc_id": self.doc_id, "text": self.text, "events": [event]}


@dataclass
class FakeItemError:  # shaped like predict.BatchItemError
    index: int
    doc_id: str
    error: Exception


class FakeExtractor:
    """A test double of predict.Extractor: "BOOM" in a text fails that document only."""

    def __init__(self):
        self.calls = []

    @classmethod
    def load(cls, path=None):
        return cls()

    def extract_batch(self, texts, batch_size=16, published=None, doc_ids=None):
        self.calls.append(list(doc_ids))
        for i, (text, doc_id) in enumerate(zip(texts, doc_ids)):
            yield FakeItemError(i, doc_id, ValueError("boom")) if "BOOM" in text else FakeExtraction(doc_id, text, published)

    def extract(self, text, *, published=None, doc_id=None):
        return FakeExtraction(doc_id, text, published)


class Problems(list):
    def __call__(self, message):
        self.append(message)


@pytest.fixture
def inputs(tmp_path):
    folder = tmp_path / "news"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("Clashes in Batken.", encoding="utf-8")
    (folder / "sub" / "b.txt").write_text("Fighting on Friday.", encoding="utf-8")
    (folder / "notes.md").write_text("not an input")
    (folder / "bad.txt").write_bytes(b"caf\xe9 latin-1 text")
    jsonl = tmp_path / "feed.jsonl"
    jsonl.write_text(
        json.dumps({"doc_id": "j1", "text": "Truce agreed.", "published": "2021-05-01"}) + "\n"
        + '{"doc_id": "j2", "text": \n'
        + "\n"
        + json.dumps({"text": "Shelling BOOM overnight."}) + "\n"
        + json.dumps({"doc_id": "j4", "title": "no text"}) + "\n",
        encoding="utf-8",
    )
    return folder, jsonl


def test_iter_documents_folder_jsonl_and_bad_inputs(inputs, tmp_path):
    folder, jsonl = inputs
    problems = Problems()
    docs = list(iter_documents([str(folder), str(jsonl), str(tmp_path / "missing.txt")],
                               published=date(2022, 1, 1), report=problems))
    assert [(d.doc_id, d.published) for d in docs] == [
        ("a", date(2022, 1, 1)), ("sub/b", date(2022, 1, 1)),
        ("j1", date(2021, 5, 1)), ("feed:4", date(2022, 1, 1)),
    ]
    assert len(problems) == 4
    assert "bad.txt" in problems[0] and "UTF-8" in problems[0]
    assert problems[1].startswith(f"{jsonl}:2:")
    assert problems[2].startswith(f"{jsonl}:5:") and "text" in problems[2]
    assert "missing.txt" in problems[3]


def test_iter_documents_stdin():
    text_doc = list(iter_documents(["-"], report=Problems(), stdin=io.StringIO("Clashes.\nMore.\n")))
    assert [(d.doc_id, d.text) for d in text_doc] == [("stdin", "Clashes.\nMore.\n")]
    lines = io.StringIO('{"doc_id": "x", "text": "t1"}\n{"text": "t2"}\n')
    assert [d.doc_id for d in iter_documents(["-"], report=Problems(), stdin=lines)] == ["x", "<stdin>:2"]


def test_iter_documents_is_lazy(tmp_path):
    jsonl = tmp_path / "big.jsonl"
    jsonl.write_text("".join(json.dumps({"doc_id": str(i), "text": "t"}) + "\n" for i in range(1000)))
    docs = iter_documents([str(jsonl)], report=Problems())
    assert next(docs).doc_id == "0"


def test_run_extraction_batches_and_failed_document(tmp_path):
    docs = [InputDocument(f"d{i}", "BOOM" if i == 2 else f"text {i}", date(2021, 5, 1) if i < 4 else None)
            for i in range(6)]
    out, problems, extractor = tmp_path / "o.jsonl", Problems(), FakeExtractor()
    with OutputFile("jsonl", out) as output:
        summary = run_extraction(extractor, docs, output, batch_size=3, skip_ids={"d1"}, report=problems)
    assert extractor.calls == [["d0", "d2", "d3"], ["d4", "d5"]]  # batches never mix publication dates
    assert (summary.written, summary.skipped) == (4, 1)
    assert problems == ["d2: skipped: boom"]
    assert [json.loads(line)["doc_id"] for line in out.read_text().splitlines()] == ["d0", "d3", "d4", "d5"]


def test_run_extraction_falls_back_when_the_batch_call_breaks(tmp_path):
    class Broken(FakeExtractor):
        def extract_batch(self, texts, **kwargs):
            raise RuntimeError("batch down")

        def extract(self, text, *, published=None, doc_id=None):
            if "BOOM" in text:
                raise ValueError("bad document")
            return FakeExtraction(doc_id, text, published)

    problems, written = Problems(), []
    output = types.SimpleNamespace(write=written.append)
    docs = [InputDocument("ok1", "a"), InputDocument("bad", "BOOM"), InputDocument("ok2", "b")]
    summary = run_extraction(Broken(), docs, output, batch_size=8, report=problems)
    assert [e.doc_id for e in written] == ["ok1", "ok2"] and problems == ["bad: skipped: bad document"]
    assert summary.written == 2


@pytest.fixture
def fake_predict(monkeypatch):
    module = types.ModuleType("clashwatch.predict")
    module.Extractor = FakeExtractor
    monkeypatch.setitem(sys.modules, "clashwatch.predict", module)
    monkeypatch.setattr("clashwatch.cli.COMMAND_GROUPS", ["extract"])  # only the verb under test


@pytest.mark.parametrize("fmt", ["jsonl", "acled"])
def test_cli_resume_after_interruption(fake_predict, inputs, tmp_path, capsys, fmt):
    folder, jsonl = inputs
    out = tmp_path / f"out.{fmt}"
    argv = ["extract", str(folder), str(jsonl), "--format", fmt, "--out", str(out), "--quiet",
            "--published", "2022-01-01"]
    assert main(argv) == 1  # bad.txt, the corrupt and text-less lines, the failed document
    first = out.read_text()
    err = capsys.readouterr().err
    assert "bad.txt" in err and "feed.jsonl:2" in err and "feed:4: skipped: boom" in err

    # interrupt the run mid-record: keep the first complete line(s), then half of the next one
    lines = first.splitlines(keepends=True)
    out.write_text("".join(lines[:2]) + lines[2][: len(lines[2]) // 2])
    if fmt == "acled":  # the ledger is written after a document's rows: it names only the first row's document
        from clashwatch.export import ledger_path

        ledger_path(out).write_text(lines[1].rstrip("\n").split(",")[-1] + "\n")
    main(argv)
    again = out.read_text()
    assert again == first  # no duplicates, no half record, same order


def test_cli_json_to_stdout(fake_predict, inputs, capsys):
    folder, _ = inputs
    assert main(["extract", str(folder / "a.txt"), "--format", "json", "--quiet"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert [r["doc_id"] for r in records] == ["a"]


def test_cli_rejects_bad_published_date(fake_predict, inputs):
    with pytest.raises(SystemExit):
        main(["extract", str(inputs[0]), "--published", "last week"])


def test_crlf_files_keep_their_raw_offsets(tmp_path):
    path = tmp_path / "crlf.txt"
    path.write_bytes(b"BORDER CLASH\r\n\r\nTroops fired in Osh.\r\n")
    [doc] = iter_documents([str(path)], report=Problems())
    assert doc.text == path.read_bytes().decode("utf-8")  # offsets index the file as it is
    assert doc.text.index("Osh") == path.read_bytes().index(b"Osh")
