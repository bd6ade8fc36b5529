import csv
import json

import pytest

from clashwatch.export import (
    ACLED_COLUMNS,
    OutputFile,
    acled_rows,
    completed_doc_ids,
    drop_partial_line,
    write_acled,
    write_json,
    write_jsonl,
)


def clash_event(doc_id: str) -> dict:
    return {
        "doc_id": doc_id, "event_type": "armed_clash", "trigger_texts": ["clashes"],
        "actors": ["Kyrgyz border guards", "Tajik troops", "Tajik police"], "mediators": [],
        "locations": ["Batken", "Leilik district"],
        "times": [{"text": "Saturday", "iso": "2021-05-01"}, {"text": "Wednesday", "iso": "2021-04-28"}],
        "weapons": ["mortars"],
        "killed": [{"text": "six soldiers", "value": 6, "qualifier": "exact", "range": None, "reported_by": ["A"]},
                   {"text": "five civilians", "value": 5, "qualifier": "exact", "range": None, "reported_by": ["A"]},
                   {"text": "at least 20 people", "value": 20, "qualifier": "at_least", "range": None,
                    "reported_by": ["B"]}],
        "injured": [], "displaced": [],
        "evidence": {"sentence": "Clashes erupted on\nWednesday.", "spans": [{"start": 0, "end": 7}]},
        "confidence": 0.9,
    }


def ceasefire_event(doc_id: str) -> dict:
    return {"doc_id": doc_id, "event_type": "ceasefire", "actors": ["Kyrgyzstan", "Tajikistan"],
            "mediators": ["Russia"], "locations": [], "times": [{"text": "dawn", "iso": None}], "killed": [],
            "evidence": {"sentence": "A truce was agreed.", "spans": []}}


class FakeExtraction:
    def __init__(self, doc_id: str, events: list[dict]):
        self.doc_id, self.events = doc_id, events

    def to_dict(self) -> dict:
        return {"doc_id": self.doc_id, "text": "...", "spans": [], "relations": [], "events": self.events}


RECORDS = [FakeExtraction("a", [clash_event("a"), ceasefire_event("a")]), FakeExtraction("b", [])]


def test_acled_rows():
    clash, ceasefire = acled_rows(RECORDS[0].to_dict())
    assert clash == {
        "event_date": "2021-04-28", "event_type": "Battles", "sub_event_type": "Armed clash",
        "actor1": "Kyrgyz border guards", "actor2": "Tajik troops", "assoc_actors": "Tajik police",
        "mediators": "", "location": "Batken; Leilik district", "fatalities": 20,
        "fatalities_qualifier": "at_least", "fatalities_source": "B", "fatalities_note": "",
        "notes": "Clashes erupted on Wednesday.", "source": "a",
    }
    assert (ceasefire["event_type"], ceasefire["sub_event_type"]) == ("Strategic developments", "Agreement")
    assert (ceasefire["event_date"], ceasefire["fatalities"], ceasefire["mediators"]) == ("", 0, "Russia")


def test_write_json(tmp_path):
    path = tmp_path / "out" / "x.json"
    write_json(path, RECORDS)
    assert [r["doc_id"] for r in json.loads(path.read_text())] == ["a", "b"]
    write_json(path, [])
    assert json.loads(path.read_text()) == []
    assert [p.name for p in path.parent.iterdir()] == ["x.json"]  # no temp file left


def test_json_interrupted_leaves_previous_file(tmp_path):
    path = tmp_path / "x.json"
    path.write_text("[]\n")
    with pytest.raises(RuntimeError):
        with OutputFile("json", path) as out:
            out.write(RECORDS[0])
            raise RuntimeError("stop")
    assert path.read_text() == "[]\n" and len(list(tmp_path.iterdir())) == 1


def test_write_jsonl_appends_one_line_each(tmp_path):
    path = tmp_path / "x.jsonl"
    write_jsonl(path, RECORDS[:1])
    write_jsonl(path, RECORDS[1:])
    lines = path.read_text().splitlines()
    assert [json.loads(line)["doc_id"] for line in lines] == ["a", "b"]
    assert completed_doc_ids(path, "jsonl") == {"a", "b"}


def test_write_acled_header_once(tmp_path):
    path = tmp_path / "x.csv"
    write_acled(path, RECORDS[:1])
    write_acled(path, [FakeExtraction("c", [clash_event("c")])])
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    assert tuple(rows[0]) == ACLED_COLUMNS
    assert [r["source"] for r in rows] == ["a", "a", "c"]
    assert path.read_text().count("event_date") == 1
    assert completed_doc_ids(path, "acled") == {"a", "c"}


def test_acled_empty_output_has_header(tmp_path):
    path = tmp_path / "x.csv"
    write_acled(path, RECORDS[1:])
    assert path.read_text() == ",".join(ACLED_COLUMNS) + "\n"


def test_drop_partial_line(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text('{"doc_id": "a"}\n{"doc_id": "b"}\n{"doc_')
    assert drop_partial_line(path)
    assert path.read_text() == '{"doc_id": "a"}\n{"doc_id": "b"}\n'
    assert not drop_partial_line(path)
    path.write_text('{"doc_')
    assert drop_partial_line(path) and path.read_text() == ""


def _figure(text, value, qualifier="exact", by=(), range_=None):
    return {"text": text, "value": value, "qualifier": qualifier, "range": range_, "reported_by": list(by)}


@pytest.mark.parametrize("killed, want", [
    # disjoint sides add up, each side's competing tallies give their lowest
    ([_figure("six soldiers", 6, by=["army"]), _figure("eight soldiers", 8, by=["rebels"]),
      _figure("five civilians", 5, by=["ministry"])], (11, "exact", "army; ministry", "sum of figures for disjoint groups")),
    # a vague figure alone: a conservative floor, said so
    ([_figure("dozens dead", 24, "vague", by=["hospital"])], (24, "vague", "hospital",
                                                             "rests only on a vague figure (a conservative floor)")),
    # competing totals: the lowest, with its qualifier and reporter
    ([_figure("at least 30 people", 30, "at_least", ["UN"]), _figure("about 25 people", 25, "approx", ["ICRC"])],
     (25, "approx", "ICRC", "")),
    ([_figure("between 15 and 20 people", 15, "at_least", range_=[15, 20])], (15, "range", "", "")),
    ([], (0, "", "", "no killed figure")),
])
def test_acled_fatalities_say_what_they_rest_on(killed, want):
    event = {**clash_event("x"), "killed": killed}
    [row] = acled_rows({"doc_id": "x", "events": [event]})
    assert (row["fatalities"], row["fatalities_qualifier"], row["fatalities_source"], row["fatalities_note"]) == want


def test_acled_resume_remembers_documents_without_events(tmp_path):
    """On a news stream most articles hold no clash: a rerun must not extract them again."""
    out = tmp_path / "events.csv"
    write_acled(out, RECORDS)  # "b" has no event, so no row
    assert {row["source"] for row in csv.DictReader(open(out, encoding="utf-8"))} == {"a"}
    assert completed_doc_ids(out, "acled") == {"a", "b"}
