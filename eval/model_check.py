"""Model-assisted check of the synthetic corpus: split it in two halves (seeded), train the fast recipe on
the gold and one half, predict the other half, and list every span on which model and annotation
disagree, per writer batch, for a reviewer to adjudicate (an annotation error is fixed in the .ann file,
a model error is left).

    .venv/bin/python eval/model_check.py --out annotations/synthetic/check

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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default=str(REPO / "train" / "fast.yaml"))
    parser.add_argument("--out", default=str(REPO / "annotations" / "synthetic" / "check"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    out = Path(args.out)
    docs = load_export(SYNTHETIC)
    first, second = halves(docs, args.seed)
    work = Path(tempfile.mkdtemp(prefix="clashwatch-check-"))
    predictions = []
    try:
        for name, train_half, test_half in (("a", first, second), ("b", second, first)):
            model = train_on(train_half, Path(args.config), work, name)
            pred = predict(model, test_half)
            write_export(out / f"predictions_{name}.json", pred)
            predictions += pred
    finally:
        shutil.rmtree(work, ignore_errors=True)
    by_batch = defaultdict(list)
    for doc in docs:
        by_batch[doc.doc_id.removeprefix("syn_")[0]].append(doc)
    predicted = {d.doc_id: d for d in predictions}
    for batch, gold in sorted(by_batch.items()):
        result = agreement(gold, [predicted[d.doc_id] for d in gold])
        write_agreement(out / f"batch_{batch}.md", result, "annotation", "model (trained on the other half)")
        print(f"batch {batch}: {len(gold)} articles, span F1 {result['spans']['f1']:.3f}, "
              f"{len(result['disagreements'])} span disagreements")
    return 0


if __name__ == "__main__":
    sys.exit(main())
