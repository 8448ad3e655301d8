"""The captioning track's stages, one function each (what `python -m eebench.captioning.cli <stage>` runs).

    prepare   task                 → data/{task}/                         splits (jsonl) + images + info.json
    train     run                  → runs/{run}/model/                    captioner + exit heads (safetensors)
    predict   run, split           → runs/{run}/exits/{split}.npz         per-token exit logits (policy_eval)
    costs     run                  → runs/{run}/costs.json                cumulative decoder FLOPs per token
    fit       run, policy          → .../policies/{policy}/fit.json       knobs chosen on val by CIDEr
    evaluate  run, policy          → .../policies/{policy}/test.json      COCO metrics + speed-ups on test
    curve     run, policy          → .../policies/{policy}/curve.csv      CIDEr vs speed-up over the knob
    latency   run, policy          → .../policies/{policy}/latency.json   real early-exit decoding vs simulation
    aggregate task                 → tables/{task}.csv|.md, plots/{task}.html|.png

Every output is written atomically."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from ..errors import DataError
from ..io import atomic_path, read_json, write_json, write_text
from ..metrics.speedup import load_costs
from ..policies import policy_from_dict, simulate
from . import data, policy_eval, text

COST_IMAGES = 8  # images whose decoding FLOPs are averaged


def prepare_stage(task: str, options: dict, seed: int, out) -> None:
    data.prepare_captions(task, options, out, seed)


def train_stage(data_dir, out, backbone, backbone_options, strategy, strategy_options, training, seed) -> None:
    from .train import train_captioner

    train_captioner(data_dir, out, backbone, backbone_options, strategy, strategy_options, training, seed)


def _images(model_dir, data_dir, split: str, limit: int | None = None):
    import torch

    from . import model as captioner_model
    from .train import PixelCache

    torch.set_grad_enabled(False)
    captioner, tokenizer, meta = captioner_model.load(model_dir)
    rows = data.read_split(data_dir, split)[:limit]
    processor = captioner_model.image_processor(meta["backbone"], meta["options"])
    return captioner, tokenizer, rows, PixelCache(rows, processor, keep=False)


def predict_stage(model_dir, data_dir, split: str, out, batch_size: int = 32) -> None:
    """Greedy decoding with the full model; every exit's logits per generated token."""
    from .decode import record_exits

    captioner, tokenizer, rows, pixels = _images(model_dir, data_dir, split)
    logits, labels, sample_ids, positions = [], [], [], []
    for start in range(0, len(rows), batch_size):
        indices = list(range(start, min(start + batch_size, len(rows))))
        for index, (tokens, exit_logits) in zip(indices, record_exits(
                captioner, pixels(indices), tokenizer.bos_id, tokenizer.eos_id, captioner.max_length)):
            logits.append(exit_logits)
            labels.append(tokens)
            sample_ids.append(np.full(len(tokens), index))
            positions.append(np.arange(len(tokens)))
    policy_eval.write_token_exits(out, np.concatenate(logits), np.concatenate(labels), np.concatenate(sample_ids),
                                  np.concatenate(positions), tokenizer.eos_id)


