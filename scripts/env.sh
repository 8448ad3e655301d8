# Sourced by the scripts beside it: set up .venv (scripts/setup.sh) and put it first on PATH, offline.
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
VENV=${EEBENCH_VENV:-.venv}
export PATH="$PWD/$VENV/bin:$PATH"
export HF_HUB_OFFLINE=${HF_HUB_OFFLINE:-1} TOKENIZERS_PARALLELISM=false
# A config file's results folder (its `results_dir`, or the second argument when it has none).
results_dir() { python -c "import yaml,sys; print(yaml.safe_load(open(sys.argv[1])).get('results_dir', sys.argv[2]))" "$@"; }
