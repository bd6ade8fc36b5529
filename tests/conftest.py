"""Shared fixtures: the one-article fixture corpus and a tiny model trained once per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests never reach a hub
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def fixture_export() -> Path:
    """A Label Studio export of one seed article (built from tests/fixtures/ann by `annotations build`)."""
    return FIXTURES / "seed000.json"


@pytest.fixture(scope="session")
def fixture_doc(fixture_export):
    from clashwatch.corpus import load_export

    return load_export(fixture_export)[0]


@pytest.fixture(scope="session")
def tiny_config():
    from clashwatch.config import load_config

    return load_config(REPO / "train" / "tiny.yaml")


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory, tiny_config, fixture_doc) -> Path:
    """train/tiny.yaml trained once on the fixture article; a `models/NAME/` folder."""
    from clashwatch.train import train

    return train(tiny_config, tmp_path_factory.mktemp("models") / "tiny", docs=[fixture_doc])


@pytest.fixture(scope="session")
def tiny_extractor(tiny_model):
    from clashwatch.predict import Extractor

    return Extractor.load(tiny_model)


def save_random_model(out: Path, *, hidden: int = 64, max_length: int = 48, stride: int = 12) -> Path:
    """A small random model folder of the full format (tagger, both heads, config.yaml, manifest): no
    training, so its tags are arbitrary but plentiful, which is what equality and corruption checks want."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForTokenClassification

    from clashwatch.data import ID2LABEL, LABEL2ID
    from clashwatch.encoders import resolve_base_model
    from clashwatch.grouping import N_FEATURES
    from clashwatch.lexicon import Lexicon
    from clashwatch.modeling import EventHead, JointModel, RelationHead, save_model, write_manifest

    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(resolve_base_model("minilm"), local_files_only=True)
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=hidden, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=2 * hidden, num_labels=len(ID2LABEL), id2label=dict(ID2LABEL),
                        label2id=dict(LABEL2ID))
    tagger = BertForTokenClassification(config)
    with torch.no_grad():  # clear margins between tags, so float noise cannot flip an argmax
        tagger.classifier.weight.mul_(40)
    model = JointModel(tagger, RelationHead(hidden, hidden_dim=32), EventHead(hidden, N_FEATURES, hidden_dim=32))
    save_model(model, tokenizer, out, "minilm")
    Lexicon().save(out)
    (out / "config.yaml").write_text("base_model: minilm\ndata:\n  sources: [{path: annotations/gold.json}]\n"
                                     f"  max_length: {max_length}\n  stride: {stride}\n", encoding="utf-8")
    write_manifest(out, "minilm", lora=False)
    return out


@pytest.fixture(scope="module")
def random_model(tmp_path_factory) -> Path:
    return save_random_model(tmp_path_factory.mktemp("models") / "random")
