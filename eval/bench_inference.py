"""Inference speed on CPU, three paths side by side in one run, on the same model and documents.

  (a) transformers.pipeline("token-classification") called once per document (aggregation "first")
  (b) clashwatch's tagger alone on the batch path (Extractor.run(..., relations=False))
  (c) clashwatch end to end: tagger, relations and events (Extractor.extract_batch)

Documents: seed sentences (annotations/seeds/*.txt, split with validate.sentence_bounds) repeated and
shuffled into articles that fit in one model window, so (a) and (b) see each token with the same
context and their spans can be compared exactly. Tokens = word-piece tokens of the documents
(special tokens and padding not counted), the same number for every path.

    .venv/bin/python eval/bench_inference.py --model models/default
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from clashwatch.validate import sentence_bounds  # noqa: E402
from clashwatch.data import sorted_windows  # noqa: E402
from clashwatch.decoding import tidy_spans  # noqa: E402


def seed_sentences() -> list[str]:
    out = []
    for path in sorted((REPO / "annotations" / "seeds").glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        out += [" ".join(text[a:b].split()) for a, b in sentence_bounds(text)]
    return [s for s in out if len(s) > 1]


def make_documents(n: int, tokenizer, max_tokens: int, seed: int = 0) -> list[str]:
    """n articles of shuffled seed sentences, each aiming at a random length up to max_tokens."""
    rng = random.Random(seed)
    sentences = seed_sentences()
    lengths = [len(ids) for ids in tokenizer(sentences, add_special_tokens=False)["input_ids"]]
    pool = [(s, k) for s, k in zip(sentences, lengths) if k < max_tokens]
    docs = []
    for _ in range(n):
        target, used, parts = rng.randint(max_tokens // 4, max_tokens), 0, []
        while True:
            s, k = rng.choice(pool)
            if used + k > target and parts:
                break
            if used + k <= max_tokens:
                parts.append(s)
                used += k
        docs.append(" ".join(parts))
    return docs


def spans_of_pipeline(entities: list[dict], text: str) -> set[tuple[int, int, str]]:
    return {(e["start"], e["end"], e["entity_group"]) for e in entities}


def trimmed(spans: set[tuple[int, int, str]], text: str) -> set[tuple[int, int, str]]:
    """Spans after clashwatch's decoding rules (`decoding.tidy_spans`: end trimming, whitespace-adjacent
    same-label spans joined), the one difference between the pipeline's aggregation and ours."""
    tidy = tidy_spans([{"start": a, "end": b, "label": label} for a, b, label in spans], text)
    return {(s["start"], s["end"], s["label"]) for s in tidy}


def agreement(xs: list[set], ys: list[set]) -> dict:
    inter = sum(len(x & y) for x, y in zip(xs, ys))
    union = sum(len(x | y) for x, y in zip(xs, ys))
    same = sum(x == y for x, y in zip(xs, ys))
    return {"spans": union, "agreement": inter / union if union else 1.0, "identical_docs": same, "docs": len(xs)}


