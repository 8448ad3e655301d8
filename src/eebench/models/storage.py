"""Model folders: `model.safetensors` (weights), `eebench_model.json` (how to rebuild the architecture and the
input encoding) and the tokenizer files. Written into a temporary sibling folder and renamed into place, so a
half-written model folder never exists under the final name."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from safetensors.torch import load_model as load_safetensors_into
from safetensors.torch import save_model as save_safetensors_from

from ..errors import DataError
from ..io import give_usual_permissions
from .inputs import ImageEncoder, TextEncoder
from .registry import ModelBundle, model_from_record

WEIGHTS = "model.safetensors"
RECORD = "eebench_model.json"
FORMAT_VERSION = 1


def write_model_dir(bundle: ModelBundle, out_dir: Path, extra_files: dict[str, str] | None = None) -> None:
    """Write the model folder atomically; `extra_files` (name → text, e.g. the training log) go in with it."""
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        write_model_files(bundle, tmp)
        for name, text in (extra_files or {}).items():
            (tmp / name).write_text(text)
        give_usual_permissions(tmp)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        os.replace(tmp, out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_model_files(bundle: ModelBundle, folder: Path) -> None:
    save_safetensors_from(bundle.model, str(folder / WEIGHTS))
    (folder / RECORD).write_text(json.dumps({"format": FORMAT_VERSION, **bundle.record}, indent=2) + "\n")
    if bundle.tokenizer is not None:
        bundle.tokenizer.save_pretrained(str(folder))


def read_record(model_dir: Path) -> dict:
    path = Path(model_dir) / RECORD
    if not path.is_file():
        raise DataError(f"'{model_dir}': not a model folder ({RECORD} missing); train it first")
    record = json.loads(path.read_text())
    if record.get("format") != FORMAT_VERSION:
        raise DataError(f"'{path}', field 'format': expected {FORMAT_VERSION}, got {record.get('format')!r}")
    return record


def load_model(model_dir: str | os.PathLike) -> ModelBundle:
    """Rebuild a trained model from its folder alone (no hub, no package), in eval mode on the CPU."""
    model_dir = Path(model_dir)
    record = read_record(model_dir)
    model = model_from_record(record)
    load_safetensors_into(model, str(model_dir / WEIGHTS))
    model.eval()
    tokenizer = None
    if "image_encoder" in record:
        encoder = ImageEncoder(**record["image_encoder"])
    else:
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
        encoder = TextEncoder(tokenizer, record["max_length"])
    return ModelBundle(model, encoder, record, tokenizer)
