#!/usr/bin/env bash
# Create .venv and install eebench with everything it needs (torch first: `torch==2.13.0` takes the local CPU
# build; installing it before the rest keeps pip from pulling a CUDA build). Does nothing when up to date.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${EEBENCH_VENV:-.venv}
PYTHON=${PYTHON:-python3}
STAMP="$VENV/.eebench-installed"
WANT=$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -d' ' -f1)

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ]; then
    exit 0
fi
echo "eebench setup: installing into $VENV (first time only; a few minutes)" >&2
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet "torch==${EEBENCH_TORCH_VERSION:-2.13.0}"
"$VENV/bin/python" -m pip install --quiet -e ".[test]"
echo "$WANT" > "$STAMP"