def clock(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def fp32_ceiling(config, tokens_per_window: float) -> dict:
    """What full precision can reach here at best: this machine's fp32 matrix-product rate (torch, the
    cores in use, a large square product) over the encoder's FLOPs per token (projections, feed-forward
    and attention scores over the average window)."""
    import torch

    h, inter, layers = config.hidden_size, config.intermediate_size, config.num_hidden_layers
    flops_per_token = 2 * layers * (4 * h * h + 2 * h * inter + 2 * tokens_per_window * h)
    a = torch.randn(1024, 1024)
    torch.mm(a, a)
    best = min(clock(lambda: torch.mm(a, a))[0] for _ in range(10))
    gflops = 2 * 1024**3 / best / 1e9
    return {"gflops": gflops, "mflops_per_token": flops_per_token / 1e6, "tokens_per_s": gflops * 1e9 / flops_per_token}


def peak_memory(args) -> dict:
    """Peak RSS of a fresh process extracting --memory-docs documents end to end (runtime as (c))."""
    cmd = [sys.executable, __file__, "--model", args.model, "--threads", str(args.threads), "--runtime", args.runtime,
           "--batch-size", str(args.batch_size), "--seed", str(args.seed), "--memory-child", str(args.memory_docs)]
    if args.quantize:
        cmd.append("--quantize")
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def memory_child(args) -> None:
    from clashwatch.predict import Extractor

    ex = Extractor.load(args.model, device="cpu", runtime=args.runtime, quantize=args.quantize, threads=args.threads)
    docs = make_documents(args.memory_child, ex.tokenizer, ex.max_length - 2, args.seed + 1)
    t, n = clock(lambda: sum(1 for _ in ex.extract_batch(docs, batch_size=args.batch_size)))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"docs": n, "seconds": round(t, 2), "peak_rss_mib": round(peak, 1)}))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=str(REPO / "models" / "default"))
    p.add_argument("--docs", type=int, default=200)
    p.add_argument("--memory-docs", type=int, default=2000, help="documents for the peak-memory run (0: skip)")
    p.add_argument("--threads", type=int, default=None, help="default: physical cores")
    p.add_argument("--runtime", choices=("onnx", "torch"), default="onnx", help="runtime of (b) and (c)")
    p.add_argument("--quantize", action="store_true", help="int8 dynamic quantisation for (b) and (c)")
    p.add_argument("--batch-size", type=int, default=8, help="windows per encoder call in (b) and (c)")
    p.add_argument("--rounds", type=int, default=2, help="timed rounds; the fastest of each path counts")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--memory-child", type=int, default=0, help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    import torch

    from clashwatch.runtime import physical_cores

    args.threads = args.threads or physical_cores()
    torch.set_num_threads(args.threads)
    if args.memory_child:
        memory_child(args)
        return 0

    from transformers import pipeline

    from clashwatch.predict import Extractor
    from clashwatch.data import tokenize_documents

    fast = Extractor.load(args.model, device="cpu", runtime=args.runtime, quantize=args.quantize, threads=args.threads)
    full = Extractor.load(args.model, device="cpu")  # full precision torch: the reference spans
    # the loaded tagger, not its folder: a LoRA folder (models/default) holds adapters, merged at load
    pipe = pipeline("token-classification", model=full.model.tagger, tokenizer=full.tokenizer,
                    aggregation_strategy="first", device="cpu")
    docs = make_documents(args.docs, fast.tokenizer, fast.max_length - 2, args.seed)
    tokens = sum(len(ids) for ids in fast.tokenizer(docs, add_special_tokens=False)["input_ids"])

    def tagger(ex):  # the tagger alone: no relation head, no events
        results = ex.run(tokenize_documents(docs, ex.tokenizer), batch_size=args.batch_size, relations=False)
        return [{(s.start, s.end, s.label) for s in spans} for spans, _ in results]

    paths = {
        "a": lambda: [spans_of_pipeline(pipe(d), d) for d in docs],
        "b": lambda: tagger(fast),
        "c": lambda: list(fast.extract_batch(docs, batch_size=args.batch_size)),
    }
    # warm-up: first calls allocate, and ONNX Runtime plans its graph
    [pipe(d) for d in docs[:8]], tagger(full), list(fast.extract_batch(docs[:32], batch_size=args.batch_size))
    best, outputs = {}, {}
    for _ in range(args.rounds):
        for name, fn in paths.items():
            t, outputs[name] = clock(fn)
            best[name] = min(best.get(name, t), t)

    print(f"model {args.model}  docs {len(docs)}  tokens {tokens}  threads {args.threads}  "
          f"runtime {args.runtime}{' int8' if args.quantize else ''}  batch {args.batch_size}  rounds {args.rounds}")
    labels = {"a": "pipeline per document", "b": "clashwatch tagger batch", "c": "clashwatch end to end"}
    for name in paths:
        print(f"({name}) {labels[name]:<24} {tokens / best[name]:9.0f} tokens/s {len(docs) / best[name]:8.1f} docs/s"
              f"  {best[name]:7.2f} s")
    print(f"ratio (b)/(a) {best['a'] / best['b']:.2f}  (c)/(a) {best['a'] / best['c']:.2f}")
    windows = sorted_windows(tokenize_documents(docs, fast.tokenizer), fast.tokenizer, fast.max_length, fast.stride)[0]
    ceiling = fp32_ceiling(full.model.tagger.config, sum(len(w["input_ids"]) for _, _, w in windows) / len(windows))
    print(f"fp32 ceiling {ceiling['tokens_per_s']:.0f} tokens/s ({ceiling['gflops']:.0f} GFLOP/s matrix products here, "
          f"{ceiling['mflops_per_token']:.1f} MFLOP a token): (b) runs at {tokens / best['b'] / ceiling['tokens_per_s']:.0%} "
          f"of it; 3x (a) would need {3 * tokens / best['a'] / ceiling['tokens_per_s']:.0%}")

    a, b = outputs["a"], outputs["b"]
    ref = tagger(full)
    c_spans = [{(s.start, s.end, s.label) for s in ex.spans} for ex in outputs["c"]]
    checks = {
        "(b) vs (a), pipeline spans as given": agreement(b, a),
        "(b) vs (a), both trimmed like clashwatch": agreement(b, [trimmed(x, d) for x, d in zip(a, docs)]),
        "(b) vs torch fp32 tagger": agreement(b, ref),
        "(c) vs (b)": agreement(c_spans, b),
    }
    for what, r in checks.items():
        print(f"spans {what:<42} agreement {r['agreement']:.4f}  ({r['spans']} spans, "
              f"{r['identical_docs']}/{r['docs']} documents identical)")
    if args.memory_docs:
        m = peak_memory(args)
        print(f"peak memory {m['peak_rss_mib']:.0f} MiB RSS extracting {m['docs']} documents end to end "
              f"({m['seconds']:.1f} s, {m['docs'] / m['seconds']:.1f} docs/s, fresh process)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
