"""The shipped default model (models/default, in git): small, complete, described, and it extracts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
MODEL = REPO / "models" / "default"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def extractor():
    from clashwatch.predict import Extractor

    return Extractor.load(quiet=True)  # no path: the default model


def test_it_holds_only_what_the_base_encoders_package_lacks():
    manifest = json.loads((MODEL / "manifest.json").read_text())
    assert manifest["format"] == "lora" and manifest["base_model"] == "mpnet"
    total = sum(f["bytes"] for f in manifest["files"].values())
    assert total <= 10 * 2**20, f"{total / 2**20:.1f} MB"
    assert "tagger/model.safetensors" not in manifest["files"]  # the encoder's weights come from its package
    for name in ("tagger/adapter_model.safetensors", "tagger/adapter_config.json", "tagger/config.json",
                 "tagger/tokenizer.json", "relation_head.safetensors", "event_head.safetensors", "README.md",
                 "training.json", "config.yaml"):
        assert name in manifest["files"], name


def test_its_card_label_maps_and_training_record(extractor):
    from clashwatch.data import ID2LABEL
    from clashwatch.schema import RELATION_LABELS

    config = json.loads((MODEL / "tagger" / "config.json").read_text())
    assert {int(k): v for k, v in config["id2label"].items()} == ID2LABEL
    rel = json.loads((MODEL / "relation_config.json").read_text())
    assert rel["relation_classes"][1:] == list(RELATION_LABELS)
    info = json.loads((MODEL / "training.json").read_text())
    assert info["base_model"] == "mpnet" and info["format"] == "lora"
    assert all(s["sha256"] and s["documents"] for s in info["data"]["sources"])
    assert len(info["data"]["text_sha256"]) == sum(s["documents"] for s in info["data"]["sources"])
    card = (MODEL / "README.md").read_text()
    assert "LoRA adapters" in card and "mpnet" in card
    assert extractor.name == "default"


def test_it_extracts_the_sample_articles_events(extractor):
    text = (REPO / "annotations" / "samples" / "sample_article.txt").read_text(encoding="utf-8")
    result = extractor.extract(text, published="2026-11-20")
    types = [e.event_type for e in result.events]
    assert "armed_clash" in types and "ceasefire" in types
    clash = next(e for e in result.events if e.event_type == "armed_clash")
    assert clash.killed and clash.locations and clash.actors
    assert all(text[s.start : s.end] == s.text for s in result.spans)
