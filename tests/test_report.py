"""The evaluation report (baseline alone, fast; a tiny model, slow) and cross-validation bookkeeping."""

import copy
import json
import shutil
from pathlib import Path

import pytest

from clashwatch import crossval as cv
from clashwatch.corpus import load_export
from clashwatch.scoring import EvaluationError
from clashwatch.report import evaluate
from clashwatch.schema import AnnotationError, Span

ROOT = Path(__file__).resolve().parents[1]
GOLD = ROOT / "tests" / "fixtures" / "seed000.json"
SECTIONS = ["Headline metrics", "Event records (what an analyst reads)", "Model card", "Spans per label",
            "Relations per label", "Triggers and arguments", "Event records", "Confusion matrix", "Errors",
            "Cross-validation"]
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


def test_model_with_other_labels_fails_before_scoring(tmp_path, random_model):
    from clashwatch.modeling import write_manifest

    model = shutil.copytree(random_model, tmp_path / "model")
    config = json.loads((model / "tagger" / "config.json").read_text())
    config["id2label"] = {"0": "O", "1": "B-PER", "2": "I-PER"}
    (model / "tagger" / "config.json").write_text(json.dumps(config))
    write_manifest(model, "minilm", lora=False)
    with pytest.raises(EvaluationError, match="span labels"):
        evaluate(GOLD, model, tmp_path / "r", crossval_path=None)
    assert not (tmp_path / "r").exists()


def test_synthetic_documents_are_refused_as_gold(tmp_path):
    synthetic = ROOT / "annotations" / "synthetic" / "synthetic.json"
    with pytest.raises(cv.ConfigError, match="never evaluation gold"):
        evaluate(synthetic, None, tmp_path / "r", crossval_path=None)
    with pytest.raises(cv.ConfigError, match="never evaluation gold"):
        cv.crossval(ROOT / "train" / "tiny.yaml", variants=["seeds"], gold_path=synthetic, out_dir=tmp_path / "cv",
                    progress=False)
    assert not (tmp_path / "r").exists() and not (tmp_path / "cv").exists()


def _fold_result(f1: float) -> dict:
    records = {m: {"f1": f1, "tp": 1, "fp": 0, "fn": 0} for m in cv.RECORD_METRICS}
    readout = {"headline": {m: f1 for m in cv.METRICS}, "records": {**records, "predicted_records": 1,
                                                                   "gold_records": 1}}
    return {"readouts": {r: readout for r in cv.READOUTS}, "seconds": 0.0}


def _copies(n):
    out = []
    for k in range(n):  # copies of the seed under other ids
        d = load_export(GOLD)[0]
        d.doc_id = f"doc{k}"
        out.append(d)
    return out


def test_crossval_keeps_going_after_a_failed_fold_and_merges_into_the_report(tmp_path, monkeypatch):
    three = _copies(3)
    calls = []

    def fake_fold(config, train_docs, held_out, *where):
        calls.append((config.augment.enabled, len(train_docs), held_out.doc_id))
        if held_out.doc_id == "doc1" and config.augment.enabled:
            raise RuntimeError("boom")
        return _fold_result({"doc0": 0.2, "doc1": 0.4, "doc2": 0.6}[held_out.doc_id])

    monkeypatch.setattr(cv, "run_fold", fake_fold)
    monkeypatch.setattr(cv, "gold_documents", lambda config, gold_path=None: three)
    monkeypatch.setattr(cv, "synthetic_subset", lambda config, n, folder, seed=0: config)
    out = cv.crossval(ROOT / "train" / "tiny.yaml", variants=["seeds", "seeds+aug"], out_dir=tmp_path / "cv",
                      curve_sizes=[0, 30], progress=False)
    state = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert len(calls) == 3 + 3 + 6  # two variants x 3 folds, the curve at 0 and 30 synthetic articles x 3 folds
    seeds = state["summary"]["seeds / learned"]
    assert seeds["folds"] == 3 and seeds["span_f1_strict"]["mean"] == pytest.approx(0.4)
    assert seeds["span_f1_strict"]["std"] == pytest.approx(0.2)  # the sample std (the population std is 0.163)
    assert state["summary"]["seeds+aug / prior"]["folds"] == 2 and state["summary"]["seeds+aug / prior"]["failed"] == 1
    baseline = state["baseline"]["doc0"]["headline"]["span_f1_strict"]
    paired = seeds["span_f1_strict"]["vs_baseline"]
    assert paired["mean"] == pytest.approx(0.4 - baseline)  # the three copies share one baseline score
    assert paired["ci95"][0] < paired["mean"] < paired["ci95"][1]
    assert [f for f in state["folds"] if f.get("error")][0]["error"] == "RuntimeError: boom"
    assert state["curve_summary"]["30"]["folds"] == 2  # doc1 fails with augmentation on, as above
    for plot in ("crossval_variants.png", "learning_curve.png"):
        assert (out / plot).exists()
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "Paired differences to the lexicon baseline" in md and "lexicon baseline" in md
    # every record metric: the per-article mean (0.2, 0.4, 0.6) and the pooled F1 (tp 3, fp 0, fn 0)
    assert "| seeds / learned | 3 | 0.400 / 1.000 (" in md and "| seeds+aug / prior | 2 |" in md

    report = evaluate(GOLD, None, tmp_path / "r", crossval_path=out / "metrics.json")
    md = (report / "report.md").read_text(encoding="utf-8")
    assert "seeds+aug / learned" in md and "0.400 ± 0.200" in md and "(learning_curve.png)" in md
    assert (report / "learning_curve.png").exists()
    assert json.loads((report / "metrics.json").read_text())["crossval"]["seeds / learned"]["folds"] == 3


