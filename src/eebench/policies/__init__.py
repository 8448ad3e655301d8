"""Exit policies: one module per method, a registry, simulation over cached logits and knob sweeps.

    from eebench.policies import make_policy, simulate
    policy = make_policy("patience", patience=2)
    policy.fit(val_logits, val_labels, costs=None)
    exit_layer, prediction = simulate(policy, test_logits)

NumPy only: never import torch, transformers or pandas here (policy stages must start fast). Every module of
this package is imported with it, so each policy class defined in one registers in the catalogue.
"""

import importlib
import pkgutil

from ..lazy import lazy_attributes
from .base import ExitPolicy, State
from .registry import ALIASES, make_policy, policy_class, policy_from_dict
from .simulation import simulate

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")


__getattr__ = lazy_attributes(__name__, {}, {"POLICIES": "policy"})  # every registered policy class by id


__all__ = ["ALIASES", "POLICIES", "ExitPolicy", "State", "make_policy", "policy_class", "policy_from_dict", "simulate"]
