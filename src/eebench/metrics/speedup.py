"""Speed-up of early exiting. Layers are 1-based; layer speed-up = L / mean(exit layer) (PABEE/BEEM), FLOPs
speed-up = full-model FLOPs / mean FLOPs spent, with costs[l-1] the cumulative FLOPs to produce exit l. The
full model is the plain one (embedding, every layer, the final head, no intermediate exit heads): costs.json's
`full_model_flops`; files written before it existed fall back to costs[-1], the cost of the final exit."""

from __future__ import annotations

import os

import numpy as np

from ..errors import DataError
from ..io import read_json


def layer_speedup(exit_layers, n_exits: int):
    """L / mean exit layer; `exit_layers` [N] gives a float, [K, N] gives one value per row."""
    return n_exits / np.asarray(exit_layers).mean(axis=-1)


class Costs(np.ndarray):
    """Cumulative FLOPs to each exit [L], carrying `full_model`: the plain full model's FLOPs, or None."""

    full_model: float | None = None


def flops_speedup(exit_layers, costs):
    full_model = getattr(costs, "full_model", None)
    costs = np.asarray(costs, dtype=float)
    numerator = costs[-1] if full_model is None else full_model
    return numerator / costs[np.asarray(exit_layers) - 1].mean(axis=-1)


def mean_cost_speedup(exit_layers, n_exits: int, costs=None):
    """The speed-up fitting maximises: FLOPs when costs are known, else layers."""
    return layer_speedup(exit_layers, n_exits) if costs is None else flops_speedup(exit_layers, costs)


def check_costs(costs, n_exits: int, source=None, full_model=None) -> np.ndarray | None:
    """Validate cumulative costs [L] (positive, non-decreasing); None stays None (layer index is the cost).
    `full_model` (or the one `costs` carries) must be a positive number; it travels with the result."""
    if costs is None:
        return None
    full_model = getattr(costs, "full_model", None) if full_model is None else full_model
    where = f"'{source}', field 'flops'" if source else "'costs'"
    arr = np.asarray(costs, dtype=float)
    if arr.shape != (n_exits,):
        raise DataError(f"{where}: expected {n_exits} cumulative costs (one per exit), got shape {arr.shape}")
    if not np.all(np.isfinite(arr)) or np.any(arr <= 0) or np.any(np.diff(arr) < 0):
        raise DataError(f"{where}: costs must be finite, positive and non-decreasing (cumulative), got {arr.tolist()}")
    if full_model is not None and not (isinstance(full_model, int | float) and np.isfinite(full_model) and full_model > 0):
        where = f"'{source}', field 'full_model_flops'" if source else "'full_model'"
        raise DataError(f"{where}: expected a positive number of FLOPs, got {full_model!r}")
    checked = arr.view(Costs)
    checked.full_model = None if full_model is None else float(full_model)
    return checked


def load_costs(path: str | os.PathLike | None, n_exits: int) -> np.ndarray | None:
    """Read costs.json (`{"flops": [...], "n_exits": L, "full_model_flops": F}`); None when no path is given."""
    if path is None:
        return None
    data = read_json(path)
    if not isinstance(data, dict) or "flops" not in data:
        raise DataError(f"'{path}': missing field 'flops' (cumulative FLOPs to each exit)")
    if "n_exits" in data and data["n_exits"] != n_exits:
        raise DataError(f"'{path}', field 'n_exits': {data['n_exits']} does not match the logits' {n_exits} exits")
    try:
        return check_costs(data["flops"], n_exits, path, data.get("full_model_flops"))
    except (TypeError, ValueError):
        raise DataError(f"'{path}', field 'flops': expected a list of numbers") from None
