"""Leave-one-document-out cross-validation over the real gold articles: training-data variants side by
side at equal steps, readouts of one trained model under different decoders, the lexicon baseline on the
same articles with paired differences, and a learning curve over the number of synthetic articles.

- Variants override the data of the training config, never its step budget (`training.max_steps`):
  `seeds` (gold only, no augmentation), `seeds+aug`, `+synthetic`, `+re3d`, `all`.
- Readouts: every fold's model is scored with the consensus grouping (the default), the learned grouping
  and the one-event-per-type prior (`grouping`), and with the unconstrained greedy decoder (learned
  grouping): decoders and groupings compared on the same weights.
- Synthetic documents are never gold: a gold file holding one is refused.
- Every fold writes metrics.json again (atomically), so an interrupted run keeps the folds done; a failed
  fold is recorded with its error."""

from __future__ import annotations

import json
import random
import shutil
import statistics
import tempfile
import time
import traceback
from pathlib import Path

from .config import TrainConfig, config_from_dict, load_config, resolve_path
from .corpus import load_export, task_from_document, write_export, write_json_atomic
from .report import REPORTS_DIR, Page, bar_chart, crossval_section
from .schema import ConfigError, Document
from .scoring import HEADLINE, RECORD_METRICS, prf, score

VARIANTS = ("seeds", "seeds+aug", "+synthetic", "+re3d", "all")
READOUTS = {"consensus": {"grouping": "consensus"}, "learned": {"grouping": "learned"}, "prior": {"grouping": "prior"},
            "greedy": {"grouping": "learned", "decoder": "greedy"}}
DEFAULT_SYNTHETIC = {"path": "annotations/synthetic/synthetic.json", "weight": 2.0, "gold": False, "augment": False}
DEFAULT_RE3D = {"path": "annotations/re3d", "steps": 100}
METRICS = tuple(HEADLINE) + ("relation_same_event_f1",)


def variant_config(base: TrainConfig, variant: str) -> TrainConfig:
    """The base config with the variant's data and augmentation; the model and the step budget stay."""
    if variant not in VARIANTS:
        raise ConfigError(f"unknown variant {variant!r}; choose from {', '.join(VARIANTS)}")
    obj = base.model_dump(mode="json")
    sources = obj["data"]["sources"]
    gold = [s for s in sources if s.get("gold", True)]
    synthetic = [s for s in sources if not s.get("gold", True)] or [DEFAULT_SYNTHETIC]
    re3d = obj["data"].get("intermediate") or DEFAULT_RE3D
    obj["data"]["sources"] = gold + (synthetic if variant in ("+synthetic", "all") else [])
    obj["data"]["intermediate"] = re3d if variant in ("+re3d", "all") else None
    obj["augment"]["enabled"] = variant != "seeds"
    obj["training"]["check_every"] = 0  # the held-out document is scored here, not during training
    obj["data"]["eval"] = None
    return config_from_dict(obj, f"variant {variant}")


def refuse_synthetic(docs: list[Document], source: str) -> None:
    """Synthetic text is training data only: scoring it as gold would claim more than was measured."""
    synthetic = [d.doc_id for d in docs if (d.meta.get("data") or {}).get("synthetic")]
    if synthetic:
        raise ConfigError(f"{source} holds {len(synthetic)} synthetic document(s) ({', '.join(synthetic[:3])}): "
                          "synthetic articles are never evaluation gold")


def gold_documents(config: TrainConfig, gold_path: str | Path | None = None) -> list[Document]:
    """The documents to cross-validate: `gold_path`, else every gold source of the config."""
    paths = [gold_path] if gold_path else [s.path for s in config.data.sources if s.gold]
    docs = []
    for p in paths:
        loaded = load_export(resolve_path(p))
        refuse_synthetic(loaded, str(p))
        docs += loaded
    if len(docs) < 2:
        raise ConfigError(f"leave-one-out needs at least 2 gold documents, got {len(docs)}")
    return docs


