"""The shipped recipes start: gpu.yaml (MPNet, full fine-tune) and default.yaml (MPNet + LoRA) each run a
step on this CPU with a tiny override of their data; the LoRA model folder reloads to the same outputs."""

from __future__ import annotations

from pathlib import Path

import pytest

from clashwatch.config import load_config

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow
TINY = {"data": {"sources": [{"path": "tests/fixtures/seed000.json"}], "intermediate": None, "max_length": 64,
                 "stride": 16},
        "augment": {"enabled": False}, "training": {"max_steps": 1, "batch_size": 2, "event_head": {"epochs": 1}}}


def test_the_gpu_recipe_starts_training(tmp_path):
    import json

    from clashwatch.train import train

    config = load_config(REPO / "train" / "gpu.yaml", TINY)
    assert config.base_model == "mpnet" and config.training.lora is None
    out = train(config, tmp_path / "gpu")
    info = json.loads((out / "training.json").read_text())
    assert info["steps"] == 1 and info["format"] == "full" and info["base_model"] == "mpnet"


def test_a_lora_model_folder_reloads_to_the_same_outputs(tmp_path, fixture_doc):
    import json

    import torch

    from clashwatch.predict import Extractor
    from clashwatch.train import train

    config = load_config(REPO / "train" / "default.yaml", {**TINY, "training": {**TINY["training"], "max_steps": 2}})
    out = train(config, tmp_path / "lora")
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["format"] == "lora" and "tagger/model.safetensors" not in manifest["files"]
    assert sum(f["bytes"] for f in manifest["files"].values()) < 10 * 2**20
    first, second = Extractor.load(out, quiet=True), Extractor.load(out, quiet=True)
    ids = first.tokenizer("Border guards exchanged fire near Osh.", return_tensors="pt")
    with torch.no_grad():
        a = first.model.encode(ids["input_ids"], ids["attention_mask"])[0]
        b = second.model.encode(ids["input_ids"], ids["attention_mask"])[0]
    assert torch.allclose(a, b)
    # the merged weights differ from the bare encoder's: the adapters were applied
    from clashwatch.encoders import resolve_base_model
    from clashwatch.modeling import build_tagger

    bare = build_tagger(resolve_base_model("mpnet"))
    name = next(n for n, _ in bare.named_parameters() if "attention" in n and n.endswith("q.weight"))
    assert not torch.equal(dict(bare.named_parameters())[name], dict(first.model.tagger.named_parameters())[name])
