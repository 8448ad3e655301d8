"""TaskSpec: what the registry knows about a task, and how to build its splits."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from ..catalogue import Option
from .storage import PreparedTask


@dataclass(frozen=True)
class TaskSpec:
    name: str
    modality: str  # "text", "text-pair" or "image"
    n_classes: int  # 1 = regression
    metric: str  # a name understood by eebench.metrics.task_metrics
    description: str
    label_names: tuple[str, ...] = ()
    options: dict[str, Option] = field(default_factory=dict)
    # build(resolved_options, seed) -> PreparedTask; options are already validated.
    build: Callable[[dict[str, Any], int], PreparedTask] | None = field(default=None, repr=False, compare=False)
