#!/usr/bin/env bash
# The main job on the embedded default: extract the events of a sample article with the shipped model
# (models/default: LoRA adapters and heads over the packaged MPNet encoder) and print a readable summary.
# Nothing is trained here: `bash scripts/train-default.sh` retrains the default (about 45 min on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
CLASHWATCH_SKIP_LS=1 bash scripts/setup-venv.sh
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
article=${1:-annotations/samples/sample_article.txt}
.venv/bin/clashwatch extract "$article" --model "${CLASHWATCH_MODEL:-models/default}" \
  --published "${PUBLISHED:-2026-11-20}" --format summary --quiet