def costs_stage(model_dir, data_dir, out) -> None:
    """Cumulative FLOPs to each exit for one generated token (embedding, blocks 1..l, exit heads 1..l), measured
    with FlopCounterMode at every position of the full model's captions of a few test images and averaged."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from .decode import DecoderPass

    captioner, tokenizer, rows, pixels = _images(model_dir, data_dir, "test", COST_IMAGES)
    per_token = []
    for index in range(len(rows)):
        run = DecoderPass(captioner, pixels([index]))
        token = torch.tensor([tokenizer.bos_id])
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
    flops = np.mean(per_token, axis=0)
    write_json(out, {
        "flops": [float(f) for f in flops], "n_exits": captioner.n_exits, "per_sample": True, "unit": "token",
        "method": "torch.utils.flop_counter.FlopCounterMode",
        "input": f"mean over the {len(per_token)} tokens of the full model's captions of {len(rows)} test images",
        "counted": "decoder only: matmul and attention FLOPs of the token embedding, blocks 1..l (self- and "
                   "cross-attention with the key/value cache) and every exit head up to l; the image encoder runs "
                   "once per caption whatever the exits and is not counted",
    })


def _judge(exits_path, data_dir, model_dir, split: str):
    exits = policy_eval.read_token_exits(exits_path)
    rows = data.read_split(data_dir, split)
    tokenizer = text.load_tokenizer(model_dir)
    judge = policy_eval.CaptionJudge(exits, [r["captions"] for r in rows], tokenizer.decode)
    return exits, judge


def fit_stage(val_path, data_dir, model_dir, costs_path, policy: str, options: dict, tolerance: float, out) -> None:
    exits, judge = _judge(val_path, data_dir, model_dir, "val")
    costs = load_costs(costs_path, exits["logits"].shape[1])
    params = {k: v for k, v in options.items() if k != "method"}
    fitted = policy_eval.fit_policy(options.get("method", policy), params, exits, judge, costs, tolerance)
    val = policy_eval.outcome(fitted, exits, judge, costs, full_metrics=False)
    write_json(out, {**fitted.to_dict(), "name": policy, "tolerance": tolerance,
                     "val_full_model_cider": judge.full_cider(), "val": val})


def _fitted(fit_path):
    record = read_json(fit_path)
    try:
        return policy_from_dict(record), record
    except DataError as exc:
        raise DataError(f"'{fit_path}': {exc}") from None


def evaluate_stage(fit_path, test_path, data_dir, model_dir, costs_path, out, meteor: bool = True) -> None:
    policy, record = _fitted(fit_path)
    exits, judge = _judge(test_path, data_dir, model_dir, "test")
    costs = load_costs(costs_path, exits["logits"].shape[1])
    write_json(out, {**policy.to_dict(), "name": record.get("name", policy.id),
                     **policy_eval.outcome(policy, exits, judge, costs, meteor=meteor)})


def curve_stage(fit_path, test_path, data_dir, model_dir, costs_path, n_points: int, out) -> None:
    policy, _ = _fitted(fit_path)
    exits, judge = _judge(test_path, data_dir, model_dir, "test")
    costs = load_costs(costs_path, exits["logits"].shape[1])
    rows = policy_eval.curve(policy, exits, judge, costs, n_points)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=["knob", "value", "cider", "layer_speedup", "flops_speedup"])
    writer.writeheader()
    writer.writerows(rows)
    write_text(out, buffer.getvalue())


def latency_stage(model_dir, data_dir, fit_path, test_path, out, max_images: int = 50) -> None:
    """Real token-level early exit at batch size 1 on the first `max_images` test images: wall clock per caption
    against the same decoder running every layer, real exit layers, and agreement with the simulation."""
    import torch

    from .decode import compare_with_simulation, early_exit_decode

    torch.set_num_threads(1)
    policy, record = _fitted(fit_path)
    if policy.sample_inputs:
        raise DataError(f"'{fit_path}': policy '{policy.id}' reads {', '.join(policy.sample_inputs)} (the full "
                        f"model's tokens) and cannot run in real decoding")
    captioner, tokenizer, rows, pixels = _images(model_dir, data_dir, "test", max_images)
    exits, judge = _judge(test_path, data_dir, model_dir, "test")
    sim_layers, sim_tokens = simulate(policy, exits["logits"], exits["labels"])
    ids = exits["sample_ids"]
    real, full = [], []
    for index in range(len(rows)):
        image = pixels([index])
        full.append(early_exit_decode(captioner, image, None, tokenizer.bos_id, tokenizer.eos_id,
                                      captioner.max_length))
        real.append(early_exit_decode(captioner, image, policy, tokenizer.bos_id, tokenizer.eos_id,
                                      captioner.max_length))
    n_exits = captioner.n_exits
    agreement = compare_with_simulation([r[0] for r in real], [r[1] for r in real],
                                        [sim_tokens[ids == i] for i in range(len(rows))],
                                        [sim_layers[ids == i] for i in range(len(rows))], n_exits)
    real_layers = np.concatenate([r[1] for r in real])
    full_seconds, real_seconds = (np.mean([r[2] for r in runs]) for runs in (full, real))
    real_captions = {i: tokenizer.decode(r[0]) for i, r in enumerate(real)}
    all_simulated = policy_eval.captions_at(exits, sim_tokens, len(judge.references), tokenizer.decode)[0]
    simulated_captions = {i: all_simulated[i] for i in range(len(rows))}
    references = {i: rows[i]["captions"] for i in range(len(rows))}
    from .scoring import cider_rows

    write_json(out, {
        "policy": policy.id, "name": record.get("name", policy.id), "images": len(rows), "batch_size": 1,
        "seconds_per_caption": {"full_model": float(full_seconds), "early_exit": float(real_seconds)},
        "wall_clock_speedup": float(full_seconds / real_seconds),
        "real_mean_exit_layer": float(real_layers.mean()),
        "real_layer_speedup": float(n_exits / real_layers.mean()),
        "cider_on_these_images": dict(zip(("real", "simulated"), cider_rows(references, [real_captions,
                                                                                     simulated_captions]).tolist())),
        "simulation_agreement": agreement,
        "note": "timings on one CPU thread; the full model runs through the same layer-by-layer decoder",
    })


def aggregate_stage(test_paths: list, out_csv, out_md, out_plot=None, curve_paths: list | None = None) -> None:
    """One row per run × policy with the metrics and speed-ups; mean ± std over seeds in the markdown table."""
    import pandas as pd

    records = []
    for path in map(Path, test_paths):
        record = read_json(path)
        run = path.parent.parent.parent  # .../{run}/policies/{policy}/test.json
        records.append({"run": str(run.parent), "seed": run.name, "policy": record["name"],
                        **{k: v for k, v in record["metrics"].items() if isinstance(v, (int, float))},
                        "token_agreement": record["token_agreement"], "mean_exit_layer": record["mean_exit_layer"],
                        "layer_speedup": record["layer_speedup"], "flops_speedup": record["flops_speedup"]})
    table = pd.DataFrame(records)
    with atomic_path(out_csv) as tmp:
        table.to_csv(tmp, index=False)
    numeric = [c for c in table.columns if c not in ("run", "seed", "policy")]
    summary = table.groupby(["run", "policy"], sort=False)[numeric].agg(["mean", "std"])
    lines = summary.apply(lambda row: {c: f"{row[(c, 'mean')]:.3f} ± {np.nan_to_num(row[(c, 'std')]):.3f}"
                                       for c in numeric}, axis=1, result_type="expand")
    write_text(out_md, lines.reset_index().to_markdown(index=False) + "\n")
    if out_plot and curve_paths:
        _plot(curve_paths, table, out_plot)


def _plot(curve_paths, table, out_plot) -> None:
    import altair as alt
    import pandas as pd

    frames = []
    for path in map(Path, curve_paths):
        frame = pd.read_csv(path)
        frame["policy"], frame["run"] = path.parent.name, str(path.parent.parent.parent)
        frames.append(frame)
    curves = pd.concat(frames)
    lines = alt.Chart(curves).mark_line(point=True).encode(
        x=alt.X("layer_speedup:Q", title="speed-up (decoder layers per token)"),
        y=alt.Y("cider:Q", title="CIDEr-D (test)"), color="policy:N", detail="run:N")
    fitted = alt.Chart(table).mark_point(size=120, filled=True, shape="diamond").encode(
        x="layer_speedup:Q", y="cider:Q", color="policy:N")
    with atomic_path(out_plot) as tmp:
        (lines + fitted).properties(width=520, height=360).save(str(tmp), format="html")
