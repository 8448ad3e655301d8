"""PCEE's size claim as a picture: test accuracy against mean FLOPs per sample for a larger and a smaller model of
one family and strategy (the pairs `paper_claims.size_pairs` compares). The larger model's pcee sweeps (each δ a
policy; mean over seeds) are lines, their val-fitted points filled marks; each model's final exit is a black
square; the smaller model's full forward pass is a vertical rule, and where a sweep crosses it (the larger model at
exactly the smaller one's FLOPs: the matched point the claim rule reads) a cross marks it."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .paper_claims import Measurements, _curve, matched_cost, pcee_policies, size_pairs, sweep_at, sweep_span

FLOPS_GRID = 30  # FLOPs values at which the seeds' sweeps are read and averaged
NO_PAIR = ("No pair of model sizes: accuracy against FLOPs needs two backbones of one strategy with full-model FLOPs "
           "(costs.json) and pcee policies on the larger one.")


def size_frames(measured: Measurements) -> dict[str, pd.DataFrame]:
    """The chart's data: `curves` (panel, policy, flops, metric: mean over the seeds whose sweep reaches that FLOPs),
    `fitted` (val-fitted pcee points), `finals` (each model's final exit), `matched` (each sweep at the smaller
    model's full FLOPs) and `budgets` (that FLOPs value per panel). Empty frames when the task has no pair."""
    pairs, sizes = size_pairs(measured)
    frames = {name: [] for name in ("curves", "fitted", "finals", "matched", "budgets")}
    results = measured.results
    for strategy, smaller, larger in pairs:
        panel = f"{larger} vs {smaller} / {strategy}"
        full = sizes[(larger, strategy)]
        budget = float(np.mean(list(sizes[(smaller, strategy)].values())))
        frames["budgets"].append({"panel": panel, "flops": budget, "label": f"{smaller} full depth"})
        for backbone in (smaller, larger):
            final = results[(results["backbone"] == backbone) & (results["strategy"] == strategy)
                            & (results["policy"] == "final")]
            if len(final):
                frames["finals"].append({"panel": panel, "model": f"{backbone} final exit",
                                         "flops": float(np.mean(list(sizes[(backbone, strategy)].values()))),
                                         "metric": float(final["metric"].mean())})
        for policy in pcee_policies(measured.curves, larger, strategy):
            seeds = {seed: _curve(measured.curves, larger, strategy, policy, seed) for seed in full}
            frames["curves"] += _mean_sweep(panel, policy, seeds, full)
            matched = matched_cost(measured.curves, sizes, strategy, smaller, larger, policy).values
            if matched:
                frames["matched"].append({"panel": panel, "policy": policy, "flops": budget,
                                          "metric": float(np.mean(list(matched.values()))), "n_seeds": len(matched)})
            fitted = results[(results["backbone"] == larger) & (results["strategy"] == strategy)
                             & (results["policy"] == policy)]
            if len(fitted):
                spent = [full[seed] / speedup for seed, speedup in zip(fitted["seed"], fitted["flops_speedup"])]
                frames["fitted"].append({"panel": panel, "policy": policy, "flops": float(np.mean(spent)),
                                         "metric": float(fitted["metric"].mean())})
    return {name: pd.DataFrame(rows) for name, rows in frames.items()}


def _mean_sweep(panel: str, policy: str, seeds: dict, full: dict) -> list[dict]:
    """A policy's sweeps in FLOPs per sample (full FLOPs / FLOPs speed-up), read on a common grid where every seed
    reaches and averaged."""
    spans = {seed: sweep_span(points, "flops_speedup") for seed, points in seeds.items()}
    spans = {seed: span for seed, span in spans.items() if np.isfinite(span[0])}
    if not spans:
        return []
    low = max(full[seed] / hi for seed, (lo, hi) in spans.items())
    high = min(full[seed] / lo for seed, (lo, hi) in spans.items())
    if not high > low:
        return []
    rows = []
    for flops in np.linspace(low, high, FLOPS_GRID):
        values = [sweep_at(seeds[seed], full[seed] / flops, "flops_speedup") for seed in spans]
        rows.append({"panel": panel, "policy": policy, "flops": float(flops), "metric": float(np.nanmean(values))})
    return rows


def size_chart(measured: Measurements, metric_label: str):
    """Accuracy against FLOPs per sample across model sizes, one panel per pair; a notice without a pair."""
    from .charts import load_altair, notice_chart, policy_encodings

    frames = size_frames(measured)
    if frames["curves"].empty and frames["fitted"].empty:
        return notice_chart(NO_PAIR)
    alt = load_altair()

    policies = list(dict.fromkeys([*frames["curves"].get("policy", []), *frames["fitted"].get("policy", [])]))
    enc = policy_encodings(policies)
    x = alt.X("flops:Q", title="mean FLOPs per sample", scale=alt.Scale(zero=False), axis=alt.Axis(format="~s"))
    y = alt.Y("metric:Q", title=f"test {metric_label}", scale=alt.Scale(zero=False))
    panels = []
    for panel in dict.fromkeys(frames["budgets"]["panel"]):
        def of(name):
            frame = frames[name]
            return frame[frame["panel"] == panel] if len(frame) else frame

        layers = [
            alt.Chart(of("budgets")).mark_rule(color="#777", strokeDash=[4, 3]).encode(x="flops:Q"),
            alt.Chart(of("budgets")).mark_text(align="left", dx=4, dy=-6, color="#555", baseline="bottom")
            .encode(x="flops:Q", y=alt.value(12), text="label:N"),
            alt.Chart(of("curves")).mark_line().encode(x=x, y=y, color=enc["color"], strokeDash=enc["strokeDash"]),
            alt.Chart(of("fitted")).mark_point(filled=True, size=70)
            .encode(x=x, y=y, color=enc["color"], shape=enc["shape"], tooltip=["policy:N", "flops:Q", "metric:Q"]),
            alt.Chart(of("finals")).mark_point(shape="square", filled=True, size=80, color="black")
            .encode(x=x, y=y, tooltip=["model:N", "flops:Q", "metric:Q"]),
            alt.Chart(of("finals")).mark_text(align="left", dx=7, dy=10, color="black")
            .encode(x=x, y=y, text="model:N"),
        ]
        if len(of("matched")):
            layers.append(alt.Chart(of("matched")).mark_point(shape="cross", size=140, color="black", filled=True)
                          .encode(x=x, y=y, tooltip=["policy:N", "flops:Q", "metric:Q", "n_seeds:Q"]))
        panels.append(alt.layer(*layers).properties(title=panel, width=420, height=300))
    return (alt.vconcat(*panels).resolve_scale(color="shared", shape="shared", strokeDash="shared")
            .properties(description="Lines: the larger model's pcee sweeps (mean over seeds); filled marks: their "
                                    "val-fitted points; black squares: each model's final exit; dashed rule: the "
                                    "smaller model's full FLOPs; crosses: the sweeps read there (matched cost)."))
