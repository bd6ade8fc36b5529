"""Leave-one-document-out cross-validation over the seed gold, with training-data variants side by side
and a learning curve (score against the number of training documents).

Variants are overrides of the training config: `seeds` (gold only, no augmentation), `seeds+aug`,
`+synthetic` (seeds+aug + the synthetic corpus), `+re3d` (seeds+aug + the re3d intermediate stage),
`all` (seeds+aug + synthetic + re3d). Every fold writes metrics.json again (atomically), so a failed or
interrupted run keeps the folds already done; a failed fold is recorded with its error."""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
import traceback
from pathlib import Path

from .config import TrainConfig, config_from_dict, load_config, resolve_path
from .corpus import load_export, write_json_atomic
from .scoring import HEADLINE, score
from .report import REPORTS_DIR, Page, bar_chart, crossval_section
from .schema import ConfigError, Document

VARIANTS = ("seeds", "seeds+aug", "+synthetic", "+re3d", "all")
DEFAULT_SYNTHETIC = {"path": "annotations/synthetic/synthetic.json", "weight": 0.5, "gold": False}
DEFAULT_RE3D = {"path": "annotations/re3d", "epochs": 1}


def variant_config(base: TrainConfig, variant: str) -> TrainConfig:
    """The base config with the variant's data and augmentation settings; the rest (model, training)
    stays. Synthetic sources and the re3d stage come from the base config when it has them."""
    if variant not in VARIANTS:
        raise ConfigError(f"unknown variant {variant!r}; choose from {', '.join(VARIANTS)}")
    obj = base.model_dump(mode="json")
    sources = obj["data"]["sources"]
    gold = [s for s in sources if s.get("gold", True)]
    synthetic = [s for s in sources if not s.get("gold", True)] or [DEFAULT_SYNTHETIC]
    re3d = obj["data"].get("intermediate") or DEFAULT_RE3D
    with_synthetic = variant in ("+synthetic", "all")
    obj["data"]["sources"] = gold + (synthetic if with_synthetic else [])
    obj["data"]["intermediate"] = re3d if variant in ("+re3d", "all") else None
    obj["augment"]["enabled"] = variant != "seeds"
    obj["training"]["eval_every"] = 0  # the held-out document is scored here, not during training
    obj["data"]["eval"] = None
    return config_from_dict(obj, f"variant {variant}")


def gold_documents(config: TrainConfig, gold_path: str | Path | None = None) -> list[Document]:
    """The documents to cross-validate: `gold_path`, else every gold source of the config."""
    paths = [gold_path] if gold_path else [s.path for s in config.data.sources if s.gold]
    docs = [d for p in paths for d in load_export(resolve_path(p))]
    if len(docs) < 2:
        raise ConfigError(f"leave-one-out needs at least 2 gold documents, got {len(docs)}")
    return docs


def score_held_out(model_dir: Path, held_out: Document) -> dict:
    from .predict import Extractor

    prediction = Extractor.load(model_dir).extract(held_out.text, doc_id=held_out.doc_id).to_document()
    result = score([held_out], [prediction])
    return {"headline": result["headline"], "spans_char": result["spans_char"]["micro"],
            "relations": result["relations"]["micro"]}


def run_fold(config: TrainConfig, train_docs: list[Document], held_out: Document) -> dict:
    """Train on `train_docs` in a temporary folder, predict `held_out`, score it."""
    from .train import train

    tmp = Path(tempfile.mkdtemp(prefix="clashwatch-cv-"))
    try:
        started = time.time()
        model_dir = train(config, tmp / "model", docs=train_docs)
        return {**score_held_out(model_dir, held_out), "seconds": round(time.time() - started, 1)}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def summarise(folds: list[dict]) -> dict:
    """mean and (population) std of each headline metric over the successful folds."""
    ok = [f["headline"] for f in folds if "headline" in f]
    out: dict = {"folds": len(ok), "failed": len(folds) - len(ok)}
    for m in HEADLINE:
        values = [h[m] for h in ok if m in h]
        if values:
            out[m] = {"mean": statistics.fmean(values), "std": statistics.pstdev(values), "values": values}
    return out