def synthetic_subset(config: TrainConfig, n: int, folder: Path, seed: int = 0) -> TrainConfig:
    """The config with its synthetic sources cut to `n` articles (a seeded sample; nested: the first n of
    one shuffle, so a larger point holds the smaller ones), written as an export in `folder`."""
    obj = config.model_dump(mode="json")
    synthetic = [s for s in obj["data"]["sources"] if not s.get("gold", True)]
    if not synthetic:
        raise ConfigError("the synthetic learning curve needs a config with a synthetic source")
    docs = [d for s in synthetic for d in load_export(resolve_path(s["path"]))]
    random.Random(seed).shuffle(docs)
    gold = [s for s in obj["data"]["sources"] if s.get("gold", True)]
    if n:
        path = folder / f"synthetic-{n}.json"
        write_export(path, docs[:n])
        gold.append({**synthetic[0], "path": str(path)})
    obj["data"]["sources"] = gold
    return config_from_dict(obj, f"synthetic curve n={n}")


def readout_predictions(model_dir: Path, held_out: Document) -> dict[str, Document]:
    """The held-out article as each readout of one trained model extracts it."""
    from .predict import Extractor

    out = {}
    for name, options in READOUTS.items():
        extractor = Extractor.load(model_dir, quiet=True, **options)
        out[name] = extractor.extract(held_out.text, doc_id=held_out.doc_id,
                                      published=(held_out.meta.get("data") or {}).get("published")).to_document()
    return out


def extra_documents(model_dir: Path) -> int | None:
    """How many documents beyond the fold's training gold the model read (the synthetic corpus it was
    trained on, which may be smaller than today's); None when its training.json does not say."""
    from .train import TRAIN_DOCS_SOURCE

    try:
        sources = json.loads((model_dir / "training.json").read_text(encoding="utf-8"))["data"]["sources"]
        return sum(src["documents"] for src in sources if src["path"] != TRAIN_DOCS_SOURCE)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def summary_of(result: dict) -> dict:
    """What a fold keeps of a score: the headline, the record metrics with counts, same_event F1."""
    records = result["records"]["pooled"]
    return {"headline": {**result["headline"],
                         "relation_same_event_f1": result["relations"]["per_label"]["same_event"]["f1"]},
            "records": {m: {k: records[m][k] for k in ("f1", "tp", "fp", "fn")} for m in RECORD_METRICS}
            | {"predicted_records": records["predicted_records"], "gold_records": records["gold_records"]}}


def baseline_scores(docs: list[Document]) -> dict[str, dict]:
    from . import baseline

    return {d.doc_id: summary_of(score([d], baseline.extract_documents([d]))) for d in docs}


def run_fold(config: TrainConfig, train_docs: list[Document], held_out: Document, predictions: Path,
             keep_model: Path | None = None, reuse: bool = False) -> dict:
    """Train on `train_docs` (in a temporary folder unless `keep_model` names one), score `held_out`
    under every readout and write its predictions as Label Studio exports under `predictions`, so that
    a person can read what each fold's model extracted. With `reuse`, a finished model already in
    `keep_model` is scored again instead of trained (a change to decoding or grouping, same weights)."""
    from .train import train

    tmp = Path(tempfile.mkdtemp(prefix="clashwatch-cv-"))
    try:
        reused = reuse and keep_model is not None and (keep_model / "manifest.json").exists()
        if reused:  # the training time is the kept model's own
            model_dir = keep_model
            seconds = json.loads((model_dir / "training.json").read_text(encoding="utf-8"))["time"]["train_seconds"]
        else:
            started = time.time()
            model_dir = train(config, keep_model or tmp / "model", docs=train_docs)
            seconds = round(time.time() - started, 1)
        scores = {}
        for name, prediction in readout_predictions(model_dir, held_out).items():
            scores[name] = summary_of(score([held_out], [prediction]))
            # as extracted, unvalidated: the greedy readout may break the spec's rules, which is its point
            write_json_atomic(predictions / f"{name}.json", [task_from_document(prediction)])
        return {"readouts": scores, "seconds": seconds, "extra_documents": extra_documents(model_dir)} | \
            ({"reused_model": str(keep_model)} if reused else {})
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ---------------------------------------------------------------- summaries


