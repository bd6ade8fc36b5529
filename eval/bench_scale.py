"""Documents per second of extraction: one process against the ray engine with 1 and 2 workers, in one
run, on the same documents and model.

  one process   Extractor.extract_batch over the documents in memory (model loaded before the clock)
  ray, N        clashwatch.scale.run on a JSONL file of the same documents, N actors of
                --threads-per-worker threads: the job's wall clock, from submission to the last shard
                written (each actor loading its model included; the cluster is up before the clock),
                and its steady rate: the documents after the first shard over the time from the first
                shard to the last (what an archive-scale job runs at once its actors are up)

Documents: seed sentences (annotations/seeds/*.txt) shuffled into articles of 60-250 tokens (seed 0,
as eval/bench_inference.py builds them). Model: --model, else models/default, else a random model of
MiniLM's width (384; 2 layers) written to a temp folder: its spans are arbitrary, its cost is real.

    .venv/bin/python eval/bench_scale.py                                  # a local Ray cluster
    .venv/bin/python eval/bench_scale.py --address HEAD:6379 --workers 1 2 8 --workdir /shared/bench
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "eval"))
sys.path.insert(0, str(REPO / "tests"))


def pick_model(arg: str | None, workdir: Path) -> tuple[Path, str]:
    if arg:
        return Path(arg), arg
    default = REPO / "models" / "default"
    if default.is_dir():
        return default, "models/default"
    from conftest import save_random_model

    return save_random_model(workdir / "random-model", hidden=384, max_length=256, stride=64), \
        "random model (hidden 384, 2 layers, max_length 256)"


def documents(model: Path, n: int) -> list[str]:
    from bench_inference import make_documents
    from clashwatch.modeling import load_tokenizer

    return make_documents(n, load_tokenizer(str(model / "tagger")), max_tokens=250)


def one_process(model: Path, texts: list[str], batch_size: int, threads: int) -> float:
    import torch

    from clashwatch.predict import BatchItemError, Extractor

    torch.set_num_threads(threads)
    extractor = Extractor.load(model, device="cpu", quiet=True)
    started = time.perf_counter()
    results = list(extractor.extract_batch(texts, batch_size=batch_size))
    seconds = time.perf_counter() - started
    assert not any(isinstance(r, BatchItemError) for r in results), "a document failed"
    return seconds


class ShardClock:
    """Stands in for the progress bar: when each shard came back, and with how many documents."""

    def __init__(self):
        self.marks: list[tuple[float, int]] = []

    def update(self, documents: int) -> None:
        self.marks.append((time.perf_counter(), documents))

    def steady_rate(self) -> float | None:
        if len(self.marks) < 2 or self.marks[-1][0] <= self.marks[0][0]:
            return None
        return sum(n for _, n in self.marks[1:]) / (self.marks[-1][0] - self.marks[0][0])


def ray_job(model: Path, inputs: Path, out: Path, workers: int, args) -> tuple[float, float | None]:
    from clashwatch.scale import run

    shutil.rmtree(out, ignore_errors=True)
    clock = ShardClock()
    started = time.perf_counter()
    summary = run([str(inputs)], out, model=model, workers=workers, threads=args.threads_per_worker,
                  batch_size=args.batch_size, shard_size=args.shard_size, report=lambda line: None, progress=clock)
    seconds = time.perf_counter() - started
    assert summary.written == args.docs and summary.errors == 0, summary
    return seconds, clock.steady_rate()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=None, help="model folder (default: models/default, else a random model)")
    p.add_argument("--docs", type=int, default=1000)
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="ray runs, one per count (default 1 2)")
    p.add_argument("--threads-per-worker", type=int, default=1)
    p.add_argument("--threads", type=int, default=1, help="torch threads of the one-process run (default 1, "
                   "the same as one worker)")
    p.add_argument("--batch-size", type=int, default=8, help="windows per encoder call")
    p.add_argument("--shard-size", type=int, default=50, help="documents per shard (one map_batches batch)")
    p.add_argument("--address", default=None, help="a Ray cluster (HOST:PORT); default: start a local one")
    p.add_argument("--workdir", default=None, help="where the inputs and shards go; on a cluster, a folder every "
                   "node sees (default: a temp folder here)")
    p.add_argument("--json", default=None, help="also write the numbers to this file")
    args = p.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import ray

    from clashwatch.scale import check_address

    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="bench_scale."))
    workdir.mkdir(parents=True, exist_ok=True)
    model, model_name = pick_model(args.model, workdir)
    texts = documents(model, args.docs)
    inputs = workdir / "docs.jsonl"
    inputs.write_text("".join(json.dumps({"doc_id": f"d{i}", "text": t}) + "\n" for i, t in enumerate(texts)),
                      encoding="utf-8")
    if args.address:
        check_address(args.address)
        ray.init(address=args.address, log_to_driver=False)
    else:
        # Ray starts its workers at nice 15; the one-process run is at 0. On a machine shared with other
        # jobs that alone would decide the comparison, so the local cluster's workers run at 0 too
        os.environ.setdefault("RAY_worker_niceness", "0")
        ray.init(num_cpus=max(os.cpu_count() or 1, max(args.workers) * args.threads_per_worker + 1),
                 include_dashboard=False, log_to_driver=False)
    try:
        results = {"one process": (one_process(model, texts, args.batch_size, args.threads), None)}
        for n in args.workers:
            results[f"ray, {n} worker{'s' if n > 1 else ''}"] = ray_job(model, inputs, workdir / f"out-{n}", n, args)
    finally:
        ray.shutdown()
    rates = {name: args.docs / seconds for name, (seconds, _) in results.items()}
    steady = {name: rate or rates[name] for name, (_, rate) in results.items()}  # one process: no start-up
    base = rates["one process"]
    print(f"{args.docs} documents, {sum(len(t) for t in texts):,} characters; model: {model_name}; "
          f"{os.cpu_count()} CPUs here; cluster: {args.address or 'local'}; shards of {args.shard_size}")
    print(f"{'path':<18}{'seconds':>9}{'docs/s':>9}{'ratio':>7}{'steady docs/s':>15}{'ratio':>7}")
    for name, (seconds, _) in results.items():
        print(f"{name:<18}{seconds:>9.1f}{rates[name]:>9.1f}{rates[name] / base:>7.2f}{steady[name]:>15.1f}"
              f"{steady[name] / base:>7.2f}")
    ray_names = [k for k in rates if k.startswith("ray")]
    if len(ray_names) > 1:
        first, last = ray_names[0], ray_names[-1]
        print(f"{last} / {first}: {rates[last] / rates[first]:.2f} (wall clock), "
              f"{steady[last] / steady[first]:.2f} (steady)")
    if args.json:
        Path(args.json).write_text(json.dumps({"docs": args.docs, "model": model_name, "shard_size": args.shard_size,
                                               "seconds": {k: v[0] for k, v in results.items()},
                                               "docs_per_second": rates, "steady_docs_per_second": steady},
                                              indent=1) + "\n", encoding="utf-8")
    if not args.workdir:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
