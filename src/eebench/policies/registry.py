"""The policy registry: ids as in the config, `make_policy(id, **params)` and `policy_from_dict` (fit.json)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ConfigError, DataError
from .base import ExitPolicy
from .beem import BeemAccuracyPolicy, BeemCostPolicy
from .entropy import EntropyPolicy, NormEntropyPolicy
from .final import FinalPolicy
from .lte import LearnToExitPolicy
from .maxprob import MaxProbPolicy
from .oracle import OraclePolicy
from .patience import PatiencePolicy
from .patience_confidence import PatienceConfidencePolicy
from .pcee import PceePolicy, PceeSmoothedPolicy
from .risk_control import RiskControlPolicy
from .static import StaticPolicy
from .ucb import UcbPolicy

POLICIES: dict[str, type[ExitPolicy]] = {
    cls.id: cls
    for cls in (
        FinalPolicy,
        StaticPolicy,
        MaxProbPolicy,
        EntropyPolicy,
        NormEntropyPolicy,
        PatiencePolicy,
        PatienceConfidencePolicy,
        BeemCostPolicy,
        BeemAccuracyPolicy,
        PceePolicy,
        PceeSmoothedPolicy,
        UcbPolicy,
        OraclePolicy,
        RiskControlPolicy,
        LearnToExitPolicy,
    )
}
ALIASES = {"static": "static-k"}


def policy_class(policy_id: str) -> type[ExitPolicy]:
    cls = POLICIES.get(ALIASES.get(policy_id, policy_id))
    if cls is None:
        valid = ", ".join(sorted([*POLICIES, *ALIASES]))
        raise ConfigError(f"unknown policy '{policy_id}'; valid policies: {valid}")
    return cls


def make_policy(policy_id: str, **params: Any) -> ExitPolicy:
    """A policy by its config id with parameters by name; unknown ids or parameters are a ConfigError."""
    cls = policy_class(policy_id)
    unknown = sorted(set(params) - set(cls.param_names()))
    if unknown:
        valid = ", ".join(cls.param_names()) or "none"
        raise ConfigError(f"policy '{cls.id}': unknown parameter(s) {', '.join(unknown)}; valid parameters: {valid}")
    return cls(**params)


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
