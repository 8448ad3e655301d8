"""Exit policies on cached per-token exit logits, judged by the captions they produce.

Token exits file (`exits/{split}.npz`, written by `write_token_exits`; DESIGN.md: "for captioning the unit is a
generated token, stored per token with its sample id"):
    logits      float32 [T, L, V]   every exit's logits for each token the full model generated
    labels      int64   [T]         the full model's token (its exit L argmax): what `oracle` compares against
    sample_ids  int64   [T]         the image (row of the split) the token belongs to
    positions   int64   [T]         the token's position in its caption (0-based)
    eos_id      int64   []          the end-of-caption token

A policy's exit layers [T] give each token the argmax of its exit; an image's caption is its tokens in order, cut
at the first end-of-caption token (the full model's context is kept: the simulation is teacher-forced by the
full model's tokens, see `decode`). Knobs are fitted on val by the captions' CIDEr-D: the largest speed-up whose
CIDEr is at most `tolerance` below the full model's (the policies' generic `select`, given CIDEr instead of
accuracy). Policies that fit their knobs their own way keep it, on tokens against the full model's token:
`patience-confidence` (its joint grid), `risk-control` (its guarantee then bounds the rate of tokens that differ
from the full model's), and BEEM's `error-rate` threshold rule."""

from __future__ import annotations

import types
from pathlib import Path

import numpy as np

from ..errors import DataError
from ..exits import layer_predictions
from ..io import atomic_path
from ..metrics.speedup import flops_speedup, layer_speedup, mean_cost_speedup
from ..policies import make_policy, simulate
from ..policies.base import ExitPolicy
from ..policies.sweeps import gather_predictions, pick_within_tolerance
from . import scoring

FIT_CANDIDATES = 60  # knob values scored by CIDEr when fitting (each needs one corpus CIDEr)
FIELDS = ("logits", "labels", "sample_ids", "positions", "eos_id")


def write_token_exits(path, logits, labels, sample_ids, positions, eos_id: int) -> None:
    with atomic_path(path, suffix=".npz") as tmp:
        with open(tmp, "wb") as handle:
            np.savez(handle, logits=np.asarray(logits, dtype=np.float32), labels=np.asarray(labels, np.int64),
                     sample_ids=np.asarray(sample_ids, np.int64), positions=np.asarray(positions, np.int64),
                     eos_id=np.int64(eos_id))


def read_token_exits(path) -> dict[str, np.ndarray]:
    path = Path(path)
    if not path.is_file():
        raise DataError(f"'{path}': file not found (the captioning predict stage writes it)")
    with np.load(path) as archive:
        missing = [f for f in FIELDS if f not in archive.files]
        if missing:
            raise DataError(f"'{path}': missing field '{missing[0]}' (a token exits file has {', '.join(FIELDS)})")
        return {name: archive[name] for name in FIELDS}


def captions_at(exits: dict, token_rows: np.ndarray, n_images: int, decode) -> list[dict]:
    """Captions {image index: text} for each row of tokens [K, T] (tokens in file order = caption order)."""
    eos = int(exits["eos_id"])
    rows = []
    for tokens in np.atleast_2d(token_rows):
        per_image: dict[int, list[int]] = {i: [] for i in range(n_images)}
        ended: set[int] = set()
        for image, token in zip(exits["sample_ids"].tolist(), tokens.tolist()):
            if image in ended:
                continue
            if token == eos:
                ended.add(image)
            else:
                per_image[image].append(token)
        rows.append({image: decode(ids) for image, ids in per_image.items()})
    return rows


