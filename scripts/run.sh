#!/usr/bin/env bash
# The main job: set up, run the embedded default grid with Snakemake's local executor, build the HTML report;
# then the captioning track's embedded grid (config/captioning.yaml, workflow/captioning.smk) and its report.
# Extra arguments go to the main grid's snakemake only (e.g. a target file, --configfile, -n).
set -euo pipefail
source "$(dirname "$0")/env.sh"
results_dir() { python -c "import yaml,sys; print(yaml.safe_load(open(sys.argv[1])).get('results_dir', sys.argv[2]))" "$@"; }
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
