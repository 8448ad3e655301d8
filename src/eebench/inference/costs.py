"""`measure_costs`: the cumulative FLOPs to produce each exit's output, measured per sample on the test split.

FlopCounterMode counts matrix multiplications, convolutions and attention (the operations that dominate);
element-wise operations, normalisation and softmax are not counted. torch has no formula for the CPU attention
kernel, so one is registered here (the same count as for the GPU kernels): costs.json is the same on every device.
Exit l's cost includes the embedding, layers 1..l and every exit head evaluated on the way (exits 1..l, and
learning-to-exit heads when the model has them), because early-exit inference evaluates all of them before it can
stop at l. `full_model_flops` is the plain model without early exit (embedding, every layer, the final head only):
the numerator of the FLOPs speed-up."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode, flop_registry, register_flop_formula, sdpa_flop_count

from ..io import write_json
from ..models import ModelBundle, load_model
from ..models.storage import check_model_fits_data
from ..models.multi_exit import MultiExitModel
from ..models.runtime import threads_for
from .early_exit import full_depth_predict

COST_SAMPLES = 64  # samples of the test split averaged (costs vary with sentence length)

_CPU_ATTENTION = torch.ops.aten._scaled_dot_product_flash_attention_for_cpu
if _CPU_ATTENTION not in flop_registry:

    @register_flop_formula(_CPU_ATTENTION)
    def _cpu_attention_flops(query_shape, key_shape, value_shape, *args, out_shape=None, **kwargs) -> int:
        """Q·Kᵀ and the weighted sum of V, 2 FLOPs per multiply-add: what torch counts for the GPU kernels."""
        return sdpa_flop_count(query_shape, key_shape, value_shape)


def measure_costs(model_dir: Path, data_dir: Path, out_path: Path, bundle: ModelBundle | None = None) -> None:
    """Write costs.json. `bundle` is the model of `model_dir`, on the CPU, when the caller has loaded it already."""
    from ..tasks import load_split

    bundle = load_model(model_dir) if bundle is None else bundle
    test = load_split(data_dir, "test")
    check_model_fits_data(bundle.record, model_dir, data_dir, test)
    n = min(COST_SAMPLES, len(test))
    encoded = bundle.encoder.encode(test.inputs[:n], source=f"{data_dir}/test")
    batches = [encoded.batch([i]) for i in range(n)]
    shapes = [input_shape(batch) for batch in batches]
    # The counter counts from tensor shapes alone, so samples of one shape (every image; sentences of one length)
    # cost the same: each distinct shape is counted once (counting is slow: torch decomposes every operation).
    counted = {}
    with threads_for(bundle.record["family"]):
        for shape, batch in zip(shapes, batches):
            if shape not in counted:
                counted[shape] = (cumulative_flops(bundle.model, batch), full_model_flops(bundle.model, batch))
    per_sample = np.stack([counted[shape][0] for shape in shapes])
    full_model = np.mean([counted[shape][1] for shape in shapes])
    flops = per_sample.mean(axis=0)
    write_json(out_path, {
        "flops": [float(f) for f in flops],
        "full_model_flops": float(full_model),
        "n_exits": bundle.model.n_exits,
        "per_sample": True,
        "method": "torch.utils.flop_counter.FlopCounterMode",
        "input": f"mean over {n} samples of the test split",
        "counted": "matmul, convolution and attention FLOPs; embedding, layers 1..l and every exit head up to l; "
                   "full_model_flops: embedding, every layer and the final head",
    })


def input_shape(batch: dict[str, torch.Tensor]) -> tuple:
    """The shapes of a batch's tensors, by name: what the FLOP count of a pass depends on."""
    return tuple(sorted((name, tuple(tensor.shape)) for name, tensor in batch.items()))


@torch.inference_mode()
def cumulative_flops(model: MultiExitModel, batch: dict[str, torch.Tensor]) -> np.ndarray:
    """[L] FLOPs spent up to and including exit l for one batch."""
    totals = []
    with FlopCounterMode(display=False) as counter:
        hidden, ctx = model.embed(batch)
        for layer in range(1, model.n_exits + 1):
            hidden = model.layer(layer, hidden, ctx)
            model.exit_head(layer, hidden, ctx)
            if model.has_lte:
                model.lte_score(layer, hidden, ctx)
            totals.append(counter.get_total_flops())
    return np.asarray(totals, dtype=np.float64)


def full_model_flops(model: MultiExitModel, batch: dict[str, torch.Tensor]) -> float:
    """FLOPs of the plain model for one batch: embedding, every layer, the final exit head only."""
    with FlopCounterMode(display=False) as counter:
        full_depth_predict(model, batch)
    return float(counter.get_total_flops())
