#!/usr/bin/env bash
# The CPU reproduction (docs/REPRODUCTION.md, issue 26): the paper grids that fit a 2-core CPU machine — GLUE text
# tasks and PCEE's MNIST size pair (config/paper/cpu-reproduction.yaml) and BranchyNet's MNIST row in its own
# setting (config/paper/branchynet-mnist.yaml) — run one after the other, then the document generated from their
# results. Needs the data the grids name: data/glue (GLUE's TSV folders) and data/mnist (MNIST's t10k IDX files).
# Extra arguments go to each snakemake (e.g. -n for a dry run, which writes no document).
set -euo pipefail
source "$(dirname "$0")/env.sh"
GRIDS=(config/paper/cpu-reproduction.yaml config/paper/branchynet-mnist.yaml)
results=()
for grid in "${GRIDS[@]}"; do
    snakemake --cores all --scheduler greedy --configfile "$grid" "$@"
    results+=("$(results_dir "$grid" results)")
done
if [ "$#" -eq 0 ]; then
    eebench reproduction-report "${results[@]}" --config "${GRIDS[@]}" --out docs/REPRODUCTION.md
    echo "eebench: docs/REPRODUCTION.md written from ${results[*]}"
fi
