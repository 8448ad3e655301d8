#!/usr/bin/env bash
# The main job: set up, run the embedded default grid with Snakemake's local executor, build the HTML report;
# then the captioning track's embedded grid (config/captioning.yaml, workflow/captioning.smk) and its report.
# Extra arguments go to the main grid's snakemake only (e.g. a target file, --configfile, -n).
set -euo pipefail
source "$(dirname "$0")/env.sh"
results_dir() { python -c "import yaml,sys; print(yaml.safe_load(open(sys.argv[1])).get('results_dir', sys.argv[2]))" "$@"; }
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
    if command -v java >/dev/null 2>&1; then
        CAPTION_REPORT=$(results_dir config/captioning.yaml results/captioning)/report.html
        snakemake -s workflow/captioning.smk --cores all --scheduler greedy
        snakemake -s workflow/captioning.smk --report "$CAPTION_REPORT" >/dev/null 2>&1 \
            || snakemake -s workflow/captioning.smk --report "$CAPTION_REPORT"
        echo "eebench: captioning report written to $PWD/$CAPTION_REPORT"
    else
        echo "eebench: skipped the captioning grid: 'java' is not on PATH and pycocoevalcap's PTB tokenizer and" \
            "METEOR need it (install a Java runtime, e.g. apt-get install default-jre-headless, then rerun)" >&2
    fi
fi
