"""Multi-exit models: backbone adapters (embed → layers → pool) with an exit head after every layer.

The names below load on first use, so importing `eebench.models.backbones` (the torch-free declarations the
config check reads) does not import torch."""

from ..lazy import lazy_attributes

_EXPORTS = {
    "LayerContext": "multi_exit", "MultiExitModel": "multi_exit", "MultiExitOutput": "multi_exit",
    "ModelBundle": "registry", "build_model": "registry", "backbone_options": "backbones",
    "get_backbone": "backbones", "load_model": "storage", "write_model_dir": "storage",
}
__all__ = [*_EXPORTS, "BACKBONES"]
__getattr__ = lazy_attributes(__name__, _EXPORTS, {"BACKBONES": "backbone"})
