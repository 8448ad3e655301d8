"""Integration on real data: fine-tune the real pretrained MiniLM-L6 on a seeded subset of GLUE SST-2 train (from
the local GLUE folder) and check that the final exit's dev accuracy is well above chance."""

import numpy as np
import pytest

from eebench.exits import load_exit_outputs
from eebench.inference import predict_split
from eebench.tasks import load_info, prepare_task
from eebench.training import train_run


@pytest.mark.slow
@pytest.mark.realdata
def test_minilm_fine_tuned_on_sst2_subset_beats_chance(shared_data, tmp_path):
    data = tmp_path / "data"
    prepare_task("sst2", {"source": "local", "path": str(shared_data / "glue"), "max_train": 800}, data, seed=0)
    assert load_info(data)["sizes"]["test"] == 872  # the whole real dev set is the test split
    model = tmp_path / "model"
    train_run(
        data_dir=data,
        out_dir=model,
        backbone="minilm-l6",
        backbone_options={},
        strategy="joint",
        strategy_options={},
        training={"epochs": 1, "lr": 1e-4, "batch_size": 16, "max_length": 64, "warmup_ratio": 0.1},
        seed=0,
    )
    predict_split(model_dir=model, data_dir=data, split="test", out_path=tmp_path / "test.npz")
    exits = load_exit_outputs(tmp_path / "test.npz")
    assert exits.n_exits == 6
    accuracy_per_exit = (exits.logits.argmax(-1) == exits.labels[:, None]).mean(axis=0)
    assert accuracy_per_exit[-1] > 0.75, accuracy_per_exit  # chance is ~0.51 on SST-2 dev
    assert np.isfinite(exits.logits).all()
