"""Multi-exit models: backbone adapters (embed → layers → pool) with an exit head after every layer."""

from .multi_exit import LayerContext, MultiExitModel, MultiExitOutput
from .registry import BACKBONES, ModelBundle, backbone_options, build_model, get_backbone
from .storage import load_model, write_model_dir

__all__ = [
    "BACKBONES", "LayerContext", "ModelBundle", "MultiExitModel", "MultiExitOutput", "backbone_options",
    "build_model", "get_backbone", "load_model", "write_model_dir",
]
