"""Seeded, stratified index selection for carving val/test splits out of a labelled pool."""

from __future__ import annotations

import zlib

import numpy as np


def rng_for(seed: int, purpose: str) -> np.random.Generator:
    """A generator for one purpose ('val', 'max_train', …), so that changing one option never reshuffles
    another split."""
    return np.random.default_rng(np.random.SeedSequence([seed, zlib.crc32(purpose.encode())]))


def largest_remainder(exact: np.ndarray, total: int) -> np.ndarray:
    """Integer quotas that sum to `total` from the fractional ones `exact` (which sum to it): each one's floor,
    plus one for the largest remainders (the earlier on ties)."""
    quotas = np.floor(exact).astype(int)
    quotas[np.argsort(-(exact - quotas), kind="stable")[: total - quotas.sum()]] += 1
    return quotas


def take_stratified(labels: np.ndarray, n_take: int, rng: np.random.Generator, stratify: bool = True) -> np.ndarray:
    """Sorted indices of `n_take` samples drawn without replacement, in the label proportions when
    `stratify` (classification) and uniformly otherwise (regression)."""
    n = len(labels)
    n_take = min(max(n_take, 0), n)
    if not stratify:
        return np.sort(rng.permutation(n)[:n_take])
    _, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    chosen = [
        rng.permutation(np.flatnonzero(inverse == c))[:quota]
        for c, quota in enumerate(largest_remainder(counts * n_take / counts.sum(), n_take))
    ]
    return np.sort(np.concatenate(chosen)) if chosen else np.zeros(0, dtype=int)


def hold_out(data, fraction: float, seed: int, purpose: str, stratify: bool = True) -> tuple:
    """(rest, held out) parts of a SplitData: a seeded `fraction` of its samples (at least one) is held out."""
    n = len(data.labels)
    taken = take_stratified(data.labels, max(1, round(fraction * n)), rng_for(seed, purpose), stratify)
    return data.subset(np.setdiff1d(np.arange(n), taken)), data.subset(taken)


def cap(labels: np.ndarray, limit: int | None, seed: int, purpose: str, stratify: bool = True) -> np.ndarray:
    """Indices of a seeded subsample of at most `limit` samples (all of them when limit is None)."""
    if limit is None or limit >= len(labels):
        return np.arange(len(labels))
    return take_stratified(labels, limit, rng_for(seed, purpose), stratify)


def carve_splits(train_pool, test, options: dict, seed: int, stratify: bool = True) -> dict:
    """The benchmark convention for datasets with a labelled train and a held-out set (GLUE dev, an image test
    set): val = a seeded `val_fraction` of train, test = the held-out set; then each split is capped to
    `max_train` / `max_val` / `max_test` samples (seeded, stratified) for quick runs."""
    train, val = hold_out(train_pool, options["val_fraction"], seed, "val", stratify)
    splits = {"train": train, "val": val, "test": test}
    return {
        name: split.subset(cap(split.labels, options[f"max_{name}"], seed, f"max_{name}", stratify))
        for name, split in splits.items()
    }
