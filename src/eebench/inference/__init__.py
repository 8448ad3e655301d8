"""Inference: cached exit logits for every policy, real early-exit execution, FLOPs and latency."""

from .costs import measure_costs
from .early_exit import EarlyExitResult, EarlyExitRunner, FullDepthRunner, early_exit_predict, full_depth_predict
from .latency import measure_latency
from .predict import predict_run, predict_split

__all__ = ["EarlyExitResult", "EarlyExitRunner", "FullDepthRunner", "early_exit_predict", "full_depth_predict",
           "measure_costs", "measure_latency", "predict_run", "predict_split"]
