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