def bootstrap_ci(values: list[float], rounds: int = 10_000, seed: int = 0) -> tuple[float, float]:
    """95% percentile interval of the mean, resampling the articles."""
    if len(values) < 2:
        return (values[0], values[0]) if values else (0.0, 0.0)
    rng = random.Random(seed)
    means = sorted(statistics.fmean(rng.choices(values, k=len(values))) for _ in range(rounds))
    return means[int(0.025 * rounds)], means[int(0.975 * rounds) - 1]


def summarise(folds: list[dict], readout: str, baseline: dict[str, dict]) -> dict:
    """Per metric over the successful folds: mean, sample std, the values, and the paired difference to
    the baseline on the same articles (mean and bootstrap 95% interval)."""
    ok = [f for f in folds if readout in f.get("readouts", {})]
    out: dict = {"folds": len(ok), "failed": len(folds) - len(ok)}
    for m in METRICS:
        values = [f["readouts"][readout]["headline"][m] for f in ok if m in f["readouts"][readout]["headline"]]
        if not values:
            continue
        diffs = [f["readouts"][readout]["headline"][m] - baseline[f["held_out"]]["headline"][m]
                 for f in ok if f["held_out"] in baseline and m in baseline[f["held_out"]]["headline"]]
        out[m] = {"mean": statistics.fmean(values), "std": statistics.stdev(values) if len(values) > 1 else 0.0,
                  "values": values}
        if diffs:
            out[m]["vs_baseline"] = {"mean": statistics.fmean(diffs), "ci95": bootstrap_ci(diffs)}
    counts = {k: sum(f["readouts"][readout]["records"][k] for f in ok) for k in ("predicted_records", "gold_records")}
    out["records"] = counts
    return out


def baseline_summary(baseline: dict[str, dict], held_out: list[str]) -> dict:
    rows = [baseline[d] for d in held_out if d in baseline]
    out: dict = {"folds": len(rows)}
    for m in METRICS:
        values = [r["headline"][m] for r in rows if m in r["headline"]]
        if values:
            out[m] = {"mean": statistics.fmean(values), "std": statistics.stdev(values) if len(values) > 1 else 0.0,
                      "values": values}
    out["records"] = {k: sum(r["records"][k] for r in rows) for k in ("predicted_records", "gold_records")}
    return out


def variant_groups(state: dict) -> dict[str, list[dict]]:
    """The folds of each variant; merged runs of +synthetic on corpora of different sizes stay apart, one
    group per size ("+synthetic (350 synthetic)")."""
    groups = {}
    for v in state["variants"]:
        folds = [f for f in state["folds"] if f["variant"] == v]
        sizes = sorted({f["synthetic"] for f in folds if f.get("synthetic") is not None})
        groups |= {f"{v} ({n} synthetic)": [f for f in folds if f.get("synthetic") == n] for n in sizes} \
            if len(sizes) > 1 else {v: folds}
    return groups


def _update(state: dict) -> None:
    baseline = state.get("baseline", {})
    state["summary"] = {}
    for name, group in variant_groups(state).items():
        for readout in READOUTS:
            state["summary"][f"{name} / {readout}"] = summarise(group, readout, baseline)
    held = sorted({f["held_out"] for f in state["folds"]})
    state["summary"]["lexicon baseline"] = baseline_summary(baseline, held)
    # the +synthetic variant is the curve's last point: every synthetic article (of its run), same steps
    # (each such fold records its size; merge_results fills it in for metrics written before it did)
    points = state["curve"] + [f for f in state["folds"]
                               if f["variant"] == "+synthetic" and state["curve"] and f.get("synthetic")]
    sizes = sorted({f["synthetic"] for f in points})
    state["curve_summary"] = {str(n): summarise([f for f in points if f["synthetic"] == n], "learned", baseline)
                              for n in sizes}


# ---------------------------------------------------------------- the run


def _plan(docs, variants, held_out, curve_sizes):
    plan = [("variant", v, i, None) for v in variants for i in held_out]
    plan += [("curve", None, i, n) for n in curve_sizes for i in held_out]
    return plan


