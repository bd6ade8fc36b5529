"""Run by tests/test_multiprocess_train.py under `accelerate launch --cpu --num_processes 2`:

    python tests/multiprocess_train_helper.py CONFIG OUT_DIR REPORT_DIR

trains CONFIG into OUT_DIR with `clashwatch.train.train`, unchanged, and writes REPORT_DIR/rankN.json
per process: a sha256 of the rank's parameters before and right after the joint fit (the event head is
trained on rank 0 alone, later), a hash of every batch the rank trained on (to show the ranks saw
different data, so equal weights come from synced gradients), and which of the writing functions
(`save`, `replace_dir`) the rank called. Only the helper writes REPORT_DIR; it wraps, never replaces,
what train() does."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path


def parameter_hash(model) -> str:
    h = hashlib.sha256()
    for name, p in sorted(model.named_parameters()):
        h.update(name.encode())
        h.update(p.detach().float().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def main(config_path: str, out_dir: str, report_dir: str) -> None:
    from accelerate import PartialState

    import clashwatch.train as train_module
    from clashwatch.config import load_config

    report: dict = {"fits": [], "batches": [], "writes": []}
    original_fit, original_loss = train_module.fit, train_module.joint_loss

    def fit(run, model, *args, **kwargs):
        before = parameter_hash(model)
        fitted = original_fit(run, model, *args, **kwargs)
        report["fits"].append({"stage": args[2] if len(args) > 2 else kwargs.get("name"), "before": before,
                               "after": parameter_hash(fitted), "steps": run.step})
        return fitted

    def joint_loss(logits, rel_logits, batch, *args, **kwargs):
        report["batches"].append(hashlib.sha256(batch["input_ids"].cpu().numpy().tobytes()).hexdigest())
        return original_loss(logits, rel_logits, batch, *args, **kwargs)

    def recorded(name):
        original = getattr(train_module, name)

        def wrapper(*args, **kwargs):
            report["writes"].append(name)
            return original(*args, **kwargs)

        return wrapper

    train_module.fit, train_module.joint_loss = fit, joint_loss
    for name in ("save", "replace_dir"):
        setattr(train_module, name, recorded(name))
    train_module.train(load_config(config_path), Path(out_dir))
    state = PartialState()
    report.update(rank=state.process_index, world_size=state.num_processes, backend=str(state.backend))
    Path(report_dir).mkdir(parents=True, exist_ok=True)
    (Path(report_dir) / f"rank{state.process_index}.json").write_text(json.dumps(report), encoding="utf-8")


if __name__ == "__main__":
    main(*sys.argv[1:4])
