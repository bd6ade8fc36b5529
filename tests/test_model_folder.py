"""A model folder is checked at load: every file it needs is there and unaltered (manifest.json), its
config.yaml is a valid config whose max_length fits the encoder; otherwise a typed error names it."""

from __future__ import annotations

import shutil

import pytest

from clashwatch.predict import Extractor
from clashwatch.schema import ConfigError, ModelNotFoundError


@pytest.fixture
def model(random_model, tmp_path):
    return shutil.copytree(random_model, tmp_path / "model")


@pytest.mark.parametrize("name", ["tagger/tokenizer.json", "tagger/tokenizer_config.json", "tagger/model.safetensors",
                                  "tagger/config.json", "relation_head.safetensors", "event_head.safetensors",
                                  "relation_config.json", "event_config.json", "config.yaml", "manifest.json",
                                  "lexicon.json"])
def test_a_missing_file_is_named(model, name):
    (model / name).unlink()
    with pytest.raises(ModelNotFoundError, match=name.split("/")[-1]):
        Extractor.load(model, quiet=True)


@pytest.mark.parametrize("name, damage", [
    ("relation_config.json", lambda p: p.write_text("{not json")),
    ("relation_head.safetensors", lambda p: p.write_bytes(p.read_bytes()[:100])),  # truncated
    ("tagger/config.json", lambda p: p.write_text(p.read_text().replace('"B-ACTOR"', '"B-PERSON"'))),  # label map
    ("tagger/tokenizer.json", lambda p: p.write_text(p.read_text() + " ")),
])
def test_an_altered_file_is_named(model, name, damage):
    damage(model / name)
    with pytest.raises(ModelNotFoundError, match=name.split("/")[-1]):
        Extractor.load(model, quiet=True)


def test_a_typo_in_config_yaml_is_an_error_not_a_default(model):
    from clashwatch.modeling import write_manifest

    path = model / "config.yaml"
    path.write_text(path.read_text().replace("max_length", "max_lenght"))
    write_manifest(model, "minilm", lora=False)  # re-signed: the content itself is wrong
    with pytest.raises(ConfigError, match="max_lenght"):
        Extractor.load(model, quiet=True)


def test_max_length_beyond_the_encoders_positions_is_refused(model):
    from clashwatch.modeling import write_manifest

    path = model / "config.yaml"
    path.write_text(path.read_text().replace("max_length: 48", "max_length: 4096"))
    write_manifest(model, "minilm", lora=False)
    with pytest.raises(ConfigError, match="position limit of 512"):
        Extractor.load(model, quiet=True)


def test_training_refuses_a_max_length_the_encoder_cannot_take(tmp_path, monkeypatch):
    import clashwatch.modeling as modeling
    from clashwatch.config import config_from_dict
    from clashwatch.train import train

    monkeypatch.setattr(modeling, "build_tagger", lambda *a, **k: pytest.fail("a model was built"))
    config = config_from_dict({"data": {"sources": [{"path": "tests/fixtures/seed000.json"}], "max_length": 4096}})
    with pytest.raises(ConfigError, match="position limit of 512"):
        train(config, tmp_path / "m")


def test_loading_prints_one_line_and_no_load_report(random_model, capsys):
    Extractor.load(random_model)
    err = capsys.readouterr().err
    assert "LOAD REPORT" not in err and "MISSING" not in err
    assert len(err.strip().splitlines()) == 1 and "base encoder minilm" in err
