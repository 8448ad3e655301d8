"""The task registry: every task id the config may name, with its TaskSpec."""

from __future__ import annotations

from ..errors import ConfigError
from . import digits, glue, images, sentiment_shift, synth_sentiment, text_files, uci_sentiment
from .spec import TaskSpec

TASKS: dict[str, TaskSpec] = {spec.name: spec for module in (digits, synth_sentiment, glue, images, sentiment_shift, text_files, uci_sentiment) for spec in module.SPECS}


def get_task(name: str) -> TaskSpec:
    try:
        return TASKS[name]
    except (KeyError, TypeError):
        raise ConfigError(f"unknown task {name!r} (valid: {', '.join(sorted(TASKS))})") from None