def crossval(config_path: str | Path, *, variants: list[str] | None = None, out_dir: str | Path | None = None,
             gold_path: str | Path | None = None, curve: bool = True, curve_variant: str | None = None,
             curve_sizes: list[int] | None = None, folds: int | None = None, held_out: list[int] | None = None,
             progress: bool = True) -> Path:
    from tqdm import tqdm

    base = load_config(config_path)
    variants = list(VARIANTS if variants is None else variants)
    configs = {v: variant_config(base, v) for v in variants}  # bad variant names fail before training
    docs = gold_documents(base, gold_path)
    out = Path(out_dir) if out_dir else REPORTS_DIR / "crossval"
    curve_variant = curve_variant or (variants or VARIANTS)[0]
    if curve_variant not in configs:
        configs[curve_variant] = variant_config(base, curve_variant)

    if held_out is not None:  # a subset of the folds, e.g. to share one cross-validation out between machines
        if not held_out or any(not 0 <= i < len(docs) for i in held_out):
            raise ConfigError(f"held-out document indices must lie in 0..{len(docs) - 1}, got {held_out}")
        held_out = sorted(set(held_out))
    else:
        held_out = range(min(folds or len(docs), len(docs)))  # fewer folds: the first documents held out
    plan = [("variant", v, i, None) for v in variants for i in held_out]
    if curve:
        # sizes below the full fold size; the full size is the variant run itself
        sizes = sorted(set(curve_sizes)) if curve_sizes else list(range(1, len(docs) - 1))
        if any(not 0 <= k < len(docs) - 1 for k in sizes):
            raise ConfigError(f"curve sizes must lie in 0..{len(docs) - 2}, got {sizes}")
        plan += [("curve", curve_variant, i, k) for k in sizes for i in held_out]
    state = {"config": str(config_path), "documents": [d.doc_id for d in docs], "variants": variants,
             "curve_variant": curve_variant if curve else None, "folds": [], "curve": [], "summary": {},
             "curve_summary": {}, "plots": {}}
    without_gold = None  # size 0 (no gold, e.g. synthetic only) is one training, scored on every document
    bar = tqdm(plan, desc="crossval", unit="fold", disable=not progress)
    for kind, variant, i, k in bar:
        held = docs[i]
        train_docs = [d for j, d in enumerate(docs) if j != i][: k if k is not None else None]
        bar.set_postfix_str(f"{variant} -{held.doc_id[:12]}" + (f" n={k}" if k is not None else ""))
        record = {"variant": variant, "held_out": held.doc_id, "train_documents": len(train_docs)}
        try:
            if k == 0:
                if without_gold is None:
                    from .train import train

                    started = time.time()
                    without_gold = train(configs[variant], Path(tempfile.mkdtemp(prefix="clashwatch-cv-")) / "model",
                                         docs=[])
                    record["seconds"] = round(time.time() - started, 1)
                record.update(score_held_out(without_gold, held))
            else:
                record.update(run_fold(configs[variant], train_docs, held))
        except Exception as e:  # noqa: BLE001 - a failed fold is reported, the others go on
            record["error"] = f"{type(e).__name__}: {e}"
            record["traceback"] = traceback.format_exc(limit=5)
            bar.write(f"fold {variant}/{held.doc_id} failed: {record['error']}")
        state["curve" if kind == "curve" else "folds"].append(record)
        _update(state)
        write_json_atomic(out / "metrics.json", state)
    bar.close()
    if without_gold is not None:
        shutil.rmtree(without_gold.parent, ignore_errors=True)
    write_crossval_report(out, state)
    return out


