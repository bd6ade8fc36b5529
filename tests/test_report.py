"""The evaluation report (baseline alone, fast; a tiny model, slow) and cross-validation bookkeeping."""

import json
import shutil
from pathlib import Path

import pytest

from clashwatch import crossval as cv
from clashwatch.corpus import load_export
from clashwatch.scoring import EvaluationError
from clashwatch.report import evaluate
from clashwatch.schema import AnnotationError

ROOT = Path(__file__).resolve().parents[1]
GOLD = ROOT / "tests" / "fixtures" / "seed000.json"
SECTIONS = ["Headline metrics", "Model card", "Spans per label", "Relations per label", "Triggers and arguments",
            "Event records", "Confusion matrix", "Errors", "Cross-validation"]
PLOTS = ["span_f1.png", "relation_f1.png", "confusion.png"]


def check_report(out: Path, systems: list[str]) -> dict:
    md = (out / "report.md").read_text(encoding="utf-8")
    page = (out / "report.html").read_text(encoding="utf-8")
    for section in SECTIONS:
        assert f"## {section}" in md and f"<h2>{section}" in page, section
    for plot in PLOTS:
        assert (out / plot).stat().st_size > 1000
        assert f"({plot})" in md and f'src="{plot}"' in page
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert list(metrics["systems"]) == systems
    for system in systems:
        assert set(metrics["systems"][system]["headline"]) == set(cv.HEADLINE)
    return metrics


def test_baseline_report_has_every_section(tmp_path):
    out = evaluate(GOLD, None, tmp_path / "r", crossval_path=None)
    metrics = check_report(out, ["baseline"])
    assert metrics["systems"]["baseline"]["headline"]["char_span_f1"] > 0.5
    assert metrics["confusion"]["KILLED"]["KILLED"] >= 1
    assert "Not run yet" in (out / "report.md").read_text(encoding="utf-8")


def test_invalid_gold_fails_before_writing(tmp_path):
    bad = json.loads(GOLD.read_text(encoding="utf-8"))
    bad[0]["annotations"][0]["result"][0]["value"]["start"] += 1  # text no longer matches the offsets
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad), encoding="utf-8")
    with pytest.raises(AnnotationError):
        evaluate(path, None, tmp_path / "r", crossval_path=None)
    assert not (tmp_path / "r").exists()


def test_model_with_other_labels_fails_before_scoring(tmp_path):
    model = tmp_path / "model"
    (model / "tagger").mkdir(parents=True)
    (model / "tagger" / "config.json").write_text(json.dumps({"id2label": {"0": "O", "1": "B-PER", "2": "I-PER"}}))
    (model / "relation_config.json").write_text(json.dumps({"relation_classes": ["none", "place"]}))
    with pytest.raises(EvaluationError, match="span labels"):
        evaluate(GOLD, model, tmp_path / "r", crossval_path=None)
    assert not (tmp_path / "r").exists()


