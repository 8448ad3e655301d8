"""Model folders: `model.safetensors` (weights), `eebench_model.json` (how to rebuild the architecture and the
input encoding) and the tokenizer files. Written into a temporary sibling folder and renamed into place, so a
half-written model folder never exists under the final name."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from safetensors.torch import load_model as load_safetensors_into
from safetensors.torch import save_model as save_safetensors_from

from ..errors import DataError
from ..io import atomic_folder, file_sha256, read_json
from .inputs import ImageEncoder, TextEncoder
from .backbones import SMALL_FAMILIES, TRANSFORMER_FAMILIES
from .registry import ModelBundle, model_from_record

WEIGHTS = "model.safetensors"
RECORD = "eebench_model.json"
WEIGHTS_CHECKSUM = "weights_sha256"  # the record's field: SHA-256 of WEIGHTS as written
FORMAT_VERSION = 1


def write_model_dir(bundle: ModelBundle, out_dir: Path, extra_files: dict[str, str] | None = None) -> None:
    """Write the model folder atomically; `extra_files` (name → text, e.g. the training log) go in with it."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise DataError(f"'{out_dir}': is a file; expected the path of a model folder")
    with atomic_folder(out_dir) as tmp:
        write_model_files(bundle, tmp)
        for name, text in (extra_files or {}).items():
            (tmp / name).write_text(text)


def write_model_files(bundle: ModelBundle, folder: Path) -> None:
    """The weights, then the record with the weights' checksum (a final model is checked when loaded, as
    checkpoints are)."""
    save_safetensors_from(bundle.model, str(folder / WEIGHTS))
    record = {"format": FORMAT_VERSION, **bundle.record, WEIGHTS_CHECKSUM: file_sha256(folder / WEIGHTS)}
    (folder / RECORD).write_text(json.dumps(record, indent=2) + "\n")
    if bundle.tokenizer is not None:
        bundle.tokenizer.save_pretrained(str(folder))


def read_record(model_dir: Path) -> dict:
    path = Path(model_dir) / RECORD
    if not path.is_file():
        raise DataError(f"'{model_dir}': not a model folder ({RECORD} missing); train it first")
    record = read_json(path)
    if not isinstance(record, dict):
        raise DataError(f"'{path}': expected a JSON object, got {type(record).__name__}")
    if record.get("format") != FORMAT_VERSION:
        raise DataError(f"'{path}', field 'format': expected {FORMAT_VERSION}, got {record.get('format')!r}")
    _check_record(record, path)
    return record


def _check_record(record: dict, path: Path) -> None:
    """The fields `model_from_record` reads, so a damaged or foreign record is named rather than half-built."""
    required = ["backbone", "options", "family", "n_classes", "modality", "lte_heads", "n_exits"]
    required += ["input_shape"] if "hf_config" not in record else []
    required += ["image_encoder"] if record.get("modality") == "image" else ["max_length"]
    missing = [key for key in required if key not in record]
    if missing:
        raise DataError(f"'{path}': missing field '{missing[0]}' (was this folder written by `eebench train`?)")
    families = sorted((*SMALL_FAMILIES, *TRANSFORMER_FAMILIES))
    if record["family"] not in families:
        raise DataError(f"'{path}', field 'family': got {record['family']!r} (allowed: {', '.join(families)})")
    if ("hf_config" in record) == (record["family"] in SMALL_FAMILIES):
        need = "no 'hf_config'" if record["family"] in SMALL_FAMILIES else "an 'hf_config'"
        raise DataError(f"'{path}', field 'family': {record['family']!r} models have {need}")
    for key in ("n_classes", "n_exits"):
        if not isinstance(record[key], int) or isinstance(record[key], bool) or record[key] < 1:
            raise DataError(f"'{path}', field '{key}': got {record[key]!r} (allowed: a positive integer)")
    if not isinstance(record["options"], dict):
        raise DataError(f"'{path}', field 'options': expected a JSON object, got {record['options']!r}")
    # The precision training ran in (`eebench.training.precision`); predict and latency run the model in it.
    training = record.get("training", {})
    precision = training.get("precision", {"dtype": "fp32", "tf32": False}) if isinstance(training, dict) else None
    if (not isinstance(precision, dict) or precision.get("dtype") not in ("fp32", "bf16", "fp16")
            or not isinstance(precision.get("tf32"), bool)):
        raise DataError(f"'{path}', field 'training.precision': got {precision!r} (allowed: "
                        '{"dtype": "fp32", "bf16" or "fp16", "tf32": true or false})')


def check_model_fits_data(record: dict, model_dir, data_dir, data) -> None:
    """A model folder and a prepared data folder from different tasks fail here, named, not inside the network."""
    where = f"'{Path(model_dir) / RECORD}' and '{data_dir}'"
    if record["modality"] != data.modality:
        raise DataError(f"{where}: the model takes {record['modality']} inputs, the data is {data.modality}")
    if "input_shape" in record:
        model_hw, data_hw = list(record["input_shape"][1:]), list(np.shape(data.inputs)[1:3])
        if model_hw != data_hw:
            raise DataError(f"{where}: the model takes {model_hw} images, the data's are {data_hw}")


def load_model(model_dir: str | os.PathLike) -> ModelBundle:
    """Rebuild a trained model from its folder alone (no hub, no package), in eval mode on the CPU."""
    model_dir = Path(model_dir)
    record = read_record(model_dir)
    try:
        model = model_from_record(record)
    except Exception as exc:  # a hand-edited or foreign record: transformers/torch reject it in many ways
        raise DataError(f"'{model_dir / RECORD}': cannot rebuild the model it describes ({_first_line(exc)})") from None
    weights = model_dir / WEIGHTS
    if not weights.is_file():
        raise DataError(f"'{weights}': file not found (the model folder is incomplete; train it again)")
    # folders written before models carried a checksum have none to check
    if WEIGHTS_CHECKSUM in record and file_sha256(weights) != record[WEIGHTS_CHECKSUM]:
        raise DataError(f"'{weights}': does not match the checksum in {RECORD} (the file changed after training: a "
                        f"damaged copy or an edit); train the run again")
    try:
        load_safetensors_into(model, str(weights))
    except Exception as exc:  # truncated file, or weights of another architecture
        raise DataError(f"'{weights}': does not hold the weights {RECORD} describes ({_first_line(exc)})") from None
    if model.n_exits != record["n_exits"]:
        raise DataError(f"'{model_dir / RECORD}', field 'n_exits': got {record['n_exits']}, the model has {model.n_exits}")
    model.eval()
    tokenizer = None
    if "image_encoder" in record:
        encoder = ImageEncoder(**record["image_encoder"])
    else:
        from transformers import AutoTokenizer

        try:
            tokenizer = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
        except Exception as exc:  # missing or damaged tokenizer files
            raise DataError(f"'{model_dir}': cannot load its tokenizer files ({_first_line(exc)})") from None
        encoder = TextEncoder(tokenizer, record["max_length"])
    return ModelBundle(model, encoder, record, tokenizer)


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
