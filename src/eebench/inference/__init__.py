"""Inference: cached exit logits for every policy, real early-exit execution, FLOPs and latency."""

from .predict import predict_split

__all__ = ["predict_split"]
