"""Metrics: task metrics, speed-up, calibration and the per-run assumption checks. NumPy only."""
