"""Speed-up of early exiting. Layers are 1-based; layer speed-up = L / mean(exit layer) (PABEE/BEEM), FLOPs
speed-up = full-model FLOPs / mean FLOPs spent, with costs[l-1] the cumulative FLOPs to produce exit l."""

from __future__ import annotations

import os

import numpy as np

from ..errors import DataError
from ..io import read_json


def layer_speedup(exit_layers, n_exits: int):
    """L / mean exit layer; `exit_layers` [N] gives a float, [K, N] gives one value per row."""
    return n_exits / np.asarray(exit_layers).mean(axis=-1)


def flops_speedup(exit_layers, costs):
    costs = np.asarray(costs, dtype=float)
    return costs[-1] / costs[np.asarray(exit_layers) - 1].mean(axis=-1)


def mean_cost_speedup(exit_layers, n_exits: int, costs=None):
    """The speed-up fitting maximises: FLOPs when costs are known, else layers."""
    return layer_speedup(exit_layers, n_exits) if costs is None else flops_speedup(exit_layers, costs)


def check_costs(costs, n_exits: int, source=None) -> np.ndarray | None:
    """Validate cumulative costs [L] (positive, non-decreasing); None stays None (layer index is the cost)."""
    if costs is None:
        return None
    where = f"'{source}', field 'flops'" if source else "'costs'"
    arr = np.asarray(costs, dtype=float)
    if arr.shape != (n_exits,):
        raise DataError(f"{where}: expected {n_exits} cumulative costs (one per exit), got shape {arr.shape}")
    if not np.all(np.isfinite(arr)) or np.any(arr <= 0) or np.any(np.diff(arr) < 0):
        raise DataError(f"{where}: costs must be finite, positive and non-decreasing (cumulative), got {arr.tolist()}")
    return arr


def load_costs(path: str | os.PathLike | None, n_exits: int) -> np.ndarray | None:
    """Read costs.json (`{"flops": [...], "n_exits": L}`); None when no path is given."""
    if path is None:
        return None
    data = read_json(path)
    if not isinstance(data, dict) or "flops" not in data:
        raise DataError(f"'{path}': missing field 'flops' (cumulative FLOPs to each exit)")
    if "n_exits" in data and data["n_exits"] != n_exits:
        raise DataError(f"'{path}', field 'n_exits': {data['n_exits']} does not match the logits' {n_exits} exits")
    try:
        return check_costs(data["flops"], n_exits, path)
    except (TypeError, ValueError):
        raise DataError(f"'{path}', field 'flops': expected a list of numbers") from None
