"""The evaluation report: eval/reports/NAME/ with metrics.json, report.md, report.html and PNG plots.

The model (if any) and the baseline are scored by the same code on the same gold; the report holds the
headline table, per-label bars, a span-label confusion matrix, an error table with context, the model
card facts and the cross-validation spread when eval/reports/crossval/metrics.json exists."""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from pathlib import Path

from . import baseline
from .corpus import load_export, write_json_atomic, write_text_atomic
from .scoring import HEADLINE, EvaluationError, score
from .schema import RELATION_LABELS, SPAN_LABELS, SPEC_VERSION, Document, ModelNotFoundError

REPORTS_DIR = Path("eval") / "reports"  # relative to where the command runs (a checkout's root)
CROSSVAL_METRICS = REPORTS_DIR / "crossval" / "metrics.json"
MISSED, SPURIOUS = "missed", "spurious"
ERROR_ROWS = 40  # per error kind in the tables; metrics.json keeps the counts


# ---------------------------------------------------------------- model folder


def check_model_labels(model_dir: Path) -> None:
    """Raise before scoring when the model folder is incomplete or was trained on another label set."""
    from .modeling import check_model_folder

    check_model_folder(model_dir)
    id2label = json.loads((model_dir / "tagger" / "config.json").read_text(encoding="utf-8")).get("id2label") or {}
    labels = {t.split("-", 1)[1] for t in id2label.values() if t != "O"}
    rel = json.loads((model_dir / "relation_config.json").read_text(encoding="utf-8"))
    relations = [r for r in rel.get("relation_classes", []) if r != "none"]
    if labels != set(SPAN_LABELS) or set(relations) != set(RELATION_LABELS):
        raise EvaluationError(
            f"{model_dir} has span labels {sorted(labels)} and relations {sorted(relations)}; spec "
            f"{SPEC_VERSION} has {sorted(SPAN_LABELS)} and {sorted(RELATION_LABELS)}")


def trained_on(model_dir: Path, gold: list[Document]) -> list[str]:
    """The gold documents whose text the model was trained on (per-document text hashes in training.json),
    whatever file they come from."""
    from .train import text_hashes

    info = json.loads((model_dir / "training.json").read_text(encoding="utf-8"))
    seen = set((info.get("data") or {}).get("text_sha256") or [])
    return [d.doc_id for d in gold if text_hashes([d])[0] in seen]


def model_card(model_dir: Path) -> dict:
    """Base model, data hashes, commit and times from training.json / config.yaml (missing keys omitted)."""
    import yaml

    card: dict = {"model": str(model_dir)}
    config_path, training_path = model_dir / "config.yaml", model_dir / "training.json"
    if config_path.exists():
        config = yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}
        card["base_model"] = config.get("base_model")
        card["sources"] = [s.get("path") for s in (config.get("data") or {}).get("sources") or []]
        card["augment"] = (config.get("augment") or {}).get("enabled")
    if training_path.exists():
        training = json.loads(training_path.read_text(encoding="utf-8"))
        card["base_model"] = training.get("base_model") or card.get("base_model")
        if training.get("base_model_resolved"):
            card["base_model_resolved"] = training["base_model_resolved"]
        card["commit"] = training.get("git_commit") or training.get("commit")
        data = training.get("data") or {}
        hashes = {s.get("path"): s.get("sha256") for s in data.get("sources") or [] if isinstance(s, dict)}
        if isinstance(data.get("intermediate"), dict):
            hashes[data["intermediate"].get("path")] = data["intermediate"].get("sha256")
        card["data_hashes"] = hashes
        card["training_documents"] = data.get("documents")
        for key in ("spec_version", "started", "finished", "seconds", "train_seconds"):
            if training.get(key) is not None:
                card[key] = training[key]
    return card


def predict_documents(model_dir: Path, gold: list[Document]) -> list[Document]:
    """The model's predictions for the gold texts; a document that fails aborts the evaluation."""
    from .predict import BatchItemError, Extractor

    extractor = Extractor.load(model_dir)
    out = []
    for d in gold:
        item = next(extractor.extract_batch([d.text], doc_ids=[d.doc_id],
                                            published=(d.meta.get("data") or {}).get("published")))
        if isinstance(item, BatchItemError):
            raise EvaluationError(f"prediction failed: {item}")
        out.append(item.to_document())
    return out


