"""The tiny config overfits one article: the tagger recovers >= 90% of its gold spans and the relation
model >= 90% of its gold relations given gold spans; an untrained model does not."""

from __future__ import annotations

import json

import pytest

from clashwatch.data import tokenize_document
from clashwatch.train import fit_check

pytestmark = pytest.mark.slow


def _recall(extractor, doc):
    return fit_check(extractor, [doc])


def test_tiny_model_overfits_one_article(tiny_extractor, fixture_doc):
    metrics = _recall(tiny_extractor, fixture_doc)
    assert metrics["spans"]["recall"] >= 0.9, metrics["spans"]
    assert metrics["relations_given_gold_spans"]["recall"] >= 0.9, metrics["relations_given_gold_spans"]


def test_untrained_model_fails_the_same_check(tiny_config, fixture_doc):
    import torch

    from clashwatch.encoders import resolve_base_model
    from clashwatch.modeling import JointModel, RelationHead, build_tagger, load_tokenizer
    from clashwatch.predict import Extractor

    torch.manual_seed(0)
    base = resolve_base_model(tiny_config.base_model)
    tagger, tokenizer = build_tagger(base), load_tokenizer(base)
    model = JointModel(tagger, RelationHead(tagger.config.hidden_size))
    extractor = Extractor(model, tokenizer, max_length=128, stride=32, grouping="prior")
    metrics = _recall(extractor, fixture_doc)
    assert metrics["spans"]["recall"] < 0.9 or metrics["relations_given_gold_spans"]["recall"] < 0.9


def test_model_folder_layout(tiny_model):
    from transformers import AutoConfig

    names = ("tagger/config.json", "tagger/model.safetensors", "tagger/tokenizer.json", "relation_head.safetensors",
             "relation_config.json", "event_head.safetensors", "event_config.json", "config.yaml", "training.json",
             "README.md", "train_log.jsonl", "manifest.json", "lexicon.json")
    for name in names:
        assert (tiny_model / name).exists(), name
    manifest = json.loads((tiny_model / "manifest.json").read_text())
    assert manifest["format"] == "full" and set(names) - {"manifest.json"} <= set(manifest["files"])
    config = AutoConfig.from_pretrained(tiny_model / "tagger", local_files_only=True)
    assert config.id2label[0] == "O" and len(config.id2label) == 19
    info = json.loads((tiny_model / "training.json").read_text())
    assert info["data"]["sources"][0]["sha256"] and "git_commit" in info
    assert info["metrics"]["final"]["spans"]["f1"] > 0
    steps = [json.loads(line) for line in (tiny_model / "train_log.jsonl").read_text().splitlines()]
    assert len([s for s in steps if s["stage"] == "joint"]) == 60 and "check" in steps[-1]
    assert info["metrics"]["event_head"]["pairs"] > 0


def test_stock_pipeline_reads_the_tagger(tiny_model, fixture_doc):
    """A plain transformers pipeline on tagger/ finds the article's own spans: the checkpoint and its
    label map stand alone."""
    from transformers import pipeline

    from clashwatch.validate import sentence_bounds

    tagger = pipeline("token-classification", model=str(tiny_model / "tagger"), device="cpu",
                      aggregation_strategy="first")
    start, end = max(sentence_bounds(fixture_doc.text), key=lambda b: sum(b[0] <= s.start < b[1] for s in fixture_doc.spans))
    gold = {(s.text.lower(), s.label) for s in fixture_doc.spans if start <= s.start < end}
    found = {(e["word"].lower(), e["entity_group"]) for e in tagger(fixture_doc.text[start:end])}
    assert len(gold & found) >= len(gold) // 2, (gold, found)


def test_training_is_deterministic(tmp_path, tiny_config, fixture_doc):
    import torch
    from safetensors.torch import load_file

    from clashwatch.config import load_config
    from clashwatch.train import train

    short = tiny_config.model_copy(update={"training": tiny_config.training.model_copy(update={"max_steps": 2})})
    a = train(short, tmp_path / "a", docs=[fixture_doc])
    b = train(short, tmp_path / "b", docs=[fixture_doc])
    wa, wb = load_file(str(a / "relation_head.safetensors")), load_file(str(b / "relation_head.safetensors"))
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    assert load_config(a / "config.yaml").training.max_steps == 2  # the config used, loadable again


def test_a_failed_run_leaves_the_previous_model_untouched(tmp_path, tiny_config, fixture_doc, monkeypatch):
    import clashwatch.train as train_module

    out = tmp_path / "models" / "tiny"
    out.mkdir(parents=True)
    (out / "training.json").write_text('{"previous": true}', encoding="utf-8")

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(train_module, "build_dataset", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        train_module.train(tiny_config, out, docs=[fixture_doc])
    assert (out / "training.json").read_text(encoding="utf-8") == '{"previous": true}'
    assert sorted(p.name for p in out.iterdir()) == ["training.json"]


def test_replace_dir_swaps_a_finished_folder_in(tmp_path):
    from clashwatch.train import replace_dir

    (tmp_path / "new").mkdir()
    (tmp_path / "new" / "a").write_text("new")
    (tmp_path / "dst").mkdir()
    (tmp_path / "dst" / "a").write_text("old")
    replace_dir(tmp_path / "new", tmp_path / "dst")
    assert (tmp_path / "dst" / "a").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dst"]


def test_only_sources_marked_augment_are_augmented(tmp_path, tiny_config, fixture_doc, monkeypatch):
    import clashwatch.augment as augment_module
    import clashwatch.train as train_module

    from clashwatch.config import config_from_dict

    obj = tiny_config.model_dump(mode="json")
    obj["data"]["sources"] = [{"path": "tests/fixtures/seed000.json", "gold": True},
                              {"path": "tests/fixtures/seed000.json", "gold": False, "augment": False, "weight": 0.5}]
    obj["augment"].update(enabled=True, substitution=False)
    config = config_from_dict(obj, "test")
    augmented = []
    monkeypatch.setattr(augment_module, "augment_documents", lambda ds, *a: augmented.append(ds) or [])

    def stop(*args, **kwargs):
        raise RuntimeError("data built")

    monkeypatch.setattr(train_module, "build_dataset", stop)
    for docs in (None, [fixture_doc]):  # the config's gold file, then docs given to train() in its place
        augmented.clear()
        with pytest.raises(RuntimeError, match="data built"):
            train_module.train(config, tmp_path / "m", docs=docs)
        assert [[d.doc_id for d in ds] for ds in augmented] == [[fixture_doc.doc_id]]
