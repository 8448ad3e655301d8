"""Training strategies and the `eebench train` stage."""

from .options import TRAINING_DEFAULTS, TrainingOptions, training_options
from .run import train_run
from .strategies import STRATEGIES, Strategy, make_strategy

__all__ = ["STRATEGIES", "TRAINING_DEFAULTS", "Strategy", "TrainingOptions", "make_strategy", "train_run", "training_options"]