# ---------------------------------------------------------------- error analysis


def _context(text: str, start: int, end: int, width: int = 40) -> str:
    left = text[max(0, start - width) : start].replace("\n", " ")
    right = text[end : end + width].replace("\n", " ")
    return f"…{left}[[{text[start:end]}]]{right}…"


def _overlap(a, b) -> int:
    return max(0, min(a.end, b.end) - max(a.start, b.start))


def confusion(gold: list[Document], pred: list[Document]) -> dict[str, dict[str, int]]:
    """gold label -> predicted label counts: each gold span against the predicted span overlapping it
    most (else `missed`), and each predicted span overlapping no gold span as `spurious`."""
    matrix = {g: {p: 0 for p in (*SPAN_LABELS, MISSED)} for g in (*SPAN_LABELS, SPURIOUS)}
    by_id = {d.doc_id: d for d in pred}
    for g in gold:
        p = by_id.get(g.doc_id) or Document(g.doc_id, g.text)
        for s in g.spans:
            best = max(p.spans, key=lambda q: _overlap(s, q), default=None)
            matrix[s.label][best.label if best and _overlap(s, best) else MISSED] += 1
        for q in p.spans:
            if not any(_overlap(s, q) for s in g.spans):
                matrix[SPURIOUS][q.label] += 1
    return matrix


def errors(gold: list[Document], pred: list[Document]) -> dict[str, list[dict]]:
    """Missed, spurious, wrong-label, wrong-boundary spans and wrong-role / missed / spurious relations."""
    out: dict[str, list[dict]] = {k: [] for k in ("missed", "spurious", "wrong_label", "boundary",
                                                  "wrong_role", "missed_relation", "spurious_relation")}
    by_id = {d.doc_id: d for d in pred}
    for g in gold:
        p = by_id.get(g.doc_id) or Document(g.doc_id, g.text)
        exact = {(s.start, s.end, s.label) for s in p.spans}
        for s in g.spans:
            if (s.start, s.end, s.label) in exact:
                continue
            over = [q for q in p.spans if _overlap(s, q)]
            row = {"doc": g.doc_id, "gold": s.label, "context": _context(g.text, s.start, s.end)}
            if not over:
                out["missed"].append({**row, "predicted": ""})
            elif any(q.label == s.label for q in over):
                q = next(q for q in over if q.label == s.label)
                out["boundary"].append({**row, "predicted": f"{q.label} {q.text!r}"})
            else:
                out["wrong_label"].append({**row, "predicted": ", ".join(f"{q.label} {q.text!r}" for q in over)})
        for q in p.spans:
            if not any(_overlap(s, q) for s in g.spans):
                out["spurious"].append({"doc": g.doc_id, "gold": "", "predicted": q.label,
                                        "context": _context(g.text, q.start, q.end)})
        out_rel = _relation_errors(g, p)
        for k, v in out_rel.items():
            out[k] += v
    return out


def _relation_errors(g: Document, p: Document) -> dict[str, list[dict]]:
    def pairs(doc: Document) -> dict[tuple, set[str]]:
        spans, found = doc.span_by_id(), {}
        for r in doc.relations:
            if r.head in spans and r.tail in spans:
                h, t = spans[r.head], spans[r.tail]
                found.setdefault((h.start, h.end, h.label, t.start, t.end, t.label, h.text, t.text), set()).add(r.label)
        return found

    gp, pp = pairs(g), pairs(p)
    out = {"wrong_role": [], "missed_relation": [], "spurious_relation": []}
    for key in sorted(set(gp) | set(pp)):
        gl, pl = gp.get(key, set()), pp.get(key, set())
        if gl == pl:
            continue
        row = {"doc": g.doc_id, "gold": ", ".join(sorted(gl)), "predicted": ", ".join(sorted(pl)),
               "context": f"{key[6]!r} → {key[7]!r}"}
        out["wrong_role" if gl and pl else "missed_relation" if gl else "spurious_relation"].append(row)
    return out