def merge_results(paths: list[str | Path], out_dir: str | Path, notes: list[str] | None = None) -> Path:
    """One report from several crossval runs over the same documents (e.g. variants run in parallel)."""
    from .corpus import read_json

    states = [read_json(p) for p in paths]
    if len({tuple(s["documents"]) for s in states}) != 1:
        raise ConfigError("crossval runs to merge must hold out the same documents")
    merged = {**states[0], "config": ", ".join(sorted({s["config"] for s in states})), "plots": {},
              "variants": [v for v in VARIANTS if any(v in s["variants"] for s in states)],
              "folds": [f for s in states for f in s["folds"]], "curve": [f for s in states for f in s["curve"]]}
    merged["curve_variant"] = next((s["curve_variant"] for s in states if s["curve"]), None)
    merged["notes"] = [n for s in states for n in s.get("notes", [])] + list(notes or [])
    _update(merged)
    write_crossval_report(Path(out_dir), merged)
    return Path(out_dir)


def _update(state: dict) -> None:
    state["summary"] = {v: summarise([f for f in state["folds"] if f["variant"] == v]) for v in state["variants"]}
    full = [f for f in state["folds"] if f["variant"] == state.get("curve_variant")]
    runs = state["curve"] + full
    sizes = sorted({f["train_documents"] for f in runs})
    state["curve_summary"] = {str(n): summarise([f for f in runs if f["train_documents"] == n]) for n in sizes}


def write_crossval_report(out: Path, state: dict) -> None:
    """Plots (variants with error bars, learning curve), report.md, report.html; metrics.json last."""
    out.mkdir(parents=True, exist_ok=True)
    metrics = list(HEADLINE)
    summary = {v: s for v, s in state["summary"].items() if s.get("folds")}
    if summary:
        bar_chart(out / "crossval_variants.png", metrics,
                  {v: [s.get(m, {}).get("mean", 0.0) for m in metrics] for v, s in summary.items()},
                  "leave-one-document-out: mean ± std per variant",
                  errors={v: [s.get(m, {}).get("std", 0.0) for m in metrics] for v, s in summary.items()})
        state["plots"]["crossval_variants.png"] = True
    curve = {int(n): s for n, s in state.get("curve_summary", {}).items() if s.get("folds")}
    if len(curve) > 1:
        _curve_plot(out / "learning_curve.png", curve, state.get("curve_variant"))
        state["plots"]["learning_curve.png"] = True
    page = Page("clashwatch cross-validation (leave one document out)")
    page.para(f"Config {state['config']}; {len(state['documents'])} gold documents; "
              f"each fold trains on the others and scores the held-out one.")
    for note in state.get("notes", []):
        page.para(note)
    crossval_section(page, state)
    if curve:
        page.heading(f"Learning curve ({state.get('curve_variant')})")
        page.table(["training documents", "folds"] + metrics,
                   [[n, s["folds"]] + [f"{s[m]['mean']:.3f} ± {s[m]['std']:.3f}" if m in s else "–" for m in metrics]
                    for n, s in sorted(curve.items())])
    page.heading("Folds")
    page.table(["variant", "held out", "train docs", "seconds"] + metrics + ["error"],
               [[f["variant"], f["held_out"], f["train_documents"], f.get("seconds", "")] +
                [f.get("headline", {}).get(m, "") for m in metrics] + [f.get("error", "")]
                for f in state["folds"] + state["curve"]])
    page.write(out)
    write_json_atomic(out / "metrics.json", state)


def _curve_plot(path: Path, curve: dict[int, dict], variant: str | None) -> None:
    from .report import _plt, _save

    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    sizes = sorted(curve)
    for m in HEADLINE:
        means = [curve[n].get(m, {}).get("mean", 0.0) for n in sizes]
        stds = [curve[n].get(m, {}).get("std", 0.0) for n in sizes]
        ax.errorbar(sizes, means, yerr=stds, marker="o", capsize=3, label=m)
    ax.set_xticks(sizes)
    ax.set_xlabel("training documents")
    ax.set_ylabel("F1 on the held-out document")
    ax.set_ylim(0, 1.05)
    ax.set_title(f"learning curve ({variant})")
    ax.legend(fontsize=7)
    fig.tight_layout()
    _save(fig, path)
