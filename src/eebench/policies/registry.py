"""The policy registry: ids as in the config, `make_policy(id, **params)` and `policy_from_dict` (fit.json).

Every policy class registers in the catalogue when defined (`ExitPolicy.__init_subclass__`); importing this
package imports each of its modules, so a new policy is one new file here."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from .. import catalogue
from ..catalogue import check_value, integer
from ..errors import DataError
from ..lazy import lazy_attributes
from .base import ExitPolicy

ALIASES = {"static": "static-k"}
# What `ExitPolicy.fit` sets for every policy (a policy's own knobs are declared in its `params`).
SHAPE_FITTED = {"n_exits_": integer("exits of the val logits", minimum=1),
                "n_classes_": integer("classes of the val logits", minimum=1)}
__getattr__ = lazy_attributes(__name__, {}, {"POLICIES": "policy"})  # every registered policy class by id


def policy_class(policy_id: str) -> type[ExitPolicy]:
    return catalogue.get("policy", ALIASES.get(policy_id, policy_id)).target


def make_policy(policy_id: str, **params: Any) -> ExitPolicy:
    """A policy by its config id with parameters by name; unknown ids or bad parameters are a ConfigError."""
    cls = policy_class(policy_id)
    return cls(**cls.check_params(params))


def policy_from_dict(data: dict[str, Any]) -> ExitPolicy:
    """Rebuild a fitted policy from `ExitPolicy.to_dict()` (the content of fit.json); `params` and `fitted` are
    checked (`check_fitted`), so a hand-edited file cannot carry a knob out of range or a NaN."""
    if not isinstance(data, dict) or "policy" not in data:
        raise DataError("fit data: missing field 'policy' (is this a fit.json written by `eebench fit`?)")
    for key in ("params", "fitted"):
        if not isinstance(data.get(key, {}), dict):
            raise DataError(f"fit data, field '{key}': expected a mapping of names to values, got {data[key]!r}")
    policy = make_policy(data["policy"], **data.get("params", {}))
    for name, value in check_fitted(type(policy), data.get("fitted", {})).items():
        setattr(policy, name, np.asarray(value) if isinstance(value, list) else value)
    return policy


def check_fitted(cls: type[ExitPolicy], fitted: dict[str, Any]) -> dict[str, Any]:
    """`fitted` (fit.json's block) checked against what the declarations describe: every value is numbers (nested
    lists of them, null inside a list = a closed exit) and each number finite; `n_exits_`, `n_classes_` and
    `closed_exits_` (exits 1..L-1) as `fit` sets them; a knob `NAME_` against the policy's option NAME (null not
    allowed); a per-exit `NAMEs_` against option NAME item by item, with one item per exit. Attributes no declaration
    names (bin tables, temperatures, …) are checked for finite numbers only."""
    for name, value in fitted.items():
        field = f"fit data, field 'fitted.{name}'"
        if not isinstance(name, str) or not name.endswith("_"):
            raise DataError(f"fit data, field 'fitted': {name!r} is not a fitted attribute (names end with '_')")
        if not _finite_numbers(value):
            raise DataError(f"{field}: got {value!r}, expected finite numbers (NaN and infinity are not allowed; "
                            "null only inside a list, for a closed exit)")
        if name in SHAPE_FITTED:
            check_value(SHAPE_FITTED[name], value, field)
    n_exits = fitted.get("n_exits_")
    closed = fitted.get("closed_exits_", [])
    last = n_exits - 1 if n_exits is not None else math.inf
    if not isinstance(closed, list) or not all(isinstance(x, int) and 1 <= x <= last for x in closed):
        raise DataError(f"fit data, field 'fitted.closed_exits_': got {closed!r}, expected a list of early exits "
                        f"(integers in 1..{last})")
    for param, option in cls.params.items():
        field = f"fit data, field 'fitted.{param}_'"
        if f"{param}_" in fitted:
            value = check_value(dataclasses.replace(option, nullable=False), fitted[f"{param}_"], field)
            _check_exit_count(value, n_exits, field, list_only=True)
        if f"{param}s_" in fitted:
            values = fitted[f"{param}s_"]
            _check_exit_count(values, n_exits, f"fit data, field 'fitted.{param}s_'")
            for index, item in enumerate(values):
                if item is not None:
                    check_value(dataclasses.replace(option, nullable=False, per_exit=False), item,
                                f"fit data, field 'fitted.{param}s_[{index}]'")
    return fitted


def _finite_numbers(value: Any, inside_list: bool = False) -> bool:
    if isinstance(value, list):
        return all(_finite_numbers(item, inside_list=True) for item in value)
    if value is None:
        return inside_list
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _check_exit_count(value: Any, n_exits: int | None, field: str, list_only: bool = False) -> None:
    """A per-exit list must have one item per exit (`n_exits_`, when the file gives it)."""
    if not isinstance(value, list):
        if list_only:
            return
        raise DataError(f"{field}: got {value!r}, expected a list with one value per exit")
    if n_exits is not None and len(value) != n_exits:
        raise DataError(f"{field}: {len(value)} values, expected one per exit ({n_exits})")
