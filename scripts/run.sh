#!/usr/bin/env bash
# The main job: set up, run the embedded default grid with Snakemake's local executor, build the HTML report.
# Extra arguments go to snakemake (e.g. a target file, --configfile, -n).
set -euo pipefail
source "$(dirname "$0")/env.sh"
snakemake --cores all --scheduler greedy "$@"
REPORT=$(python -c "import yaml,sys; print(yaml.safe_load(open('config/config.yaml')).get('results_dir','results'))")/report.html
if [ "$#" -eq 0 ]; then
    snakemake --report "$REPORT" >/dev/null 2>&1 || snakemake --report "$REPORT"
    echo "eebench: report written to $PWD/$REPORT"
fi