def test_crossval_keeps_going_after_a_failed_fold_and_merges_into_the_report(tmp_path, monkeypatch):
    docs = load_export(GOLD)
    three = []
    for n in range(3):  # three copies of the seed under other ids
        d = load_export(GOLD)[0]
        d.doc_id = f"doc{n}"
        three.append(d)
    calls = []

    def fake_fold(config, train_docs, held_out):
        calls.append((config.augment.enabled, len(train_docs), held_out.doc_id))
        if held_out.doc_id == "doc1" and config.augment.enabled:
            raise RuntimeError("boom")
        f1 = 0.2 * len(train_docs)
        return {"headline": {m: f1 for m in cv.HEADLINE}, "seconds": 0.0}

    monkeypatch.setattr(cv, "run_fold", fake_fold)
    monkeypatch.setattr(cv, "gold_documents", lambda config, gold_path=None: three)
    out = cv.crossval(ROOT / "train" / "tiny.yaml", variants=["seeds", "seeds+aug"], out_dir=tmp_path / "cv",
                      progress=False)
    state = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert len(calls) == 3 + 3 + 3  # two variants x 3 folds, learning curve at 1 document x 3 folds
    assert state["summary"]["seeds"]["folds"] == 3
    assert state["summary"]["seeds+aug"] == {**state["summary"]["seeds+aug"], "folds": 2, "failed": 1}
    assert state["summary"]["seeds"]["span_f1_strict"]["mean"] == pytest.approx(0.4)
    assert [f for f in state["folds"] if f.get("error")][0]["error"] == "RuntimeError: boom"
    assert state["curve_summary"]["1"]["span_f1_strict"]["mean"] == pytest.approx(0.2)
    assert state["curve_summary"]["2"]["span_f1_strict"]["mean"] == pytest.approx(0.4)
    for plot in ("crossval_variants.png", "learning_curve.png"):
        assert (out / plot).exists()
    assert "Failed folds" in (out / "report.md").read_text(encoding="utf-8")

    report = evaluate(GOLD, None, tmp_path / "r", crossval_path=out / "metrics.json")
    md = (report / "report.md").read_text(encoding="utf-8")
    assert "seeds+aug" in md and "0.400 ± 0.000" in md and "(learning_curve.png)" in md
    assert (report / "learning_curve.png").exists()
    assert json.loads((report / "metrics.json").read_text())["crossval"]["seeds"]["folds"] == 3
    assert docs  # the fixture itself is valid


def test_crossval_can_hold_out_a_subset_of_the_documents(tmp_path, monkeypatch):
    docs = []
    for n in range(4):
        d = load_export(GOLD)[0]
        d.doc_id = f"doc{n}"
        docs.append(d)
    held = []
    monkeypatch.setattr(cv, "run_fold", lambda config, train_docs, held_out: (
        held.append((held_out.doc_id, [d.doc_id for d in train_docs])) or {"headline": {}, "seconds": 0.0}))
    monkeypatch.setattr(cv, "gold_documents", lambda config, gold_path=None: docs)
    cv.crossval(ROOT / "train" / "tiny.yaml", variants=["seeds"], out_dir=tmp_path / "cv", curve=False,
                held_out=[3, 1], progress=False)
    assert held == [("doc1", ["doc0", "doc2", "doc3"]), ("doc3", ["doc0", "doc1", "doc2"])]
    with pytest.raises(cv.ConfigError, match="held-out"):
        cv.crossval(ROOT / "train" / "tiny.yaml", variants=["seeds"], out_dir=tmp_path / "cv2", curve=False,
                    held_out=[4], progress=False)
    assert not (tmp_path / "cv2").exists()


def test_variant_configs_are_overrides():
    base = cv.load_config(ROOT / "train" / "tiny.yaml")
    seeds, aug, syn, re3d, full = (cv.variant_config(base, v) for v in cv.VARIANTS)
    assert not seeds.augment.enabled and aug.augment.enabled
    assert [s.gold for s in syn.data.sources] == [True, False] and len(aug.data.sources) == 1
    assert re3d.data.intermediate is not None and syn.data.intermediate is None
    assert full.data.intermediate is not None and len(full.data.sources) == 2
    with pytest.raises(cv.ConfigError):
        cv.variant_config(base, "nope")


@pytest.mark.slow
def test_report_from_a_tiny_model(tiny_model, tmp_path):  # tiny_model: the session fixture of conftest.py
    out = evaluate(GOLD, tiny_model, tmp_path / "r", crossval_path=None)
    metrics = check_report(out, [Path(tiny_model).name, "baseline"])
    card = metrics["model_card"]
    assert card["base_model"] and card["commit"] and card["data_hashes"]
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "base_model" in md and "No model folder given" not in md
    shutil.rmtree(out)


def test_report_warns_when_the_gold_was_training_data(tiny_model, fixture_export, tmp_path):
    from clashwatch.report import evaluate

    out = evaluate(fixture_export, tiny_model, tmp_path / "report", crossval_path=None)
    assert "was part of the model's training data" in (out / "report.md").read_text(encoding="utf-8")
