"""The prepared GPU run (benchmarks/gpu_smoke.py --text-grid): the CPU reproduction's text experiments, every train
sentence, trained on CUDA, as a config the workflow accepts (checked here without a GPU; run where one is lent)."""

import importlib.util
from pathlib import Path

from eebench.config import load_config, validate_config

REPO = Path(__file__).resolve().parents[1]


def gpu_smoke():
    spec = importlib.util.spec_from_file_location("gpu_smoke", REPO / "benchmarks" / "gpu_smoke.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_text_grid_is_the_reproductions_text_experiments_on_full_data_on_cuda(tmp_path):
    config = validate_config(gpu_smoke().text_grid_config(tmp_path / "glue", tmp_path / "out", [0]))
    reproduction = load_config(REPO / "config" / "paper" / "cpu-reproduction.yaml")
    text = [e for e in reproduction["experiments"] if e["task"] in ("sst2", "cola", "rte")]
    assert [(e["task"], e["strategies"]) for e in config["experiments"]] == [(e["task"], e["strategies"]) for e in text]
    assert set(config["tasks"]) == {"sst2", "cola", "rte"} and set(config["backbones"]) == {"minilm-l6"}
    assert all(options.get("max_train") is None and options["path"] == str(tmp_path / "glue")
               for options in config["tasks"].values())
    assert config["training"]["device"] == "cuda" and config["seeds"] == [0]
    assert config["results_dir"] == str(tmp_path / "out")
