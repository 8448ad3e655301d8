"""Training strategies and the `eebench train` stage.

The names below load on first use (PEP 562), so the torch-free declarations (`training.options`,
`training.strategies`' option declarations) are importable without torch."""

from importlib import import_module

_EXPORTS = {
    "TRAINING_DEFAULTS": "options", "TrainingOptions": "options", "training_options": "options",
    "train_run": "run", "Strategy": "strategies", "make_strategy": "strategies",
}
__all__ = [*_EXPORTS, "STRATEGIES"]


def __getattr__(name: str):
    if name == "STRATEGIES":  # every registered strategy class by name
        from ..catalogue import components

        return {key: component.target for key, component in components("strategy").items()}
    if name in _EXPORTS:
        return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
