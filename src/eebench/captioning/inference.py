"""What a caption run's `predict-run` and `latency` stages do (eebench.inference hands a captioner's folder here):
the token exits of val and test (`exits/{split}.npz`, the ordinary contract with a token as the unit), the
per-token decoder costs (`costs.json`) and real token-level early exit, timed (`latency.json`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import DataError
from ..exits import ExitOutputs
from ..io import write_json
from . import data

COST_IMAGES = 8  # images whose decoding FLOPs are averaged
PREDICT_BATCH_SIZE = 32  # images decoded at once when recording exits


def is_captioner(model_dir) -> bool:
    from .text import MODEL_INFO

    return (Path(model_dir) / MODEL_INFO).is_file()


def _loaded(model_dir, data_dir, split: str, limit: int | None = None):
    from . import model as captioner_model
    from .train import PixelCache

    captioner, tokenizer, meta = captioner_model.load(model_dir)
    rows = data.read_split(data_dir, split)[:limit]
    processor = captioner_model.image_processor(meta["options"])
    return captioner, tokenizer, rows, PixelCache(rows, processor, keep=False)


def predict_tokens(model_dir, data_dir, split: str, out_path) -> None:
    """Greedy decoding with the full model; every exit's logits per generated token (module docstring of
    `eebench.exits`: labels = the full model's tokens, sample_ids = the image, extras positions and eos_id)."""
    from .decode import record_exits

    captioner, tokenizer, rows, pixels = _loaded(model_dir, data_dir, split)
    logits, labels, sample_ids, positions = [], [], [], []
    for start in range(0, len(rows), PREDICT_BATCH_SIZE):
        indices = list(range(start, min(start + PREDICT_BATCH_SIZE, len(rows))))
        for index, (tokens, exit_logits) in zip(indices, record_exits(
                captioner, pixels(indices), tokenizer.bos_id, tokenizer.eos_id, captioner.max_length)):
            logits.append(exit_logits)
            labels.append(tokens)
            sample_ids.append(np.full(len(tokens), index))
            positions.append(np.arange(len(tokens)))
    ExitOutputs(logits=np.concatenate(logits).astype(np.float32), labels=np.concatenate(labels).astype(np.int64),
                sample_ids=np.concatenate(sample_ids).astype(np.int64),
                extras={"positions": np.concatenate(positions).astype(np.int64),
                        "eos_id": np.int64(tokenizer.eos_id)}).save(out_path)


def measure_token_costs(model_dir, data_dir, out_path) -> None:
    """Cumulative FLOPs to each exit for one generated token (embedding, blocks 1..l, exit heads 1..l), measured
    with FlopCounterMode at every position of the full model's captions of a few test images and averaged."""
    import torch

    captioner, tokenizer, rows, pixels = _loaded(model_dir, data_dir, "test", COST_IMAGES)
    per_token = []
    with torch.no_grad():
        for index in range(len(rows)):
            per_token.extend(_token_flops(captioner, tokenizer, pixels([index])))
    flops = np.mean(per_token, axis=0)
    write_json(out_path, {
        "flops": [float(f) for f in flops], "n_exits": captioner.n_exits, "per_sample": True, "unit": "token",
        "method": "torch.utils.flop_counter.FlopCounterMode",
        "input": f"mean over the {len(per_token)} tokens of the full model's captions of {len(rows)} test images",
        "counted": "decoder only: matmul and attention FLOPs of the token embedding, blocks 1..l (self- and "
                   "cross-attention with the key/value cache) and every exit head up to l; the image encoder runs "
                   "once per caption whatever the exits and is not counted",
    })