def crossval(config_path: str | Path, *, variants: list[str] | None = None, out_dir: str | Path | None = None,
             gold_path: str | Path | None = None, curve_sizes: list[int] | None = None,
             held_out: list[int] | None = None, threads: int | None = None, keep_models: str | Path | None = None,
             reuse_models: bool = False, progress: bool = True) -> Path:
    """Run the folds of `variants` (and the synthetic learning curve at `curve_sizes`) over the documents
    `held_out` (indices; default all) and write the report, with each fold's predictions under
    `runs/predictions/`. `threads` overrides the config's torch threads (two runs of one thread each share
    two cores better than one run of two); `keep_models` keeps each fold's model in that folder, and with
    `reuse_models` the models found there are scored again instead of trained."""
    if reuse_models and not keep_models:
        raise ConfigError("reusing fold models needs the folder they were kept in (--keep-models DIR)")
    from tqdm import tqdm

    base = load_config(config_path, {"training": {"threads": threads}} if threads else None)
    variants = list(VARIANTS if variants is None else variants)
    configs = {v: variant_config(base, v) for v in variants}  # bad variant names fail before training
    docs = gold_documents(base, gold_path)
    out = Path(out_dir) if out_dir else REPORTS_DIR / "crossval"
    if held_out is not None and (not held_out or any(not 0 <= i < len(docs) for i in held_out)):
        raise ConfigError(f"held-out document indices must lie in 0..{len(docs) - 1}, got {held_out}")
    held_out = sorted(set(held_out)) if held_out is not None else list(range(len(docs)))
    work = Path(tempfile.mkdtemp(prefix="clashwatch-cv-data-"))
    with_synthetic = variant_config(base, "+synthetic")
    curve_configs = {n: synthetic_subset(with_synthetic, n, work) for n in curve_sizes or []}
    synthetic_total = sum(len(load_export(resolve_path(src.path)))  # what +synthetic trains on
                          for src in with_synthetic.data.sources if not src.gold)
    state = {"config": str(config_path), "documents": [d.doc_id for d in docs], "variants": variants,
             "synthetic_total": synthetic_total,
             "readouts": list(READOUTS), "max_steps": base.training.max_steps, "folds": [], "curve": [],
             "baseline": baseline_scores([docs[i] for i in held_out]), "summary": {}, "curve_summary": {}, "plots": {}}
    bar = tqdm(_plan(docs, variants, held_out, curve_sizes or []), desc="crossval", unit="fold", disable=not progress)
    try:
        for kind, variant, i, n in bar:
            held = docs[i]
            train_docs = [d for j, d in enumerate(docs) if j != i]
            bar.set_postfix_str(f"{variant or f'synthetic={n}'} -{held.doc_id[:12]}")
            record = {"variant": variant, "held_out": held.doc_id, "train_documents": len(train_docs)}
            if kind == "curve":
                record["synthetic"] = n
            elif variant == "+synthetic":  # the curve's "all" point, with the corpus size it trained on
                record["synthetic"] = synthetic_total
            name = f"{variant or f'synthetic-{n}'}-{Path(held.doc_id).stem}".replace("+", "plus-")
            keep = Path(keep_models) / name if keep_models else None
            try:
                record.update(run_fold(configs[variant] if kind == "variant" else curve_configs[n], train_docs, held,
                                       out / "runs" / "predictions" / name, keep, reuse_models))
            except Exception as e:  # noqa: BLE001 - a failed fold is reported, the others go on
                record["error"] = f"{type(e).__name__}: {e}"
                record["traceback"] = traceback.format_exc(limit=5)
                bar.write(f"fold {variant or n}/{held.doc_id} failed: {record['error']}")
            if "synthetic" in record and record.get("extra_documents") is not None:
                record["synthetic"] = record["extra_documents"]  # a kept model read the corpus of its day
            state["curve" if kind == "curve" else "folds"].append(record)
            _update(state)
            write_json_atomic(out / "metrics.json", state)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    bar.close()
    write_crossval_report(out, state)
    return out


