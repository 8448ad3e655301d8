#!/usr/bin/env bash
# The main job: set up, run the embedded default grid (captioning included) with Snakemake's local executor, build
# the HTML report. Extra arguments go to snakemake (e.g. a target file, --configfile, -n).
set -euo pipefail
source "$(dirname "$0")/env.sh"
# Snakemake renders a --configfile that sets `__use_yte__: true` (running the Python in it) before the workflow's own
# check can refuse it, so every config file named in the arguments is checked first (config/README.md).
configs=() taking=0
for arg in "$@"; do
    case "$arg" in
        --configfile | --configfiles) taking=1 ;;
        --configfile=* | --configfiles=*) configs+=("${arg#*=}") taking=0 ;;
        -*) taking=0 ;;
        *) if [ "$taking" = 1 ]; then configs+=("$arg"); fi ;;
    esac
done
for file in ${configs[@]+"${configs[@]}"}; do
    eebench validate-config "$file" >/dev/null
done
snakemake --cores all --scheduler greedy "$@"
REPORT=$(results_dir config/config.yaml results)/report.html
if [ "$#" -eq 0 ]; then
    snakemake --report "$REPORT" >/dev/null 2>&1 || snakemake --report "$REPORT"
    echo "eebench: report written to $PWD/$REPORT"
fi