def _token_flops(captioner, tokenizer, pixel_values) -> list[list[int]]:
    """Cumulative FLOPs to each exit at every position of the full model's caption of one image."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from .decode import DecoderPass

    run = DecoderPass(captioner, pixel_values)
    token = torch.tensor([tokenizer.bos_id])
    per_token = []
    for position in range(captioner.max_length):
        totals = []
        with FlopCounterMode(display=False) as counter:
            hidden = run.embed(token, position)
            for layer in range(1, captioner.n_exits + 1):
                hidden = run.block(layer, hidden)
                logits = captioner.exit_logits(layer, hidden[:, -1])
                totals.append(counter.get_total_flops())
        per_token.append(totals)
        token = logits.argmax(dim=-1)
        if int(token) == tokenizer.eos_id:
            break
    return per_token


def predict_caption_run(model_dir, data_dir, val_out, test_out, costs_out) -> None:
    measure_token_costs(model_dir, data_dir, costs_out)
    for split, out_path in (("val", val_out), ("test", test_out)):
        predict_tokens(model_dir, data_dir, split, out_path)


def caption_latency(policy, model_dir, data_dir, out_path, batch_sizes, samples: int, passes: int) -> None:
    """Real token-level early exit at batch size 1 on the first `samples` test images, `passes` times, against the
    same decoder running every layer; the real exits are compared with the simulation on the cached token exits.
    Token-level early exit runs one caption at a time: other batch sizes are listed as not measured."""
    import torch

    from ..inference.latency import timing_summary
    from .decode import compare_with_simulation, early_exit_decode
    from .scoring import CaptionMetric

    if policy.sample_inputs:
        raise DataError(f"policy '{policy.id}' reads {', '.join(policy.sample_inputs)} (the full model's tokens) and "
                        f"cannot run in real decoding")
    torch.set_num_threads(1)
    captioner, tokenizer, rows, pixels = _loaded(model_dir, data_dir, "test", samples)
    images = [pixels([index]) for index in range(len(rows))]
    decode = lambda p: [early_exit_decode(captioner, image, p, tokenizer.bos_id, tokenizer.eos_id,  # noqa: E731
                                          captioner.max_length) for image in images]
    timings = {"full": [], "early": []}
    for _ in range(passes):
        full, real = decode(None), decode(policy)
        timings["full"].append(sum(r[2] for r in full))
        timings["early"].append(sum(r[2] for r in real))
    simulated = _simulated(policy, captioner, tokenizer, images)
    agreement = compare_with_simulation([r[0] for r in real], [r[1] for r in real], simulated["tokens"],
                                        simulated["layers"], captioner.n_exits)
    real_layers = np.concatenate([r[1] for r in real])
    metric = CaptionMetric(np.repeat(np.arange(len(rows)), [len(r[0]) for r in real]), tokenizer.eos_id,
                           [row["captions"] for row in rows], tokenizer.decode)
    write_json(out_path, {
        "policy": policy.id, "device": "cpu", "unit": "token", "torch_threads": 1, "n_samples": len(rows),
        "n_exits": captioner.n_exits, "passes": passes,
        "by_batch_size": {"1": {
            "batch_size": 1, **timing_summary(np.array(timings["early"]), np.array(timings["full"]), len(rows)),
            "mean_exit_layer": float(real_layers.mean()),
            "layer_speedup": float(captioner.n_exits / real_layers.mean()),
            "decisions_match_simulation": agreement["match_until_first_early_exit"] == 1.0,
            "decision_agreement": agreement["match_until_first_early_exit"],
        }},
        "not_measured_batch_sizes": [b for b in batch_sizes if b != 1],
        "decisions_match_simulation": agreement["match_until_first_early_exit"] == 1.0,
        "simulation_agreement": agreement,
        "cider_of_real_early_exit_on_these_images": float(metric.compute_rows(None, np.concatenate(
            [r[0] for r in real]))["cider"][0]),
        "note": "one caption at a time on one CPU thread; real and simulated exits must agree up to each caption's "
                "first early exit (later tokens see copied-up keys/values, see eebench.captioning.decode)",
    })


def _simulated(policy, captioner, tokenizer, images) -> dict[str, list[np.ndarray]]:
    """The policy's decisions on the full model's token exits of each image (what the cached exits hold)."""
    from ..policies import simulate
    from .decode import record_exits

    result = {"tokens": [], "layers": []}
    for image in images:
        (tokens, exit_logits), = record_exits(captioner, image, tokenizer.bos_id, tokenizer.eos_id,
                                              captioner.max_length)
        layers, predicted = simulate(policy, exit_logits, tokens)
        result["tokens"].append(predicted)
        result["layers"].append(layers)
    return result
