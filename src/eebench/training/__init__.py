"""Training strategies and the `eebench train` stage.

The names below load on first use, so the torch-free declarations (`training.options`, the strategies' option
declarations) are read without torch."""

from ..lazy import lazy_attributes

_EXPORTS = {
    "TRAINING_DEFAULTS": "options", "TrainingOptions": "options", "training_options": "options",
    "train_run": "run", "Strategy": "strategies", "make_strategy": "strategies",
}
__all__ = [*_EXPORTS, "STRATEGIES"]
__getattr__ = lazy_attributes(__name__, _EXPORTS, {"STRATEGIES": "strategy"})
