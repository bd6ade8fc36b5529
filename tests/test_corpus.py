"""The loader and validator of Label Studio exports (no server): every bad input is an
AnnotationError naming the task, the item and the rule, nothing is written, and
Label Studio -> Document -> Label Studio is lossless."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from clashwatch.cli import main
from clashwatch.corpus import (
    document_from_result,
    load_export,
    load_export_json,
    pick_annotation,
    result_from_document,
    task_from_document,
    validate_export,
    write_export,
)
from clashwatch.schema import AnnotationError

REPO = Path(__file__).resolve().parents[1]
GOLD = REPO / "annotations" / "gold.json"
FIXTURES = Path(__file__).parent / "fixtures"

TEXT = "Tajik troops clashed with Kyrgyz border guards in Batken on Monday. A truce was agreed. The ceasefire held."


def span(sid, needle, label, occurrence=1, text=TEXT):
    start = -1
    for _ in range(occurrence):
        start = text.index(needle, start + 1)
    return {"id": sid, "from_name": "label", "to_name": "text", "type": "labels",
            "value": {"start": start, "end": start + len(needle), "text": needle, "labels": [label]}}


def rel(head, tail, label):
    return {"from_id": head, "to_id": tail, "type": "relation", "direction": "right", "labels": [label]}


def good_result():
    return [
        span("T1", "Tajik troops", "ACTOR"),
        span("T2", "clashed", "CLASH"),
        span("T3", "Batken", "LOCATION"),
        span("T4", "Monday", "TIME"),
        span("T5", "truce", "CEASEFIRE"),
        span("T6", "ceasefire", "CEASEFIRE"),
        rel("T2", "T1", "participant"),
        rel("T2", "T3", "place"),
        rel("T2", "T4", "time"),
        rel("T6", "T5", "same_event"),
    ]


def task(result, text=TEXT, doc_id="doc1.txt"):
    return {"id": 7, "data": {"text": text, "doc_id": doc_id}, "annotations": [{"id": 1, "result": result}]}


def test_a_good_task_loads():
    [doc] = load_export_json([task(good_result())])
    assert (doc.doc_id, len(doc.spans), len(doc.relations)) == ("doc1.txt", 6, 4)


def _moved(result):
    result[0]["value"]["start"] += 1  # "ajik troops " no longer says "Tajik troops"
    result[0]["value"]["end"] += 1
    return result


def _unknown_label(result):
    result[1]["value"]["labels"] = ["BATTLE"]
    return result


def _dangling(result):
    return result + [rel("T2", "T9", "participant")]


def _overlap(result):
    return result + [span("T7", "troops", "ACTOR")]


def _wrong_direction(result):
    return result + [rel("T1", "T2", "participant")]


def _forward_same_event(result):
    return result[:-1] + [rel("T5", "T6", "same_event")]


BAD = [
    (_moved, "T1", "offsets"),
    (_unknown_label, "T2", "label"),
    (_dangling, "participant:T2->T9", "dangling"),
    (_overlap, "T7", "overlap"),
    (_wrong_direction, "participant:T1->T2", "relation_type"),
    (_forward_same_event, "same_event:T5->T6", "same_event"),
]


@pytest.mark.parametrize("breakage, item, rule", BAD, ids=[b[2] for b in BAD])
def test_bad_annotation_is_named_and_nothing_is_written(tmp_path, breakage, item, rule):
    bad = task(breakage(good_result()))
    with pytest.raises(AnnotationError) as caught:
        load_export_json([task(good_result(), doc_id="fine.txt"), bad], "export.json")
    assert (caught.value.task, caught.value.item, caught.value.rule) == ("doc1.txt", item, rule)
    assert "doc1.txt" in str(caught.value) and item in str(caught.value) and rule in str(caught.value)

    path = tmp_path / "bad.json"
    path.write_text(json.dumps([bad]), encoding="utf-8")
    assert any((e.task, e.item, e.rule) == ("doc1.txt", item, rule) for e in validate_export(path))

    doc = document_from_result(bad, bad["annotations"][0]["result"], "doc1.txt")
    out = tmp_path / "gold.json"
    with pytest.raises(AnnotationError):
        write_export(out, [doc])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.json"]


def test_validate_export_lists_every_error(tmp_path):
    path = tmp_path / "two.json"
    path.write_text(json.dumps([task(_overlap(_wrong_direction(good_result())))]), encoding="utf-8")
    assert {e.rule for e in validate_export(path)} == {"overlap", "relation_type"}


@pytest.mark.parametrize("text", ["", "  \n "])
def test_empty_text(tmp_path, text):
    with pytest.raises(AnnotationError) as caught:
        load_export_json([task([], text=text)])
    assert (caught.value.task, caught.value.rule) == ("doc1.txt", "empty_text")


def test_non_json_file(tmp_path):
    path = tmp_path / "notes.json"
    path.write_text("T1 CLASH clashed\n", encoding="utf-8")
    with pytest.raises(AnnotationError) as caught:
        load_export(path)
    assert (caught.value.task, caught.value.rule) == (str(path), "json")
    assert [e.rule for e in validate_export(path)] == ["json"]
    assert main(["annotations", "validate", str(path)]) == 1


def test_not_a_list_and_missing_annotation():
    with pytest.raises(AnnotationError, match="list of tasks"):
        load_export_json({"data": {}})
    with pytest.raises(AnnotationError) as caught:
        load_export_json([{"id": 3, "data": {"text": TEXT, "doc_id": "a.txt"}, "annotations": []}])
    assert (caught.value.task, caught.value.rule) == ("a.txt", "no_annotation")


def test_duplicate_doc_id():
    with pytest.raises(AnnotationError) as caught:
        load_export_json([task(good_result()), task(good_result())])
    assert (caught.value.task, caught.value.rule) == ("doc1.txt", "duplicate_doc")


def test_pick_annotation_takes_the_latest_not_cancelled():
    t = task([])
    t["annotations"] = [
        {"id": 1, "result": [], "updated_at": "2024-01-01T00:00:00Z"},
        {"id": 2, "result": good_result(), "updated_at": "2024-01-02T00:00:00Z"},
        {"id": 3, "result": [], "updated_at": "2024-01-03T00:00:00Z", "was_cancelled": True},
    ]
    assert pick_annotation(t)["id"] == 2


# ---------------------------------------------------------------- round trips


def _items(result):
    return sorted(json.dumps(i, sort_keys=True) for i in result)


def _assert_round_trip(tasks):
    docs = load_export_json(tasks)
    again = [task_from_document(d) for d in docs]
    for original, rebuilt in zip(tasks, again):
        assert rebuilt["id"] == original["id"]
        assert rebuilt["data"] == original["data"]
        assert _items(rebuilt["annotations"][0]["result"]) == _items(pick_annotation(original)["result"])
    assert load_export_json(again) == docs


def test_round_trip_of_a_label_studio_export():
    # the shape a server's JSON export has: extra keys, several annotations, prediction ids
    t = task(good_result())
    t["data"]["source"] = "Alwaght"
    t["annotations"][0].update(completed_by=1, was_cancelled=False, created_at="2024-01-02T00:00:00Z",
                               updated_at="2024-01-02T00:00:00Z", lead_time=12.5, ground_truth=False)
    t["annotations"].append({"id": 2, "result": [], "was_cancelled": True, "updated_at": "2024-01-03T00:00:00Z"})
    t.update(predictions=[4], drafts=[], meta={}, inner_id=1, total_annotations=2)
    _assert_round_trip([t])


def test_round_trip_of_the_gold():
    tasks = json.loads(GOLD.read_text(encoding="utf-8"))
    _assert_round_trip(tasks)
    assert [task_from_document(d) for d in load_export(GOLD)] == tasks  # gold.json is in canonical form


def test_round_trip_of_a_built_export(tmp_path, capsys):
    out = tmp_path / "built.json"
    args = ["annotations", "build", "--texts", str(REPO / "annotations" / "seeds"), "--ann", str(FIXTURES / "ann"),
            "--out", str(out), "--data", '{"source": "fixture"}']
    assert main(args) == 0
    tasks = json.loads(out.read_text(encoding="utf-8"))
    assert tasks[0]["data"]["source"] == "fixture"
    _assert_round_trip(tasks)
    doc = load_export(out)[0]
    assert result_from_document(doc) == tasks[0]["annotations"][0]["result"]


def test_build_reports_a_bad_article_and_builds_the_rest(tmp_path, capsys):
    texts, anns = tmp_path / "texts", tmp_path / "ann"
    texts.mkdir()
    anns.mkdir()
    for name in ("a", "b"):
        (texts / f"{name}.txt").write_text(TEXT, encoding="utf-8")
    (anns / "a.ann").write_text("T1 CLASH clashed\nT2 ACTOR Tajik troops\nR participant T1 T2\nR participant T2 T1\n",
                                encoding="utf-8")
    (anns / "b.ann").write_text("T1 CLASH clashed\nT2 ACTOR Tajik troops\nR participant T1 T2\n", encoding="utf-8")
    out = tmp_path / "out.json"
    assert main(["annotations", "build", "--texts", str(texts), "--ann", str(anns), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "[relation_type] task a.txt, item participant:T2->T1" in err and "1 article(s) rejected" in err
    assert [d.doc_id for d in load_export(out)] == ["b.txt"]


def test_build_rejects_text_copied_from_a_reference(tmp_path, capsys):
    seeds, texts, anns = tmp_path / "seeds", tmp_path / "texts", tmp_path / "ann"
    for folder in (seeds, texts, anns):
        folder.mkdir()
    (seeds / "seed.txt").write_text(TEXT, encoding="utf-8")
    (texts / "copy.txt").write_text("New intro here. " + TEXT, encoding="utf-8")
    (texts / "new.txt").write_text("Rebels and soldiers clashed near Ostrava on a cold Monday in a long gorge.",
                                   encoding="utf-8")
    for name in ("copy", "new"):
        (anns / f"{name}.ann").write_text("T1 CLASH clashed\n", encoding="utf-8")
    out = tmp_path / "out.json"
    assert main(["annotations", "build", "--texts", str(texts), "--ann", str(anns), "--out", str(out),
                 "--reject-overlap-with", str(seeds)]) == 1
    assert "[seed_overlap] task copy.txt" in capsys.readouterr().err
    assert [d.doc_id for d in load_export(out)] == ["new.txt"]


def test_documents_are_not_shared_between_round_trips():
    tasks = [task(good_result())]
    before = copy.deepcopy(tasks)
    load_export_json(tasks)
    assert tasks == before


@pytest.mark.parametrize("export", ["annotations/gold.json", "annotations/synthetic/synthetic.json",
                                    "annotations/re3d/re3d.json"])
def test_committed_corpora_pass_the_validator(export, capsys):
    from clashwatch.cli import main

    path = Path(__file__).resolve().parents[1] / export
    assert main(["annotations", "validate", str(path)]) == 0
    assert "valid" in capsys.readouterr().out


def test_stand_off_files_round_trip_through_to_ann():
    """to_ann writes what parse_ann reads back, occurrence numbers included, on every committed article."""
    from clashwatch.standoff import parse_ann, to_ann

    for doc in load_export(REPO / "annotations" / "synthetic" / "synthetic.json")[::7]:
        again = parse_ann(to_ann(doc), doc.text, doc.doc_id)
        assert [(s.id, s.start, s.end, s.label) for s in again.sorted_spans()] == \
            [(s.id, s.start, s.end, s.label) for s in doc.sorted_spans()]
        assert [(r.head, r.tail, r.label) for r in again.relations] == [(r.head, r.tail, r.label) for r in doc.relations]


def test_synthetic_export_is_built_from_every_stand_off_article():
    """synthetic.json holds exactly the articles of texts/ + ann/, with their texts (rebuilt, not edited)."""
    folder = REPO / "annotations" / "synthetic"
    docs = {d.doc_id: d for d in load_export(folder / "synthetic.json")}
    texts = {p.name: p for p in (folder / "texts").glob("syn_*.txt")}
    assert set(docs) == set(texts)
    assert {p.stem for p in (folder / "ann").glob("syn_*.ann")} == {Path(n).stem for n in texts}
    for name in list(texts)[::25]:
        assert docs[name].text == texts[name].read_text(encoding="utf-8")


def test_coverage_script_counts_dyads_once_and_by_continent():
    import importlib.util

    spec = importlib.util.spec_from_file_location("synthetic_coverage", REPO / "scripts" / "synthetic_coverage.py")
    coverage = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(coverage)
    assert coverage.dyads("Timor-Leste–Indonesia (real border)", "j") == [("Oceania", "Indonesia–Timor-Leste")]
    assert coverage.dyads("Guinea-Bissau–Senegal (real; Casamance)", "z") == [("Africa", "Guinea-Bissau–Senegal")]
    assert coverage.dyads("Bosnia and Herzegovina–Serbia", "v") == [("Europe", "Bosnia and Herzegovina–Serbia")]
    assert coverage.dyads("Marqueña–Tolvara (invented states)", "y") == [("Americas", "Marqueña–Tolvara")]
    # a stretch of a border already counted is the same dyad; mediators named with "/" are no dyad
    assert coverage.dyads("India–Pakistan LoC", "e") == coverage.dyads("Pakistan–India", "e")
    assert coverage.dyads("ELN truces (Cuba/Norway mediating)", "i") == []
    # two places on one border are not a dyad
    assert coverage.dyads("Kula–Vrbas crossing", "v") == []
