"""The event groupings side by side on annotated articles a model never saw: record metrics, pooled and
per-article mean, for each `grouping` of one model on the same spans and relations.

The seed cross-validation scores five articles; articles written after a model was trained are a second,
larger check of how mentions are put into events (synthetic, and rich in multi-episode articles, so it
leans the other way from the real ones):

    .venv/bin/python eval/grouping_unseen.py --model DIR --corpus annotations/synthetic/synthetic.json \\
        --not-in OLDER_EXPORT.json

`--not-in` keeps only the articles absent from an older export (the corpus the model trained on).
The model's training.json is checked: an article whose text it trained on is refused."""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from clashwatch.corpus import load_export  # noqa: E402
from clashwatch.grouping import GROUPINGS  # noqa: E402
from clashwatch.scoring import RECORD_METRICS, score_records  # noqa: E402


def unseen(docs, model_dir: Path) -> list:
    trained = set(json.loads((model_dir / "training.json").read_text(encoding="utf-8"))["data"]["text_sha256"])
    seen = [d.doc_id for d in docs if hashlib.sha256(d.text.encode("utf-8")).hexdigest() in trained]
    if seen:
        raise SystemExit(f"the model trained on {len(seen)} of these articles (e.g. {seen[0]}): not unseen")
    return docs


def score_grouping(model_dir: Path, grouping: str, docs) -> dict:
    from clashwatch.predict import Extractor

    extractor = Extractor.load(model_dir, grouping=grouping, quiet=True)
    result = score_records([(doc, extractor.extract(doc.text, doc_id=doc.doc_id).to_document()) for doc in docs])
    return {"pooled": {m: result["pooled"][m]["f1"] for m in RECORD_METRICS},
            "records_mean": statistics.fmean(a["records"]["f1"] for a in result["per_article"].values()),
            "predicted_records": result["pooled"]["predicted_records"], "gold_records": result["pooled"]["gold_records"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--not-in", type=Path, help="keep only articles absent from this (older) export")
    args = parser.parse_args()
    docs = load_export(args.corpus)
    if args.not_in:
        older = {d.doc_id for d in load_export(args.not_in)}
        docs = [d for d in docs if d.doc_id not in older]
    docs = unseen(docs, args.model)
    print(f"{len(docs)} articles the model never saw; record metrics, pooled F1 (records also per-article mean)")
    print("| grouping | records | records (mean) | predicted / gold | " + " | ".join(RECORD_METRICS[1:]) + " |")
    print("|---|---:|---:|---:|" + "---:|" * (len(RECORD_METRICS) - 1))
    for grouping in GROUPINGS:
        r = score_grouping(args.model, grouping, docs)
        print(f"| {grouping} | {r['pooled']['records']:.3f} | {r['records_mean']:.3f} | "
              f"{r['predicted_records']} / {r['gold_records']} | "
              + " | ".join(f"{r['pooled'][m]:.3f}" for m in RECORD_METRICS[1:]) + " |")


if __name__ == "__main__":
    main()