class CaptionJudge:
    """Scores exit-layer choices [K, T] of one split by the CIDEr of the captions they give."""

    def __init__(self, exits: dict, references: list[list[str]], decode):
        self.exits, self.decode = exits, decode
        self.references = dict(enumerate(references))
        self.layer_tokens = layer_predictions(exits["logits"])  # [T, L]

    def tokens(self, exit_layers: np.ndarray) -> np.ndarray:
        return gather_predictions(self.layer_tokens, np.atleast_2d(exit_layers))

    def cider(self, exit_layers: np.ndarray) -> np.ndarray:
        rows = captions_at(self.exits, self.tokens(exit_layers), len(self.references), self.decode)
        return scoring.cider_rows(self.references, rows)

    def full_cider(self) -> float:
        return float(self.cider(np.full(len(self.layer_tokens), self.layer_tokens.shape[1]))[0])


def fit_policy(method: str, params: dict, val: dict, judge: CaptionJudge, costs, tolerance: float) -> ExitPolicy:
    """A policy fitted on val token exits, its generic knob choice made by caption CIDEr."""
    policy = make_policy(method, **params)
    full = judge.full_cider()

    def select(self, candidates, logits, labels, costs_, metric, tolerance_, inputs):
        if len(candidates) > FIT_CANDIDATES:
            keep = np.unique(np.linspace(0, len(candidates) - 1, FIT_CANDIDATES).round().astype(int))
            candidates = np.asarray(candidates)[keep] if isinstance(candidates, np.ndarray) else \
                [candidates[i] for i in keep]
        exits = self.sweep(logits, candidates, **inputs)
        index = pick_within_tolerance(judge.cider(exits), mean_cost_speedup(exits, logits.shape[1], costs_), full,
                                      tolerance)
        return candidates[index].item() if isinstance(candidates, np.ndarray) else candidates[index]

    policy.select = types.MethodType(select, policy)
    policy.fit(val["logits"], val["labels"], costs, metric="accuracy", tolerance=tolerance)
    del policy.select
    return policy


def policy_inputs(policy: ExitPolicy, exits: dict) -> dict:
    """Per-token inputs a policy reads besides logits: the full model's tokens for `oracle`."""
    return {"labels": exits["labels"]} if "labels" in policy.sample_inputs else {}


def outcome(policy: ExitPolicy, exits: dict, judge: CaptionJudge, costs, full_metrics: bool = True,
            meteor: bool = True) -> dict:
    """Test figures of a fitted policy: caption metrics (CIDEr-D alone unless `full_metrics`), token agreement
    with the full model, speed-ups."""
    layers, tokens = simulate(policy, exits["logits"], exits["labels"])
    n_exits = exits["logits"].shape[1]
    result = {
        "tokens": int(layers.size),
        "mean_exit_layer": float(layers.mean()),
        "layer_speedup": float(layer_speedup(layers, n_exits)),
        "flops_speedup": None if costs is None else float(flops_speedup(layers, costs)),
        "token_agreement": float((tokens == exits["labels"]).mean()),
        "exit_layer_histogram": np.bincount(layers, minlength=n_exits + 1)[1:].tolist(),
    }
    if full_metrics:
        captions = captions_at(exits, tokens, len(judge.references), judge.decode)[0]
        result["metrics"] = scoring.caption_metrics(judge.references, captions, meteor=meteor)
    else:
        result["metrics"] = {"cider": float(judge.cider(layers)[0])}
    return result


def curve(policy: ExitPolicy, exits: dict, judge: CaptionJudge, costs, n_points: int) -> list[dict]:
    """The policy's knob sweep: one row per knob value with CIDEr-D and the speed-ups."""
    inputs = policy_inputs(policy, exits)
    values = policy.curve_values(exits["logits"], n_points, **inputs)
    layers = policy.sweep(exits["logits"], values, **inputs)
    cider = judge.cider(layers)
    n_exits = exits["logits"].shape[1]
    return [
        {"knob": policy.knob, "value": float(np.asarray(value, dtype=float)) if np.ndim(value) == 0 else str(value),
         "cider": float(c), "layer_speedup": float(layer_speedup(row, n_exits)),
         "flops_speedup": None if costs is None else float(flops_speedup(row, costs))}
        for value, row, c in zip(values, layers, cider)
    ]
