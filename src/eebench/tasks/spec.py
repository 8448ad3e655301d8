"""TaskSpec: what the registry knows about a task, and how to build its splits."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from ..catalogue import Option
from .storage import PreparedTask


@dataclass(frozen=True)
class TaskSpec:
    name: str
    modality: str  # "text", "text-pair", "image" or "image-caption"
    n_classes: int  # 1 = regression; 0 = the model's vocabulary (a caption task's unit is a generated token)
    metric: str  # a name understood by eebench.metrics.task_metrics
    description: str
    label_names: tuple[str, ...] = ()
    options: dict[str, Option] = field(default_factory=dict)
    # build(resolved_options, seed) -> PreparedTask; options are already validated.
    build: Callable[[dict[str, Any], int], PreparedTask] | None = field(default=None, repr=False, compare=False)
    # A task with a prepared format of its own (captions: jsonl + images) writes it: prepare(options, out, seed).
    prepare: Callable[[dict[str, Any], Any, int], None] | None = field(default=None, repr=False, compare=False)
