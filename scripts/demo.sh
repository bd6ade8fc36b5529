#!/usr/bin/env bash
# The main job on the embedded default: train models/default if it is missing, then extract the
# events of a sample article and print a readable summary.
set -euo pipefail
cd "$(dirname "$0")/.."
CLASHWATCH_SKIP_LS=1 bash scripts/setup-venv.sh
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
model=${CLASHWATCH_MODEL:-models/default}
if [ ! -f "$model/training.json" ]; then
  echo "no trained model at $model: training it with train/default.yaml (about 15 minutes on 2 CPU cores)" >&2
  .venv/bin/clashwatch train --config train/default.yaml --out "$model"
fi
article=${1:-annotations/samples/sample_article.txt}
.venv/bin/clashwatch extract "$article" --model "$model" --published "${PUBLISHED:-2026-11-20}" --format summary
