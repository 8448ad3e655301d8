"""Loading on first use: `lazy_module` (a module imported on its first attribute access, so declarations that
sit next to torch code can be read by the torch-free config check) and `lazy_attributes` (a package's
`__getattr__`, PEP 562, whose names load on first use)."""

from __future__ import annotations

import importlib
from typing import Any, Callable


class LazyModule:
    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, attribute: str) -> Any:
        return getattr(importlib.import_module(self._name), attribute)


def lazy_module(name: str) -> Any:
    return LazyModule(name)


def lazy_attributes(package: str, exports: dict[str, str], registries: dict[str, str]) -> Callable[[str], Any]:
    """A `__getattr__` for `package`: each name of `exports` is taken from its submodule on first use; each name
    of `registries` is the dict name -> class or spec of every component of that catalogue kind."""

    def __getattr__(name: str) -> Any:
        if name in registries:
            from .catalogue import components

            return {key: component.target for key, component in components(registries[name]).items()}
        if name in exports:
            return getattr(importlib.import_module(f".{exports[name]}", package), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
