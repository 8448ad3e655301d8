"""Seeded, stratified index selection for carving val/test splits out of a labelled pool."""

from __future__ import annotations

import zlib

import numpy as np


def rng_for(seed: int, purpose: str) -> np.random.Generator:
    """A generator for one purpose ('val', 'max_train', …), so that changing one option never reshuffles
    another split."""
    return np.random.default_rng(np.random.SeedSequence([seed, zlib.crc32(purpose.encode())]))


def _class_quotas(counts: np.ndarray, n_take: int) -> np.ndarray:
    # Largest-remainder rounding: the quotas sum exactly to n_take and follow the class proportions.
    exact = counts * n_take / counts.sum()
    quotas = np.floor(exact).astype(int)
    order = np.argsort(-(exact - quotas), kind="stable")
    quotas[order[: n_take - quotas.sum()]] += 1
    return quotas


def take_stratified(labels: np.ndarray, n_take: int, rng: np.random.Generator, stratify: bool = True) -> np.ndarray:
    """Sorted indices of `n_take` samples drawn without replacement, in the label proportions when
    `stratify` (classification) and uniformly otherwise (regression)."""
    n = len(labels)
    n_take = min(max(n_take, 0), n)
    if not stratify:
        return np.sort(rng.permutation(n)[:n_take])
    classes, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    chosen = [
        rng.permutation(np.flatnonzero(inverse == c))[:quota]
        for c, quota in zip(range(len(classes)), _class_quotas(counts, n_take))
    ]
    return np.sort(np.concatenate(chosen)) if chosen else np.zeros(0, dtype=int)


def split_off(
    labels: np.ndarray, fraction: float, seed: int, purpose: str, stratify: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """(kept, taken) index arrays: a seeded `fraction` of the samples is taken (at least one), the rest kept."""
    n_take = max(1, round(fraction * len(labels)))
    taken = take_stratified(labels, n_take, rng_for(seed, purpose), stratify)
    kept = np.setdiff1d(np.arange(len(labels)), taken)
    return kept, taken


def cap(labels: np.ndarray, limit: int | None, seed: int, purpose: str, stratify: bool = True) -> np.ndarray:
    """Indices of a seeded subsample of at most `limit` samples (all of them when limit is None)."""
    if limit is None or limit >= len(labels):
        return np.arange(len(labels))
    return take_stratified(labels, limit, rng_for(seed, purpose), stratify)


def carve_splits(train_pool, test, options: dict, seed: int, stratify: bool = True) -> dict:
    """The benchmark convention for datasets with a labelled train and a held-out set (GLUE dev, an image test
    set): val = a seeded `val_fraction` of train, test = the held-out set; then each split is capped to
    `max_train` / `max_val` / `max_test` samples (seeded, stratified) for quick runs."""
    train_idx, val_idx = split_off(train_pool.labels, options["val_fraction"], seed, "val", stratify)
    splits = {"train": train_pool.subset(train_idx), "val": train_pool.subset(val_idx), "test": test}
    return {
        name: split.subset(cap(split.labels, options[f"max_{name}"], seed, f"max_{name}", stratify))
        for name, split in splits.items()
    }
