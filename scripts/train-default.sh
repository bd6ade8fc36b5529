#!/usr/bin/env bash
# Retrain the shipped default model (train/default.yaml: MPNet-base + LoRA, a step budget of about 45 min
# on 2 CPU cores) into models/default; the previous model stays until the new one is complete.
set -euo pipefail
cd "$(dirname "$0")/.."
CLASHWATCH_SKIP_LS=1 bash scripts/setup-venv.sh
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
.venv/bin/clashwatch train --config train/default.yaml --out "${1:-models/default}"
