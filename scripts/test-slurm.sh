#!/usr/bin/env bash
# Set up and run only the SLURM tests (tests/test_slurm.py): they start a one-node SLURM cluster on this machine
# (tests/slurm/start-cluster.sh: apt-get installs slurm + munge if missing), run a tiny grid through the project's
# profile (slurm/) on it, and stop the cluster by PID. Needs root on a Debian-like machine; elsewhere the tests skip.
# About 3 minutes on 2 cores. Extra arguments go to pytest.
set -euo pipefail
source "$(dirname "$0")/env.sh"
python -m pip install --quiet -e ".[slurm]"  # the executor plugin, an optional extra
exec python -m pytest -m slurm tests/test_slurm.py "$@"
