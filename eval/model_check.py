"""Model-assisted check of the synthetic corpus: split it in two halves (seeded), train the fast recipe on
the gold and one half, predict the other half, and list every span on which model and annotation
disagree, per writer batch, for a reviewer to adjudicate (an annotation error is fixed in the .ann file,
a model error is left).

    .venv/bin/python eval/model_check.py --out annotations/synthetic/check

Articles written after a model was trained are checked with that model (no training; it must not have
seen them): `--model models/some-model --batches s t u` predicts only those batches' articles.

Writes OUT/predictions_{a,b}.json (the model's predictions as Label Studio exports) and
OUT/batch_<letter>.md (the disagreements of that batch's articles, from `clashwatch.agreement`)."""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from clashwatch.agreement import agreement, write_agreement  # noqa: E402
from clashwatch.config import config_from_dict, load_config  # noqa: E402
from clashwatch.corpus import load_export, write_export  # noqa: E402

SYNTHETIC = REPO / "annotations" / "synthetic" / "synthetic.json"


def halves(docs, seed: int = 0):
    shuffled = list(docs)
    random.Random(seed).shuffle(shuffled)
    middle = len(shuffled) // 2
    return shuffled[:middle], shuffled[middle:]


def train_on(half, config_path: Path, work: Path, name: str) -> Path:
    from clashwatch.train import train

    data = work / f"train_{name}.json"
    write_export(data, half)
    obj = load_config(config_path).model_dump(mode="json")
    obj["data"]["sources"] = [s for s in obj["data"]["sources"] if s.get("gold", True)] + [
        {"path": str(data), "weight": 2.0, "gold": False, "augment": False}]
    return train(config_from_dict(obj, f"model check {name}"), work / f"model_{name}")


def predict(model_dir: Path, docs) -> list:
    from clashwatch.predict import Extractor

    extractor = Extractor.load(model_dir)
    out = []
    for doc in docs:
        ex = extractor.extract(doc.text, doc_id=doc.doc_id)
        pred = ex.to_document()
        pred.meta = {"data": {"synthetic": True}}
        out.append(pred)
    return out


def _batch(doc_id: str) -> str:
    return doc_id.removeprefix("syn_")[0]


def predict_halves(docs, config: Path, out: Path, seed: int) -> list:
    """Train on each half (with the gold), predict the other half."""
    first, second = halves(docs, seed)
    work = Path(tempfile.mkdtemp(prefix="clashwatch-check-"))
    predictions = []
    try:
        for name, train_half, test_half in (("a", first, second), ("b", second, first)):
            model = train_on(train_half, config, work, name)
            pred = predict(model, test_half)
            write_export(out / f"predictions_{name}.json", pred)
            predictions += pred
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return predictions


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default=str(REPO / "train" / "fast.yaml"))
    parser.add_argument("--out", default=str(REPO / "annotations" / "synthetic" / "check"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--corpus", default=str(SYNTHETIC), help="the synthetic export to check")
    parser.add_argument("--model", help="a trained model that never saw the checked articles (no training)")
    parser.add_argument("--batches", nargs="+", help="with --model: the writer batches to check")
    args = parser.parse_args(argv)
    out = Path(args.out)
    docs = load_export(args.corpus)
    if args.model:
        docs = [d for d in docs if _batch(d.doc_id) in set(args.batches or [])]
        if not docs:
            parser.error(f"no article of batches {args.batches} in {args.corpus}")
        predictions = predict(Path(args.model), docs)
        write_export(out / f"predictions_{'_'.join(args.batches)}.json", predictions)
    else:
        predictions = predict_halves(docs, Path(args.config), out, args.seed)
    by_batch = defaultdict(list)
    for doc in docs:
        by_batch[_batch(doc.doc_id)].append(doc)
    predicted = {d.doc_id: d for d in predictions}
    for batch, gold in sorted(by_batch.items()):
        result = agreement(gold, [predicted[d.doc_id] for d in gold])
        other = "model (never trained on these articles)" if args.model else "model (trained on the other half)"
        write_agreement(out / f"batch_{batch}.md", result, "annotation", other)
        print(f"batch {batch}: {len(gold)} articles, span F1 {result['spans']['f1']:.3f}, "
              f"{len(result['disagreements'])} span disagreements")
    return 0


if __name__ == "__main__":
    sys.exit(main())