def test_crossval_can_hold_out_a_subset_of_the_documents(tmp_path, monkeypatch):
    docs = _copies(4)
    held = []
    monkeypatch.setattr(cv, "run_fold", lambda config, train_docs, held_out, *where: (
        held.append((held_out.doc_id, [d.doc_id for d in train_docs])) or _fold_result(0.5)))
    monkeypatch.setattr(cv, "gold_documents", lambda config, gold_path=None: docs)
    cv.crossval(ROOT / "train" / "tiny.yaml", variants=["seeds"], out_dir=tmp_path / "cv", held_out=[3, 1],
                progress=False)
    assert held == [("doc1", ["doc0", "doc2", "doc3"]), ("doc3", ["doc0", "doc1", "doc2"])]
    with pytest.raises(cv.ConfigError, match="held-out"):
        cv.crossval(ROOT / "train" / "tiny.yaml", variants=["seeds"], out_dir=tmp_path / "cv2", held_out=[4],
                    progress=False)
    assert not (tmp_path / "cv2").exists()


def test_the_synthetic_curve_samples_nested_subsets(tmp_path):
    base = cv.variant_config(cv.load_config(ROOT / "train" / "fast.yaml"), "+synthetic")
    small, large = (cv.synthetic_subset(base, n, tmp_path) for n in (10, 30))
    ids = [[d.doc_id for d in load_export(c.data.sources[-1].path)] for c in (small, large)]
    assert len(ids[0]) == 10 and len(ids[1]) == 30 and ids[1][:10] == ids[0]
    none = cv.synthetic_subset(base, 0, tmp_path)
    assert [s.gold for s in none.data.sources] == [True] and none.training.max_steps == base.training.max_steps


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
    assert card["base_model"] and card["commit"] and card["data_hashes"] and card["gold_in_training_data"] == [
        "seed000.txt"] or card["gold_in_training_data"]
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "base_model" in md and "No model folder given" not in md
    shutil.rmtree(out)


def test_report_warns_when_a_gold_document_was_training_data(tiny_model, fixture_doc, tmp_path):
    """Per document, by its text: the training article inside another file, beside an unseen one."""
    from clashwatch.corpus import write_export

    other = load_export(ROOT / "annotations" / "gold.json")[1]
    renamed = copy.deepcopy(fixture_doc)  # the fixture is shared by the whole session
    renamed.doc_id = "renamed.txt"
    path = tmp_path / "mixed.json"
    write_export(path, [other, renamed])
    out = evaluate(path, tiny_model, tmp_path / "report", crossval_path=None)
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "1 of these 2 gold documents were part of the model's training data (renamed.txt)" in md


