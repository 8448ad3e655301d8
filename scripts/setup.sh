#!/usr/bin/env bash
# Create .venv and install eebench with everything it needs (torch first: `torch==2.13.0` takes the local CPU
# build; installing it before the rest keeps pip from pulling a CUDA build). Does nothing when up to date.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${EEBENCH_VENV:-.venv}
PYTHON=${PYTHON:-python3}
STAMP="$VENV/.eebench-installed"
# pycocoevalcap (captioning metrics) runs Java for its PTB tokenizer and METEOR.
if ! command -v java >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "eebench setup: installing a Java runtime for pycocoevalcap (apt-get install default-jre-headless)" >&2
        apt-get install -y -qq default-jre-headless >/dev/null || { apt-get update -qq && apt-get install -y -qq default-jre-headless >/dev/null; } || true
    fi
    command -v java >/dev/null 2>&1 || echo "eebench setup: warning: 'java' not found; the captioning metrics" \
        "(pycocoevalcap's PTB tokenizer and METEOR) need it: install a Java runtime (apt-get install" \
        "default-jre-headless, or conda install openjdk). Everything else works without it." >&2
fi
WANT=$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -d' ' -f1)

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ]; then
    exit 0
fi
echo "eebench setup: installing into $VENV (first time only; a few minutes)" >&2
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet "torch==${EEBENCH_TORCH_VERSION:-2.13.0}"
"$VENV/bin/python" -m pip install --quiet -e ".[test]"
# Byte-compile once: with PYTHONDONTWRITEBYTECODE set (as on some CI machines) no .pyc is ever cached, and every
# Snakemake job would compile torch and transformers from source again (tens of seconds each). A few files that
# packages ship only as data do not compile; that is expected.
"$VENV/bin/python" -m compileall -q -j 0 "$VENV/lib" >/dev/null 2>&1 || true
echo "$WANT" > "$STAMP"
