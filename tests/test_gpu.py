"""The CUDA path: mixed-precision training (bf16 where the card has it) and GPU inference. Skipped
without a GPU, so CI (CPU only) skips it; it ran on an H100 (eval/README.md, train/README.md)."""

from __future__ import annotations

import json

import pytest
import torch

from clashwatch.predict import Extractor
from clashwatch.train import fit_check, train

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")]


@pytest.fixture(scope="module")
def gpu_model(tmp_path_factory, tiny_config, fixture_doc):
    config = tiny_config.model_copy(deep=True)
    config.training.mixed_precision = "auto"
    return train(config, tmp_path_factory.mktemp("gpu") / "tiny", docs=[fixture_doc])


def test_training_ran_on_the_gpu_in_mixed_precision(gpu_model):
    env = json.loads((gpu_model / "training.json").read_text())["environment"]
    assert env["device"].startswith("cuda")
    assert env["mixed_precision"] == ("bf16" if torch.cuda.is_bf16_supported() else "fp16")
    # the saved weights are fp32 whatever the training precision, so a CPU box can load them
    model_file = gpu_model / "tagger" / "model.safetensors"
    from safetensors import safe_open

    with safe_open(model_file, "pt") as f:
        assert {f.get_tensor(k).dtype for k in f.keys()} <= {torch.float32, torch.int64}


def test_mixed_precision_training_overfits_like_the_cpu_run(gpu_model, fixture_doc):
    metrics = fit_check(Extractor.load(gpu_model, device="cuda"), [fixture_doc])
    assert metrics["spans"]["recall"] >= 0.9, metrics["spans"]
    assert metrics["relations_given_gold_spans"]["recall"] >= 0.9, metrics["relations_given_gold_spans"]


def test_gpu_and_cpu_inference_agree(gpu_model, fixture_doc):
    on_gpu = Extractor.load(gpu_model, device="cuda").extract(fixture_doc.text)
    on_cpu = Extractor.load(gpu_model, device="cpu").extract(fixture_doc.text)
    assert [(s.start, s.end, s.label) for s in on_gpu.spans] == [(s.start, s.end, s.label) for s in on_cpu.spans]
    assert len(on_gpu.events) == len(on_cpu.events)
