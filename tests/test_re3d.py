"""re3d conversion: label mapping, overlaps, mismatches, the derived corpus and its licence files."""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

import pytest

import clashwatch.cli.annotations as annotations_cli
from clashwatch.corpus import validate_export
from clashwatch.re3d import convert_re3d, convert_source, load_re3d_documents
from clashwatch.schema import AnnotationError

TEXT = (
    "Mortars hit Mosul district on Monday, U.S. Central Command said. "
    "Coalition aircraft struck 3 targets near Raqqa with \"a VBIED\". Call 555-0100."
)


def _entity(kind: str, value: str, occurrence: int = 1, text: str = TEXT, begin: int | None = None) -> dict:
    if begin is None:
        begin = -1
        for _ in range(occurrence):
            begin = text.index(value, begin + 1)
    return {"_id": f"D1-{begin}-{kind}", "documentId": "D1", "begin": begin, "end": begin + len(value),
            "type": kind, "value": value, "confidence": 1}


def _write_source(root: Path, name: str = "centcom", entities: list[dict] | None = None, doc_id: str = "D1") -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    document = {"_id": doc_id, "title": "t", "text": TEXT, "sourceName": "x", "sourceUrl": "http://example.org/1"}
    (folder / "documents.json").write_text(json.dumps(document) + "\n", encoding="utf-8")
    if entities is None:
        entities = [
            _entity("Organisation", "U.S. Central Command"),
            _entity("Location", "U.S."),  # inside a longer Organisation: not a LOCATION
            _entity("Weapon", "Mortars"),
            _entity("Location", "Mosul district"),
            _entity("Location", "Mosul"),  # nested in a longer Location: the longer one wins
            _entity("Temporal", "on Monday"),  # leading preposition dropped
            _entity("MilitaryPlatform", "Coalition aircraft"),  # unmapped: ignore
            _entity("Location", "targets"),  # no name in it: ignore
            _entity("Quantity", "3"),
            {**_entity("Location", "Raqqa"), "value": "Raqa"},  # value mismatch: ignore, no span
            _entity("Weapon", "\"a VBIED\""),  # trimmed to VBIED
            _entity("CommsIdentifier", "555-0100"),  # O
        ]
    entities = [{**e, "documentId": doc_id} for e in entities]
    (folder / "entities.json").write_text("".join(json.dumps(e) + "\n" for e in entities), encoding="utf-8")
    (folder / "LICENSE").write_text("This dataset is public domain.", encoding="utf-8")
    (folder / "ATTRIBUTION").write_text("Retrieved from the CENTCOM website.", encoding="utf-8")
    return folder


def test_conversion_maps_trims_and_resolves_overlaps(tmp_path):
    counts = Counter()
    [doc] = convert_source(_write_source(tmp_path), counts)
    assert [(s.label, s.text) for s in doc.sorted_spans()] == [
        ("WEAPON", "Mortars"), ("LOCATION", "Mosul district"), ("TIME", "Monday"), ("WEAPON", "VBIED")
    ]
    assert all(TEXT[s.start : s.end] == s.text for s in doc.spans)
    ignored = [TEXT[s:e] for s, e in doc.meta["ignore"]]
    assert ignored == ["U.S. Central Command", "Coalition aircraft", "3", "targets", "Raqqa"]
    assert not any(s < sp.end and sp.start < e for s, e in doc.meta["ignore"] for sp in doc.spans)
    assert doc.meta["data"] == {"source": "centcom", "licence": "public domain (US Government)",
                                "url": "http://example.org/1", "re3d_id": "D1"}
    assert counts["ignored: value mismatch"] == 1 and counts["O: CommsIdentifier"] == 1
    assert counts["ignored: overlaps a longer or ambiguous entity"] == 2


def test_same_text_with_two_types_is_ignored(tmp_path):
    entities = [_entity("Location", "Mosul"), _entity("Organisation", "Mosul"), _entity("Location", "Raqqa")]
    [doc] = convert_source(_write_source(tmp_path, entities=entities))
    assert [s.text for s in doc.spans] == ["Raqqa"]
    assert [TEXT[s:e] for s, e in doc.meta["ignore"]] == ["Mosul"]


def test_derived_corpus_validates_and_round_trips(tmp_path):
    _write_source(tmp_path / "src")
    _write_source(tmp_path / "src", "wikipedia", doc_id="D2").joinpath("LICENSE").write_text(
        "Creative Commons Attribution-ShareAlike 3.0.", encoding="utf-8"
    )
    out = tmp_path / "out"
    parser = argparse.ArgumentParser()
    annotations_cli.add_parser(parser.add_subparsers())  # only this verb group: others may be mid-work
    args = parser.parse_args(["annotations", "convert-re3d", "--src", str(tmp_path / "src"), "--out", str(out)])
    assert args.func(args) == 0
    assert validate_export(out / "re3d.json") == []
    assert (out / "wikipedia" / "ATTRIBUTION").read_text() == "Retrieved from the CENTCOM website."
    assert "CC BY-SA 3.0" in (out / "README.md").read_text()
    tasks = json.loads((out / "re3d.json").read_text())
    assert all(isinstance(t["data"]["ignore"], list) for t in tasks)
    docs = load_re3d_documents(out)
    assert [d.meta["data"]["licence"] for d in docs] == ["public domain (US Government)", "CC BY-SA 3.0"]
    assert docs[0].meta["ignore"] == [list(r) for r in tasks[0]["data"]["ignore"]] and docs[0].meta["ignore"]
    assert "ignore" not in docs[0].meta["data"]


@pytest.mark.parametrize("missing", ["LICENSE", "ATTRIBUTION"])
def test_missing_licence_file_stops_loading(tmp_path, missing):
    _write_source(tmp_path / "src")
    convert_re3d(tmp_path / "src", tmp_path / "out")
    (tmp_path / "out" / "centcom" / missing).unlink()
    with pytest.raises(AnnotationError) as e:
        load_re3d_documents(tmp_path / "out" / "re3d.json")
    assert e.value.rule == "licence" and missing in str(e.value)


def test_source_without_licence_is_not_converted(tmp_path):
    (_write_source(tmp_path / "src") / "LICENSE").unlink()
    with pytest.raises(AnnotationError) as e:
        convert_re3d(tmp_path / "src", tmp_path / "out")
    assert e.value.rule == "licence"
    assert not (tmp_path / "out" / "re3d.json").exists()


def test_invalid_corpus_stops_loading(tmp_path):
    _write_source(tmp_path / "src")
    convert_re3d(tmp_path / "src", tmp_path / "out")
    path = tmp_path / "out" / "re3d.json"
    tasks = json.loads(path.read_text())
    tasks[0]["annotations"][0]["result"][0]["value"]["labels"] = ["Location"]
    path.write_text(json.dumps(tasks))
    with pytest.raises(AnnotationError) as e:
        load_re3d_documents(path)
    assert e.value.rule == "label"