def merge_results(paths: list[str | Path], out_dir: str | Path, notes: list[str] | None = None) -> Path:
    """One report from several crossval runs over the same documents (e.g. folds run in parallel)."""
    from .corpus import read_json

    states = [read_json(p) for p in paths]
    if len({tuple(s["documents"]) for s in states}) != 1:
        raise ConfigError("crossval runs to merge must hold out the same documents")
    if len({s.get("max_steps") for s in states}) != 1:
        raise ConfigError("crossval runs to merge must train for the same number of steps")
    merged = {**states[0], "config": ", ".join(sorted({s["config"] for s in states})), "plots": {},
              "variants": [v for v in VARIANTS if any(v in s["variants"] for s in states)],
              "folds": [{"synthetic": s.get("synthetic_total"), **f} if f["variant"] == "+synthetic" else f
                        for s in states for f in s["folds"]],
              "curve": [f for s in states for f in s["curve"]],
              "baseline": {k: v for s in states for k, v in s.get("baseline", {}).items()}}
    merged["notes"] = [n for s in states for n in s.get("notes", [])] + list(notes or [])
    _update(merged)
    write_crossval_report(Path(out_dir), merged)
    return Path(out_dir)


# ---------------------------------------------------------------- the report


def write_crossval_report(out: Path, state: dict) -> None:
    """Plots (variants with error bars, learning curve), report.md, report.html; metrics.json last."""
    out.mkdir(parents=True, exist_ok=True)
    summary = {v: s for v, s in state["summary"].items() if s.get("folds")}
    if summary:
        bar_chart(out / "crossval_variants.png", list(METRICS),
                  {v: [s.get(m, {}).get("mean", 0.0) for m in METRICS] for v, s in summary.items()},
                  "leave-one-document-out: mean ± sample std",
                  errors={v: [s.get(m, {}).get("std", 0.0) for m in METRICS] for v, s in summary.items()})
        state["plots"]["crossval_variants.png"] = True
    curve = {int(n): s for n, s in state.get("curve_summary", {}).items() if s.get("folds")}
    if len(curve) > 1:
        _curve_plot(out / "learning_curve.png", curve)
        state["plots"]["learning_curve.png"] = True
    page = Page("clashwatch cross-validation (leave one document out)")
    page.para(f"Config {state['config']} ({state.get('max_steps')} steps for every variant); "
              f"{len(state['documents'])} gold documents; each fold trains on the others and scores the held-out "
              "one. Readouts score one trained model with the consensus grouping (the default: the one-event-per-type "
              "prior, split where a mention's sentence names another year, or where a linked time or place "
              "conflicts and the event head agrees), the learned event grouping alone, the prior alone "
              "and the greedy (unconstrained) decoder. Std is the sample std over folds; 'vs baseline' is "
              "the mean per-article paired difference to the lexicon baseline with its bootstrap 95% interval.")
    for note in state.get("notes", []):
        page.para(note)
    crossval_section(page, state)
    _paired_table(page, summary)
    _record_table(page, state)
    if curve:
        page.heading("Learning curve over the number of synthetic articles (+synthetic, learned grouping)")
        page.table(["synthetic articles", "folds"] + list(METRICS),
                   [[n, s["folds"]] + [f"{s[m]['mean']:.3f} ± {s[m]['std']:.3f}" if m in s else "–" for m in METRICS]
                    for n, s in sorted(curve.items())])
    _fold_tables(page, state)
    page.write(out)
    write_json_atomic(out / "metrics.json", state)


def _paired_table(page: Page, summary: dict) -> None:
    rows = []
    for name, s in summary.items():
        if name == "lexicon baseline":
            continue
        rows.append([name] + [f"{s[m]['vs_baseline']['mean']:+.3f} [{s[m]['vs_baseline']['ci95'][0]:+.3f}, "
                              f"{s[m]['vs_baseline']['ci95'][1]:+.3f}]" if "vs_baseline" in s.get(m, {}) else "–"
                              for m in METRICS])
    if rows:
        page.heading("Paired differences to the lexicon baseline (per article; mean [bootstrap 95% interval])")
        page.table(["variant / readout"] + list(METRICS), rows)


