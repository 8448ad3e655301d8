#!/usr/bin/env bash
# Set up and run only the SLURM tests (tests/test_slurm.py): they start a one-node SLURM cluster on this machine
# (tests/slurm/start-cluster.sh: apt-get installs slurm + munge if missing), run a tiny grid through the project's
# profile (slurm/) on it, and stop the cluster by PID. Needs root on a Debian-like machine; elsewhere the tests skip.
# About 3 minutes on 2 cores. Extra arguments go to pytest.
set -euo pipefail
source "$(dirname "$0")/env.sh"
# The executor plugin, an optional extra. Where this script installs it, it removes it again afterwards: once
# installed, every snakemake call imports it, and on a machine whose SLURM controller is down (as here once the
# test cluster has stopped) that import stalls ~9 s in `scontrol`, local runs included.
had_plugin=$(python -c "import importlib.util; print(int(importlib.util.find_spec('snakemake_executor_plugin_slurm') is not None))")
python -m pip install --quiet -e ".[slurm]"
if [ "$had_plugin" = 0 ]; then
    trap 'python -m pip uninstall --quiet -y snakemake-executor-plugin-slurm snakemake-executor-plugin-slurm-jobstep' EXIT
fi
python -m pytest -m slurm tests/test_slurm.py "$@"
