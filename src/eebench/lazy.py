"""`lazy_module`: a module imported on its first attribute access, so declarations that sit next to torch code
(training strategies) can be read by the torch-free config check."""

from __future__ import annotations

import importlib
from typing import Any


class LazyModule:
    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, attribute: str) -> Any:
        return getattr(importlib.import_module(self._name), attribute)


def lazy_module(name: str) -> Any:
    return LazyModule(name)
