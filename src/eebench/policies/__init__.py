"""Exit policies: one module per method, a registry, simulation over cached logits and knob sweeps.

    from eebench.policies import make_policy, simulate
    policy = make_policy("patience", patience=2)
    policy.fit(val_logits, val_labels, costs=None)
    exit_layer, prediction = simulate(policy, test_logits)

NumPy only: never import torch, transformers or pandas here (policy stages must start fast).
"""

from .base import ExitPolicy, State, simulate
from .registry import ALIASES, POLICIES, make_policy, policy_class, policy_from_dict

__all__ = ["ALIASES", "POLICIES", "ExitPolicy", "State", "make_policy", "policy_class", "policy_from_dict", "simulate"]
