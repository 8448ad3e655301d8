"""Turning a split's raw inputs (sentences, sentence pairs, uint8 images) into model batches.

Text is tokenised once per split and padded per batch to that batch's longest sequence (dynamic padding).
Images are standardised with statistics recorded at training time, so prediction sees the same scaling."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch

from ..errors import DataError


class EncodedSplit:
    """A split ready for batching: `batch(indices)` returns the model's input tensors for those samples."""

    def __len__(self) -> int:
        raise NotImplementedError

    def batch(self, indices: Sequence[int]) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def lengths(self) -> np.ndarray:
        """Per-sample sequence length (1 for images); prediction batches similar lengths together."""
        return np.ones(len(self), dtype=np.int64)


class EncodedText(EncodedSplit):
    def __init__(self, features: list[dict[str, list[int]]], pad_token_id: int):
        self.features = features
        self.pad_token_id = pad_token_id

    def __len__(self) -> int:
        return len(self.features)

    def lengths(self) -> np.ndarray:
        return np.array([len(f["input_ids"]) for f in self.features], dtype=np.int64)

    def batch(self, indices: Sequence[int]) -> dict[str, torch.Tensor]:
        chosen = [self.features[i] for i in indices]
        width = max(len(f["input_ids"]) for f in chosen)
        out: dict[str, torch.Tensor] = {}
        for key in chosen[0]:
            pad = self.pad_token_id if key == "input_ids" else 0
            rows = [f[key] + [pad] * (width - len(f[key])) for f in chosen]
            out[key] = torch.tensor(rows, dtype=torch.long)
        return out


class EncodedImages(EncodedSplit):
    def __init__(self, pixels: torch.Tensor):
        self.pixels = pixels

    def __len__(self) -> int:
        return self.pixels.shape[0]

    def batch(self, indices: Sequence[int]) -> dict[str, torch.Tensor]:
        return {"pixel_values": self.pixels[torch.as_tensor(list(indices), dtype=torch.long)]}


@dataclass
class TextEncoder:
    tokenizer: Any
    max_length: int

    def encode(self, inputs: Sequence, source: str = "inputs") -> EncodedText:
        if len(inputs) == 0:
            raise DataError(f"'{source}': the split has no samples")
        if isinstance(inputs[0], (tuple, list)):
            first, second = [a for a, _ in inputs], [b for _, b in inputs]
            encoded = self.tokenizer(first, second, truncation=True, max_length=self.max_length)
        elif isinstance(inputs[0], str):
            encoded = self.tokenizer(list(inputs), truncation=True, max_length=self.max_length)
        else:
            raise DataError(f"'{source}': text inputs must be strings or (text_a, text_b) pairs, got {type(inputs[0]).__name__}")
        keys = [k for k in ("input_ids", "attention_mask", "token_type_ids") if k in encoded]
        features = [{k: encoded[k][i] for k in keys} for i in range(len(inputs))]
        return EncodedText(features, self.tokenizer.pad_token_id)


@dataclass
class ImageEncoder:
    """uint8 [N,H,W] or [N,H,W,3] → float [N,C,H',W'], standardised, resized and channel-matched to the model."""

    mean: float
    std: float
    channels: int
    size: int | None = None  # square side the model expects; None keeps the data's size

    @staticmethod
    def fit(images: np.ndarray, channels: int, size: int | None = None) -> "ImageEncoder":
        values = np.asarray(images, dtype=np.float64)
        return ImageEncoder(mean=float(values.mean()), std=float(values.std() or 1.0), channels=channels, size=size)

    def to_dict(self) -> dict:
        return {"mean": self.mean, "std": self.std, "channels": self.channels, "size": self.size}

    def encode(self, images: np.ndarray, source: str = "inputs") -> EncodedImages:
        arr = np.asarray(images)
        if arr.ndim not in (3, 4) or (arr.ndim == 4 and arr.shape[-1] not in (1, 3)) or arr.shape[0] == 0:
            raise DataError(f"'{source}', field 'images': expected a non-empty [N,H,W] or [N,H,W,3] array, got shape {arr.shape}")
        pixels = torch.from_numpy(arr.astype(np.float32))
        pixels = pixels.unsqueeze(1) if pixels.ndim == 3 else pixels.permute(0, 3, 1, 2)
        pixels = (pixels - self.mean) / self.std
        if pixels.shape[1] != self.channels:  # grey data into an RGB model, or the reverse
            pixels = pixels.mean(dim=1, keepdim=True).expand(-1, self.channels, -1, -1)
        if self.size is not None and tuple(pixels.shape[-2:]) != (self.size, self.size):
            pixels = torch.nn.functional.interpolate(pixels, size=(self.size, self.size), mode="bilinear", align_corners=False)
        return EncodedImages(pixels.contiguous())