def test_a_fold_writes_its_predictions_and_a_kept_model_is_scored_again_without_training(tmp_path, monkeypatch):
    import clashwatch.train as train_module

    gold = load_export(GOLD)[0]
    trained = []

    def fake_train(config, out_dir, docs=None):
        trained.append(out_dir)
        Path(out_dir).mkdir(parents=True)
        (Path(out_dir) / "manifest.json").write_text("{}")
        (Path(out_dir) / "training.json").write_text(json.dumps(
            {"time": {"train_seconds": 412.5}, "data": {"sources": [
                {"path": "(docs given to train())", "documents": 4},
                {"path": "annotations/synthetic/synthetic.json", "documents": 350}]}}))
        return Path(out_dir)

    monkeypatch.setattr(train_module, "train", fake_train)
    broken = copy.deepcopy(gold)  # the greedy readout may break the spec's rules: written all the same
    cut = broken.text.index("\n")
    broken.spans.append(Span("X", cut - 3, cut + 4, "ACTOR", broken.text[cut - 3 : cut + 4]))
    monkeypatch.setattr(cv, "readout_predictions", lambda model_dir, held_out: {"learned": held_out, "greedy": broken})
    keep = tmp_path / "models" / "fold0"
    first = cv.run_fold(None, [], gold, tmp_path / "pred", keep)
    again = cv.run_fold(None, [], gold, tmp_path / "pred2", keep, reuse=True)
    assert trained == [keep] and "reused_model" in again and "reused_model" not in first
    assert again["seconds"] == 412.5  # the kept model's training time, not the seconds of scoring it again
    assert again["extra_documents"] == first["extra_documents"] == 350  # what it read, whatever the corpus is now
    assert first["readouts"]["learned"]["headline"]["span_f1_strict"] == 1.0  # the gold scored against itself
    assert load_export(tmp_path / "pred2" / "learned.json")[0].text == gold.text
    assert len(json.loads((tmp_path / "pred2" / "greedy.json").read_text())[0]["annotations"][0]["result"]) > 0
    with pytest.raises(cv.ConfigError, match="--keep-models"):
        cv.crossval(ROOT / "train" / "tiny.yaml", reuse_models=True, out_dir=tmp_path / "cv", progress=False)


def test_merged_curve_puts_each_all_point_at_the_corpus_size_it_trained_on(tmp_path, monkeypatch):
    """A curve run after the corpus grew, merged with an older +synthetic run: the older run's folds are
    the point at its own corpus size (recorded per fold; for older metrics, its run's synthetic_total)."""
    docs = _copies(2)
    monkeypatch.setattr(cv, "run_fold", lambda config, train_docs, held_out, *where: _fold_result(0.5))
    monkeypatch.setattr(cv, "gold_documents", lambda config, gold_path=None: docs)
    monkeypatch.setattr(cv, "synthetic_subset", lambda config, n, folder, seed=0: config)
    older = cv.crossval(ROOT / "train" / "tiny.yaml", variants=["+synthetic"], out_dir=tmp_path / "old", progress=False)
    curve = cv.crossval(ROOT / "train" / "tiny.yaml", variants=[], out_dir=tmp_path / "new", curve_sizes=[0],
                        progress=False)
    old_state = json.loads((older / "metrics.json").read_text(encoding="utf-8"))
    size = old_state["synthetic_total"]
    assert size and {f["synthetic"] for f in old_state["folds"]} == {size}
    new_state = json.loads((curve / "metrics.json").read_text(encoding="utf-8"))
    new_state["synthetic_total"] = size + 120  # the corpus grew before the curve ran
    (curve / "metrics.json").write_text(json.dumps(new_state), encoding="utf-8")
    for legacy in (False, True):
        if legacy:  # metrics written before folds recorded their corpus size
            for f in old_state["folds"]:
                f.pop("synthetic")
            (older / "metrics.json").write_text(json.dumps(old_state), encoding="utf-8")
        merged = cv.merge_results([curve / "metrics.json", older / "metrics.json"], tmp_path / f"m{legacy}")
        state = json.loads((merged / "metrics.json").read_text(encoding="utf-8"))
        assert sorted(state["curve_summary"], key=int) == ["0", str(size)]
    # two +synthetic runs on corpora of different sizes: one row each in the variants table, not one mixed row
    grown = json.loads((older / "metrics.json").read_text(encoding="utf-8"))
    for f in grown["folds"]:
        f["synthetic"] = size + 120
    (tmp_path / "grown.json").write_text(json.dumps(grown), encoding="utf-8")
    old_state["folds"] = [{**f, "synthetic": size} for f in old_state["folds"]]
    (older / "metrics.json").write_text(json.dumps(old_state), encoding="utf-8")
    state = json.loads((cv.merge_results([older / "metrics.json", tmp_path / "grown.json"], tmp_path / "both")
                        / "metrics.json").read_text(encoding="utf-8"))
    rows = {k: s["folds"] for k, s in state["summary"].items() if k.endswith("/ learned")}
    assert rows == {f"+synthetic ({size} synthetic) / learned": 2, f"+synthetic ({size + 120} synthetic) / learned": 2}
