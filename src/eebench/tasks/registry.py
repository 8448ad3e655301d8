"""The task registry: every module of this package that defines `SPECS` (a list of TaskSpec) declares tasks;
each is registered in the catalogue, so a new task is one new file here."""

from __future__ import annotations

import importlib
import pkgutil

from .. import catalogue
from .spec import TaskSpec


def _register_package_tasks() -> dict[str, TaskSpec]:
    tasks = {}
    for info in pkgutil.iter_modules(importlib.import_module(__package__).__path__):
        module = importlib.import_module(f"{__package__}.{info.name}")
        for spec in getattr(module, "SPECS", ()):
            catalogue.register("task", spec.name, spec.options, spec.description, target=spec,
                               regression=spec.n_classes == 1, modality=spec.modality)
            tasks[spec.name] = spec
    return tasks


TASKS: dict[str, TaskSpec] = _register_package_tasks()


def get_task(name: str) -> TaskSpec:
    return catalogue.get("task", name).target
