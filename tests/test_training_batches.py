"""Length-grouped training batches: every sample once per epoch, the same batches for the same (seed, phase, epoch)
(so a resumed run sees them again), far less padding than random batches, and plain random batches for images."""

from __future__ import annotations

import numpy as np

from eebench.training.loop import GROUP_BATCHES, epoch_batches


def padding(batches, lengths) -> int:
    return sum(int(lengths[b].max() * len(b) - lengths[b].sum()) for b in batches)


def test_grouped_batches_cover_the_epoch_once_and_pad_little():
    lengths = np.random.default_rng(1).integers(5, 60, 1000)
    batches = epoch_batches(np.random.default_rng([0, 0, 0]), 1000, 16, lengths)
    assert sorted(np.concatenate(batches).tolist()) == list(range(1000))
    assert [len(b) for b in batches].count(16) == 1000 // 16
    again = epoch_batches(np.random.default_rng([0, 0, 0]), 1000, 16, lengths)
    assert all(np.array_equal(a, b) for a, b in zip(batches, again))
    random = epoch_batches(np.random.default_rng([0, 0, 0]), 1000, 16, None)
    assert padding(batches, lengths) < padding(random, lengths) / 5


def test_grouped_batches_mix_sentences_within_a_group_only():
    """A batch's samples come from one run of GROUP_BATCHES batches of the epoch's permutation."""
    n, size = 16 * GROUP_BATCHES * 2, 16
    lengths = np.arange(n) % 37
    order = np.random.default_rng([3, 1, 2]).permutation(n)
    group_of = np.empty(n, dtype=int)
    group_of[order] = np.arange(n) // (size * GROUP_BATCHES)
    for batch in epoch_batches(np.random.default_rng([3, 1, 2]), n, size, lengths):
        assert len(set(group_of[batch])) == 1


def test_equal_lengths_give_the_plain_random_batches():
    order = np.random.default_rng([0, 0, 0]).permutation(100)
    batches = epoch_batches(np.random.default_rng([0, 0, 0]), 100, 32, np.ones(100, dtype=int))
    assert [b.tolist() for b in batches] == [order[i:i + 32].tolist() for i in range(0, 100, 32)]
