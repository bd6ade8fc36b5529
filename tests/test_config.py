"""Training configs: typed, validated, unknown keys rejected; bad inputs fail before training."""

from __future__ import annotations

from pathlib import Path

import pytest

from clashwatch.config import config_from_dict, load_config
from clashwatch.schema import AnnotationError, ConfigError, ModelNotFoundError

REPO = Path(__file__).resolve().parents[1]
MINIMAL = {"data": {"sources": [{"path": "tests/fixtures/seed000.json"}]}}


@pytest.mark.parametrize("name", ["default", "default-minilm", "default-full", "fast", "gpu", "gpu-minilm", "crossval", "tiny"])
def test_shipped_configs_validate(name):
    config = load_config(REPO / "train" / f"{name}.yaml")
    assert config.data.sources


def test_unknown_key_is_rejected():
    with pytest.raises(ConfigError, match="learning_rate"):
        config_from_dict({**MINIMAL, "training": {"learning_rate": 1e-4}})
    with pytest.raises(ConfigError, match="colour: Extra inputs"):
        config_from_dict({**MINIMAL, "colour": "blue"})


def test_wrong_type_is_rejected():
    with pytest.raises(ConfigError, match="training.max_steps"):
        config_from_dict({**MINIMAL, "training": {"max_steps": "many"}})
    with pytest.raises(ConfigError, match="weight"):
        config_from_dict({"data": {"sources": [{"path": "x.json", "weight": -1}]}})
    with pytest.raises(ConfigError, match="sources"):
        config_from_dict({"data": {"sources": []}})


def test_stride_must_fit_the_window():
    with pytest.raises(ConfigError, match="stride"):
        config_from_dict({"data": {**MINIMAL["data"], "max_length": 64, "stride": 60}})


def test_yaml_errors(tmp_path):
    with pytest.raises(ConfigError, match="no such config"):
        load_config(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("data: [unclosed\n")
    with pytest.raises(ConfigError, match="YAML"):
        load_config(bad)
    bad.write_text("- a list\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_config(bad)


def test_overrides_merge():
    config = load_config(REPO / "train" / "tiny.yaml", {"training": {"max_steps": 1}})
    assert config.training.max_steps == 1 and config.data.max_length == 128


def test_bad_inputs_fail_before_training(tmp_path, monkeypatch):
    import clashwatch.modeling as modeling
    from clashwatch.train import train

    def no_model(*a, **k):
        raise AssertionError("a model was built before the inputs were checked")

    monkeypatch.setattr(modeling, "build_tagger", no_model)
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        train(config_from_dict({**MINIMAL, "base_model": str(tmp_path / "nowhere")}), tmp_path / "m")
    bad_gold = tmp_path / "bad.json"
    bad_gold.write_text('[{"data": {"text": "Clashes."}, "annotations": [{"result": [{"type": "labels", "id": "a", '
                        '"value": {"start": 0, "end": 3, "text": "Cla", "labels": ["NOPE"]}}]}]}]')
    with pytest.raises(AnnotationError):
        train(config_from_dict({"data": {"sources": [{"path": str(bad_gold)}]}}), tmp_path / "m")
    with pytest.raises(AnnotationError, match="no such file"):
        train(config_from_dict({"data": {"sources": [{"path": str(tmp_path / "none.json")}]}}), tmp_path / "m")
    with pytest.raises(ConfigError, match="intermediate"):
        train(config_from_dict({"data": {**MINIMAL["data"], "intermediate": {"path": str(tmp_path / "no")}}}),
              tmp_path / "m")


def test_base_model_resolution(tmp_path):
    from clashwatch.encoders import resolve_base_model

    assert Path(resolve_base_model("minilm"), "config.json").exists()
    assert resolve_base_model("bert-base-uncased") == "bert-base-uncased"  # a hub id passes through
    with pytest.raises(ModelNotFoundError):
        resolve_base_model("./no/such/model")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelNotFoundError, match="config.json"):
        resolve_base_model(str(tmp_path / "empty"))
