#!/usr/bin/env bash
# Set up and run the whole test suite (unit, real-data and end-to-end DAG tests), then the SLURM tests, which need
# the executor plugin (the optional extra `eebench[slurm]`, installed by scripts/test-slurm.sh) and start a local
# cluster. The suite includes every paper grid's smoke run (marker paper_smoke; `-m paper_smoke` runs just those).
# Extra arguments go to pytest and run just those tests, without the SLURM step.
set -euo pipefail
source "$(dirname "$0")/env.sh"
if [ "$#" -gt 0 ]; then
    exec python -m pytest "$@"
fi
# One worker per CPU; each test file stays on one worker, so module fixtures (trained models) are built once.
python -m pytest -m "not slurm" -n auto --dist loadfile --durations=15
exec bash scripts/test-slurm.sh