def _record_table(page: Page, state: dict) -> None:
    """Every record metric of each readout beside the baseline's, on the articles both were scored on:
    the per-article mean, the pooled F1 (tp/fp/fn summed over the articles) and the paired difference of
    the means."""
    base = state.get("baseline", {})
    rows = []
    for name, folds in variant_groups(state).items():
        for readout in READOUTS:
            recs = {f["held_out"]: f["readouts"][readout]["records"] for f in folds
                    if readout in f.get("readouts", {}) and f["held_out"] in base}
            if recs:
                theirs = {d: base[d]["records"] for d in recs}
                rows.append(_record_row(f"{name} / {readout}", recs, theirs))
                rows.append(_record_row(f"lexicon baseline (those {len(recs)})", theirs))
    if rows:
        page.heading("Record metrics: per-article mean / pooled F1 (paired difference of the means to the baseline)")
        page.table(["variant / readout", "articles"] + list(RECORD_METRICS), _unique(rows))


def _record_row(name: str, recs: dict[str, dict], baseline: dict[str, dict] | None = None) -> list:
    cells = []
    for m in RECORD_METRICS:
        mean = statistics.fmean(r[m]["f1"] for r in recs.values())
        pooled = prf(*(sum(r[m][k] for r in recs.values()) for k in ("tp", "fp", "fn")))["f1"]
        delta = f" ({mean - statistics.fmean(b[m]['f1'] for b in baseline.values()):+.3f})" if baseline else ""
        cells.append(f"{mean:.3f} / {pooled:.3f}{delta}")
    return [name, len(recs)] + cells


def _unique(rows: list[list]) -> list[list]:
    """Rows in order without repeats (the baseline's row recurs after every readout of the same folds)."""
    seen, out = set(), []
    for row in rows:
        if tuple(row) not in seen:
            seen.add(tuple(row))
            out.append(row)
    return out


def _fold_tables(page: Page, state: dict) -> None:
    page.heading("Per article: record metrics (F1, tp/fp/fn) of each fold and of the baseline")
    rows = []
    for f in state["folds"] + state["curve"]:
        name = f["variant"] or f"synthetic={f.get('synthetic')}"
        for readout, r in f.get("readouts", {}).items():
            rows.append([f"{name} / {readout}", f["held_out"], f.get("seconds", "")] + _record_cells(r))
        if f.get("error"):
            rows.append([name, f["held_out"], f.get("seconds", "")] + ["–"] * len(RECORD_METRICS) + [f["error"]])
    for doc, r in state.get("baseline", {}).items():
        rows.append(["lexicon baseline", doc, ""] + _record_cells(r))
    page.table(["variant / readout", "held out", "seconds"] + list(RECORD_METRICS) + ["records pred/gold"], rows)


def _record_cells(r: dict) -> list:
    rec = r["records"]
    return [f"{rec[m]['f1']:.3f} ({rec[m]['tp']}/{rec[m]['fp']}/{rec[m]['fn']})" for m in RECORD_METRICS] + \
        [f"{rec['predicted_records']}/{rec['gold_records']}"]


def _curve_plot(path: Path, curve: dict[int, dict]) -> None:
    from .report import _plt, _save

    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    sizes = sorted(curve)
    for m in ("span_f1_strict", "argument_cls_f1", "relation_f1", "records_f1", "killed_in_record_f1"):
        means = [curve[n].get(m, {}).get("mean", 0.0) for n in sizes]
        stds = [curve[n].get(m, {}).get("std", 0.0) for n in sizes]
        ax.errorbar(sizes, means, yerr=stds, marker="o", capsize=3, label=m)
    ax.set_xticks(sizes)
    ax.set_xlabel("synthetic training articles")
    ax.set_ylabel("F1 on the held-out article")
    ax.set_ylim(0, 1.05)
    ax.set_title("learning curve over the synthetic corpus (mean ± sample std over folds)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    _save(fig, path)