# ---------------------------------------------------------------- plots


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def bar_chart(path: Path, labels: list[str], series: dict[str, list[float]], title: str,
              errors: dict[str, list[float]] | None = None, ylabel: str = "F1") -> None:
    """Grouped bars (one group per label, one bar per series), optional error bars; written atomically."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(max(6, 0.9 * len(labels) * max(1, len(series)) * 0.6 + 2), 3.6))
    width = 0.8 / max(1, len(series))
    for n, (name, values) in enumerate(series.items()):
        xs = [i + (n - (len(series) - 1) / 2) * width for i in range(len(labels))]
        ax.bar(xs, values, width, label=name, yerr=(errors or {}).get(name), capsize=3)
    ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    _save(fig, path)


def confusion_plot(path: Path, matrix: dict[str, dict[str, int]], title: str) -> None:
    plt = _plt()
    rows, cols = list(matrix), list(next(iter(matrix.values())))
    values = [[matrix[r][c] for c in cols] for r in rows]
    fig, ax = plt.subplots(figsize=(7.5, 6))
    ax.imshow(values, cmap="Blues")
    ax.set_xticks(range(len(cols)), cols, rotation=45, ha="right")
    ax.set_yticks(range(len(rows)), rows)
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    for i, row in enumerate(values):
        for j, v in enumerate(row):
            if v:
                ax.text(j, i, str(v), ha="center", va="center", fontsize=8)
    ax.set_title(title)
    fig.tight_layout()
    _save(fig, path)


def _save(fig, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=110)
    _plt().close(fig)
    tmp.replace(path)


# ---------------------------------------------------------------- md + html from one description


@dataclass
class Page:
    title: str
    md: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)

    def heading(self, text: str) -> None:
        self.md.append(f"\n## {text}\n")
        self.html.append(f"<h2>{html.escape(text)}</h2>")

    def para(self, text: str) -> None:
        self.md.append(text + "\n")
        self.html.append(f"<p>{html.escape(text)}</p>")

    def image(self, name: str, alt: str) -> None:
        self.md.append(f"![{alt}]({name})\n")
        self.html.append(f'<img src="{html.escape(name)}" alt="{html.escape(alt)}">')

    def table(self, headers: list[str], rows: list[list]) -> None:
        cell = lambda v: f"{v:.3f}" if isinstance(v, float) else str(v)  # noqa: E731
        md_cell = lambda v: cell(v).replace("|", "\\|").replace("\n", " ")  # noqa: E731
        self.md.append("| " + " | ".join(headers) + " |")
        self.md.append("|" + "---|" * len(headers))
        self.md += ["| " + " | ".join(md_cell(v) for v in row) + " |" for row in rows]
        self.md.append("")
        head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(cell(v))}</td>" for v in row) + "</tr>" for row in rows)
        self.html.append(f"<table><tr>{head}</tr>{body}</table>")

    def write(self, out_dir: Path) -> None:
        md = f"# {self.title}\n" + "\n".join(self.md) + "\n"
        style = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto}table{border-collapse:collapse;"
                 "margin:.5em 0}td,th{border:1px solid #ccc;padding:2px 6px;font-size:13px}img{max-width:100%}")
        page = (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(self.title)}</title>"
                f"<style>{style}</style></head><body><h1>{html.escape(self.title)}</h1>\n" + "\n".join(self.html)
                + "\n</body></html>\n")
        write_text_atomic(out_dir / "report.md", md)
        write_text_atomic(out_dir / "report.html", page)


def crossval_section(page: Page, cv: dict, image_prefix: str = "") -> None:
    """The mean ± std table of a crossval metrics.json (also used by crossval's own report)."""
    summary = cv.get("summary") or {}
    names = list(HEADLINE) + ["relation_same_event_f1"]
    rows = []
    for variant, stats in summary.items():
        rows.append([variant, stats.get("folds", 0)] +
                    [f"{stats[m]['mean']:.3f} ± {stats[m]['std']:.3f}" if m in stats else "–" for m in names])
    page.table(["variant / readout", "folds"] + names, rows)
    failed = [f"{f['variant']}/{f['held_out']}: {f['error']}" for f in cv.get("folds", []) if f.get("error")]
    if failed:
        page.para("Failed folds: " + "; ".join(failed))
    for name, alt in (("crossval_variants.png", "variants, mean ± std"), ("learning_curve.png", "learning curve")):
        if (cv.get("plots") or {}).get(name):
            page.image(image_prefix + name, alt)


# ---------------------------------------------------------------- the report


def records_section(page: Page, results: dict) -> None:
    """What analysts read: event records (matched by overlapping triggers) and their figures, actors and
    places in the right record, pooled and per article, every system side by side."""
    from .scoring import RECORD_METRICS

    page.heading("Event records (what an analyst reads)")
    page.para("A predicted record matches a gold record of the same type when their triggers overlap (one to "
              "one); figures count when their span sits in the matched record, actors and places by their words.")
    page.table(["metric"] + [f"{n} {k}" for n in results for k in ("P", "R", "F1")],
               [[m] + [r["records"]["pooled"][m][k] for r in results.values() for k in ("precision", "recall", "f1")]
                for m in RECORD_METRICS] +
               [["records predicted / gold"] + [v for r in results.values() for v in
                                                (r["records"]["pooled"]["predicted_records"],
                                                 r["records"]["pooled"]["gold_records"], "")]])
    docs = list(next(iter(results.values()))["records"]["per_article"])
    page.table(["article"] + [f"{n} {m}" for n in results for m in ("records", "killed_in_record")],
               [[d] + [r["records"]["per_article"][d][m]["f1"] for r in results.values()
                       for m in ("records", "killed_in_record")] for d in docs])


def write_report(out_dir: Path, gold: list[Document], systems: dict[str, list[Document]], *,
                 card: dict | None = None, crossval: dict | None = None, title: str = "clashwatch evaluation") -> dict:
    """Score every system on the gold and write metrics.json, report.md, report.html and the plots.
    The first system is the one analysed (confusion matrix, errors)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    results = {name: score(gold, pred) for name, pred in systems.items()}  # raises before anything is written
    main = next(iter(systems))
    matrix = confusion(gold, systems[main])
    errs = errors(gold, systems[main])

    bar_chart(out_dir / "span_f1.png", list(SPAN_LABELS),
              {n: [r["spans_char"]["per_label"][lab]["f1"] for lab in SPAN_LABELS] for n, r in results.items()},
              "exact char-span F1 per label")
    bar_chart(out_dir / "relation_f1.png", list(RELATION_LABELS),
              {n: [r["relations"]["per_label"][lab]["f1"] for lab in RELATION_LABELS] for n, r in results.items()},
              "strict relation F1 per label")
    confusion_plot(out_dir / "confusion.png", matrix, f"span labels, {main}: gold vs predicted (overlap)")

    page = Page(title)
    page.para(f"Gold: {len(gold)} documents, {sum(len(d.spans) for d in gold)} spans, "
              f"{sum(len(d.relations) for d in gold)} relations; spec {SPEC_VERSION}. Systems: {', '.join(systems)}.")
    if card and card.get("gold_in_training_data"):
        seen = card["gold_in_training_data"]
        page.para(f"Warning: {len(seen)} of these {len(gold)} gold documents were part of the model's training data "
                  f"({', '.join(seen)}), so the model's scores on them measure fit, not generalisation. Read the "
                  "cross-validation section for held-out scores.")
    page.heading("Headline metrics (F1)")
    page.table(["metric"] + list(results), [[m] + [r["headline"].get(m, "–") for r in results.values()]
                                            for m in HEADLINE])
    records_section(page, results)
    page.heading("Model card")
    if card:
        page.table(["fact", "value"], [[k, json.dumps(v, ensure_ascii=False) if not isinstance(v, str) else v]
                                       for k, v in card.items()])
    else:
        page.para("No model folder given: the baseline alone is scored.")
    page.heading("Spans per label")
    page.image("span_f1.png", "span F1 per label")
    page.table(["label"] + [f"{n} {k}" for n in results for k in ("char F1", "IOB2 F1", "support")],
               [[lab] + [v for r in results.values() for v in (r["spans_char"]["per_label"][lab]["f1"],
                                                                r["spans_iob2"]["per_label"][lab]["f1"],
                                                                r["spans_char"]["per_label"][lab]["support"])]
                for lab in SPAN_LABELS])
    page.heading("Relations per label")
    page.image("relation_f1.png", "relation F1 per label")
    page.table(["relation"] + [f"{n} {k}" for n in results for k in ("P", "R", "F1", "support")],
               [[lab] + [r["relations"]["per_label"][lab][k] for r in results.values()
                         for k in ("precision", "recall", "f1", "support")] for lab in RELATION_LABELS])
    page.heading("Triggers and arguments (ACE style)")
    page.table(["score"] + list(results),
               [[f"{part} {kind}"] + [r[part][kind]["f1"] for r in results.values()]
                for part in ("triggers", "arguments") for kind in ("identification", "classification")])
    page.heading("Event records")
    fields = list(next(iter(results.values()))["events"]["fields"])
    page.table(["field"] + [f"{n} F1" for n in results],
               [["records"] + [r["events"]["records"]["f1"] for r in results.values()]] +
               [[f] + [r["events"]["fields"][f]["f1"] for r in results.values()] for f in fields] +
               [["micro"] + [r["events"]["micro"]["f1"] for r in results.values()],
                ["casualty value exact"] + [r["events"]["casualty_exact"]["accuracy"] for r in results.values()]])
    page.heading(f"Confusion matrix of span labels ({main})")
    page.image("confusion.png", "span label confusion matrix")
    cols = list(next(iter(matrix.values())))
    page.table(["gold \\ predicted"] + cols, [[g] + [matrix[g][c] for c in cols] for g in matrix])
    page.heading(f"Errors ({main})")
    page.para("Counts: " + ", ".join(f"{k} {len(v)}" for k, v in errs.items()) +
              f". At most {ERROR_ROWS} rows per kind are listed.")
    for kind, rows in errs.items():
        if rows:
            page.para(kind.replace("_", " "))
            page.table(["doc", "gold", "predicted", "context"],
                       [[r["doc"], r["gold"], r["predicted"], r["context"]] for r in rows[:ERROR_ROWS]])
    page.heading("Cross-validation (leave one document out)")
    if crossval:
        source = Path(crossval.get("dir") or CROSSVAL_METRICS.parent)
        for plot in crossval.get("plots") or {}:  # copied so the report folder stands alone
            if (source / plot).exists():
                (out_dir / plot).write_bytes((source / plot).read_bytes())
        crossval_section(page, crossval)
    else:
        page.para("Not run yet: `clashwatch crossval --config train/FAST.yaml` writes eval/reports/crossval/.")

    metrics = {"spec_version": SPEC_VERSION, "systems": results, "model_card": card or {},
               "confusion": matrix, "error_counts": {k: len(v) for k, v in errs.items()},
               "errors": {k: v[:ERROR_ROWS] for k, v in errs.items()},
               "crossval": (crossval or {}).get("summary")}
    write_json_atomic(out_dir / "metrics.json", metrics)
    page.write(out_dir)
    return metrics


def evaluate(gold_path: str | Path, model_dir: str | Path | None = None, out_dir: str | Path | None = None,
             crossval_path: str | Path | None = CROSSVAL_METRICS) -> Path:
    """Validate the gold, check the model's labels, predict, score model and baseline, write the report."""
    from .crossval import refuse_synthetic

    gold = load_export(gold_path)  # AnnotationError on an invalid gold, before anything else
    refuse_synthetic(gold, str(gold_path))
    systems: dict[str, list[Document]] = {}
    card = None
    if model_dir is not None:
        model_dir = Path(model_dir)
        if not model_dir.is_dir():
            raise ModelNotFoundError(f"no model folder at {model_dir}")
        check_model_labels(model_dir)
        card = model_card(model_dir)
        card["gold_in_training_data"] = trained_on(model_dir, gold)
        systems[model_dir.name] = predict_documents(model_dir, gold)
    systems["baseline"] = baseline.extract_documents(gold)
    name = model_dir.name if model_dir is not None else "baseline"
    out = Path(out_dir) if out_dir else REPORTS_DIR / name
    cv = None
    if crossval_path and Path(crossval_path).exists():
        cv = {**json.loads(Path(crossval_path).read_text(encoding="utf-8")), "dir": str(Path(crossval_path).parent)}
    write_report(out, gold, systems, card=card, crossval=cv, title=f"clashwatch evaluation: {name}")
    return out
