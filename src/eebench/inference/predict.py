"""`predict_split`: one forward pass over a split keeping every exit's logits (the cache every policy reads);
`predict_run`: both evaluation splits and the costs of one run from one loaded model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..exits import DOMAIN_FIELD, ExitOutputs
from ..models import ModelBundle, load_model
from ..models.storage import check_model_fits_data
from ..models.inputs import EncodedSplit
from ..models.runtime import progress_bar, select_device, threads_for
from ..training.precision import apply_matmul_precision, inference_precision
from .costs import measure_costs

PREDICT_BATCH_SIZE = 64


def predict_split(
    model_dir: Path, data_dir: Path, split: str, out_path: Path, bundle: ModelBundle | None = None,
    precision: str | None = None,
) -> None:
    """Write `out_path` (exits npz): logits [N, L, C], labels, sample_ids, `lte_scores` [N, L] for models with
    learning-to-exit heads (the `alternating` strategy) and `domain` [N] when the split's samples record one.
    `bundle` is the model of `model_dir` when the caller has loaded it already (loaded here otherwise). The model
    runs in the precision it was trained in unless `precision` (a `training.precision` value) says otherwise."""
    from ..tasks import load_split

    bundle = load_model(model_dir) if bundle is None else bundle
    device = select_device("auto")
    bundle.model.to(device)
    run_in = inference_precision(bundle.record, device, precision)
    apply_matmul_precision(run_in)
    data = load_split(data_dir, split)
    check_model_fits_data(bundle.record, model_dir, data_dir, data)
    encoded = bundle.encoder.encode(data.inputs, source=f"{data_dir}/{split}")
    with threads_for(bundle.record["family"]), run_in.autocast(device):
        logits, lte = all_exit_outputs(bundle, encoded, desc=f"predict {split}")
    extras = {"lte_scores": lte} if lte is not None else {}
    if "domain" in data.meta:  # tasks with several test domains: evaluate reports each one (DOMAIN_FIELD)
        extras[DOMAIN_FIELD] = np.asarray(data.meta["domain"]).astype(str)
    ExitOutputs(logits=logits, labels=np.asarray(data.labels), sample_ids=np.asarray(data.sample_ids), extras=extras).save(out_path)


def predict_run(model_dir: Path, data_dir: Path, val_out: Path, test_out: Path, costs_out: Path,
                precision: str | None = None) -> None:
    """The val and test exits and costs.json of one run, loading the model (and torch) once instead of three times
    (`precision` as in predict_split). A captioner's folder gets its token exits (eebench.captioning.inference)."""
    from ..captioning.inference import is_captioner, predict_caption_run

    if is_captioner(model_dir):
        return predict_caption_run(model_dir, data_dir, val_out, test_out, costs_out)
    bundle = load_model(model_dir)
    measure_costs(model_dir, data_dir, costs_out, bundle)  # first: the model is still on the CPU, as `costs` has it
    for split, out_path in (("val", val_out), ("test", test_out)):
        predict_split(model_dir, data_dir, split, out_path, bundle, precision)


def length_sorted_batches(encoded: EncodedSplit, batch_size: int) -> list[np.ndarray]:
    """Batches of similar length (less padding), in a fixed order; results are put back in input order."""
    order = np.argsort(encoded.lengths(), kind="stable")
    return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]


@torch.inference_mode()
def all_exit_outputs(
    bundle: ModelBundle, encoded: EncodedSplit, batch_size: int = PREDICT_BATCH_SIZE, desc: str = "predict"
) -> tuple[np.ndarray, np.ndarray | None]:
    model = bundle.model.eval()
    device = next(model.parameters()).device
    n = len(encoded)
    logits = np.zeros((n, model.n_exits, model.n_classes), dtype=np.float32)
    lte = np.zeros((n, model.n_exits), dtype=np.float32) if model.has_lte else None
    batches = length_sorted_batches(encoded, batch_size)
    for indices in progress_bar(batches, desc=desc):
        out = model({k: v.to(device) for k, v in encoded.batch(indices).items()})
        logits[indices] = out.logits.float().cpu().numpy()
        if lte is not None:
            lte[indices] = out.lte_scores.float().cpu().numpy()
    return logits, lte
