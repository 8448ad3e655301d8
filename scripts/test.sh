#!/usr/bin/env bash
# Set up and run the whole test suite (unit, real-data and end-to-end DAG tests). Extra arguments go to pytest.
set -euo pipefail
source "$(dirname "$0")/env.sh"
exec python -m pytest "$@"
