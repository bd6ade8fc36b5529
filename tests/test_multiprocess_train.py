"""Multi-process training, proven on CPU: `accelerate launch --multi_gpu --num_processes 2` (torchrun
underneath; without CUDA, train.start_run joins the processes in one gloo group) trains a few steps of a
tiny config; the two ranks trained on different batches yet hold equal weights after the joint fit
(gradients synced), and only rank 0 wrote the model folder."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
HELPER = Path(__file__).parent / "multiprocess_train_helper.py"

CONFIG = """\
base_model: minilm
data:
  sources:
    - {path: tests/fixtures/seed000.json, weight: 1.0}
  max_length: 64
  stride: 16
augment: {enabled: false}
training:
  max_steps: 4          # 2 optimizer steps per rank, 2 batches each step
  batch_size: 2
  lr: 5.0e-4
  head_lr: 3.0e-3
  warmup_ratio: 0.0
  freeze_embeddings: true
  mixed_precision: "no"
  threads: 1
  seed: 0
  event_head: {epochs: 3, lr: 3.0e-3}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def two_process_run(tmp_path_factory) -> tuple[Path, Path, subprocess.CompletedProcess]:
    tmp = tmp_path_factory.mktemp("multiprocess")
    config = tmp / "tiny2.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    out, reports = tmp / "models" / "tiny2", tmp / "reports"
    accelerate = Path(sys.executable).with_name("accelerate")
    command = [str(accelerate), "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
               "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", str(free_port()),
               str(HELPER), str(config), str(out), str(reports)]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "HF_DATASETS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "CUDA_VISIBLE_DEVICES": ""}
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    return out, reports, done


def _report(reports: Path, rank: int) -> dict:
    return json.loads((reports / f"rank{rank}.json").read_text(encoding="utf-8"))


def test_two_ranks_form_one_gloo_group_and_stay_in_sync(two_process_run):
    _, reports, _ = two_process_run
    rank0, rank1 = _report(reports, 0), _report(reports, 1)
    assert (rank0["rank"], rank1["rank"]) == (0, 1)
    assert rank0["world_size"] == rank1["world_size"] == 2 and rank0["backend"] == "gloo"
    [fit0], [fit1] = rank0["fits"], rank1["fits"]
    assert fit0["steps"] == fit1["steps"] == 2  # 4 steps of batches, split between the ranks
    # each rank trained on its own batches ...
    assert len(rank0["batches"]) == len(rank1["batches"]) == 2 and set(rank0["batches"]).isdisjoint(rank1["batches"])
    # ... the weights moved, and ended equal: the gradients were averaged across the ranks
    assert fit0["before"] == fit1["before"] and fit0["after"] != fit0["before"]
    assert fit0["after"] == fit1["after"]


def test_only_rank_zero_writes_the_model_folder(two_process_run):
    out, reports, _ = two_process_run
    assert _report(reports, 0)["writes"] == ["save", "replace_dir"]
    assert _report(reports, 1)["writes"] == []
    assert sorted(p.name for p in out.parent.iterdir()) == ["tiny2"]  # no partial or old folder left
    info = json.loads((out / "training.json").read_text(encoding="utf-8"))
    assert info["environment"]["processes"] == 2
    assert info["metrics"]["final"] is not None  # the last local step of rank 0 ran the fit check
    from clashwatch.predict import Extractor

    assert Extractor.load(out, quiet=True).extract("Troops clashed near the border.").doc_id == "doc"
