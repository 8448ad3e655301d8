"""The policy registry: ids as in the config, `make_policy(id, **params)` and `policy_from_dict` (fit.json).

Every policy class registers in the catalogue when defined (`ExitPolicy.__init_subclass__`); importing this
package imports each of its modules, so a new policy is one new file here."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import catalogue
from ..errors import DataError
from ..lazy import lazy_attributes
from .base import ExitPolicy

ALIASES = {"static": "static-k"}
__getattr__ = lazy_attributes(__name__, {}, {"POLICIES": "policy"})  # every registered policy class by id


def policy_class(policy_id: str) -> type[ExitPolicy]:
    return catalogue.get("policy", ALIASES.get(policy_id, policy_id)).target


def make_policy(policy_id: str, **params: Any) -> ExitPolicy:
    """A policy by its config id with parameters by name; unknown ids or bad parameters are a ConfigError."""
    cls = policy_class(policy_id)
    return cls(**cls.check_params(params))


def policy_from_dict(data: dict[str, Any]) -> ExitPolicy:
    """Rebuild a fitted policy from `ExitPolicy.to_dict()` (the content of fit.json)."""
    if not isinstance(data, dict) or "policy" not in data:
        raise DataError("fit data: missing field 'policy' (is this a fit.json written by `eebench fit`?)")
    policy = make_policy(data["policy"], **data.get("params", {}))
    for name, value in data.get("fitted", {}).items():
        if not name.endswith("_"):
            raise DataError(f"fit data, field 'fitted': '{name}' is not a fitted attribute (names end with '_')")
        setattr(policy, name, np.asarray(value) if isinstance(value, list) else value)
    return policy
