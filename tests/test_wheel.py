"""A non-editable install: the wheel carries the package, the shipped default model and the labelling
config; installed into a fresh environment (dependencies borrowed from the project's venv, without its
editable finder) and run outside the checkout, it extracts events."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    if not (REPO / "models" / "default" / "manifest.json").exists():
        pytest.fail("models/default is not in the checkout: the shipped model is part of the project")
    work = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(work / "dist"),
                    str(REPO)], check=True, capture_output=True, cwd=work)
    wheel = next((work / "dist").glob("clashwatch-*.whl"))
    env = work / "env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env)], check=True)
    site = Path(subprocess.run([str(env / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    # the project venv's packages (torch, transformers, ...) as a plain path: its .pth files, the editable
    # finder of the checkout among them, are not run
    (site / "borrowed.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    # --ignore-installed: never uninstall the checkout's own (editable) clashwatch from the project venv
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--ignore-installed",
                    "--prefix", str(env), str(wheel)], check=True, capture_output=True)
    return env


def _run(env: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in ("CLASHWATCH_MODEL", "PYTHONPATH")}
    return subprocess.run([str(env / "bin" / "python"), *args], capture_output=True, text=True, cwd=cwd, env=clean,
                          timeout=600)


def test_the_wheel_holds_the_shipped_model_and_runs_outside_the_checkout(installed, tmp_path):
    probe = _run(installed, "-c", "import clashwatch, json; from clashwatch.predict import default_model_path; "
                 "from clashwatch.labelstudio import label_config_path; "
                 "print(json.dumps([clashwatch.__file__, str(default_model_path()), str(label_config_path())]))",
                 cwd=tmp_path)
    assert probe.returncode == 0, probe.stderr
    module, model, config = json.loads(probe.stdout)
    for path in (module, model, config):
        assert str(REPO) not in path and Path(path).exists(), path
    article = tmp_path / "article.txt"
    article.write_text((REPO / "annotations" / "samples" / "sample_article.txt").read_text(encoding="utf-8"))
    run = _run(installed, "-m", "clashwatch.cli", "extract", str(article), "--format", "jsonl", "--quiet",
               "--published", "2026-11-20", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    record = json.loads(run.stdout)
    assert record["events"] and any(e["event_type"] == "armed_clash" for e in record["events"])
    assert "LOAD REPORT" not in run.stderr
