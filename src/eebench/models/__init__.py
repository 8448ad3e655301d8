"""Multi-exit models: backbone adapters (embed → layers → pool) with an exit head after every layer.

The names below load on first use (PEP 562), so importing `eebench.models.backbones` (the torch-free
declarations the config check reads) does not import torch."""

from importlib import import_module

_EXPORTS = {
    "LayerContext": "multi_exit", "MultiExitModel": "multi_exit", "MultiExitOutput": "multi_exit",
    "ModelBundle": "registry", "build_model": "registry", "backbone_options": "backbones",
    "get_backbone": "backbones", "load_model": "storage", "write_model_dir": "storage",
}
__all__ = [*_EXPORTS, "BACKBONES"]


def __getattr__(name: str):
    if name == "BACKBONES":
        from ..catalogue import components

        return {key: component.target for key, component in components("backbone").items()}
    if name in _EXPORTS:
        return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
