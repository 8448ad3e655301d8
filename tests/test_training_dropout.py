"""The training loop's dropout (eebench.training.dropout) is dropout as torch defines it — each element kept with
probability 1 − p, independently, and scaled by 1 / (1 − p) exactly as `torch.nn.functional.dropout` scales it —
with masks fixed by torch's seed and RNG state; and `seed_everything` keeps deterministic kernels without their NaN
fill."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import binomtest, chisquare
from torch import nn

from eebench.models.runtime import seed_everything
from eebench.training.dropout import Dropout, keep_mask, use_fast_dropout

P = 0.1
DTYPES = (torch.float32, torch.bfloat16, torch.float16)
ALPHA = 1e-4  # the draws are seeded, so a test passes or fails the same way every run


def drop(x: torch.Tensor, p: float = P, seed: int = 0) -> torch.Tensor:
    torch.manual_seed(seed)
    return Dropout(p).train()(x)


@pytest.mark.parametrize("dtype", DTYPES)
def test_each_element_is_kept_with_probability_one_minus_p(dtype):
    n = 200_000
    kept = int((drop(torch.ones(n, dtype=dtype)) != 0).sum())
    assert binomtest(kept, n, 1 - P).pvalue > ALPHA


def test_neighbouring_elements_are_independent():
    """Each pair of neighbours (kept, kept), (kept, dropped), … as often as independent draws make it."""
    mask = (drop(torch.ones(400_001)) != 0).numpy()
    pairs = 2 * mask[:-1:2] + mask[1::2]  # disjoint pairs: 0 = both dropped … 3 = both kept
    counts = np.bincount(pairs, minlength=4)
    expected = np.array([P * P, P * (1 - P), (1 - P) * P, (1 - P) ** 2]) * len(pairs)
    assert chisquare(counts, expected).pvalue > ALPHA


def test_every_position_is_kept_alike():
    """Over many calls, no position is kept more often than another (no fixed pattern across calls)."""
    torch.manual_seed(0)
    layer = Dropout(P).train()
    kept = sum((layer(torch.ones(50)) != 0).long() for _ in range(2000)).numpy()
    assert chisquare(kept).pvalue > ALPHA


@pytest.mark.parametrize("dtype", DTYPES)
def test_kept_values_are_scaled_as_torch_scales_them(dtype):
    x = torch.linspace(-3, 3, 5000).to(dtype)
    ours, torchs = drop(x), nn.functional.dropout(x, P, training=True)
    assert ours.dtype == dtype
    kept = ours != 0
    scale = torch.ones((), dtype=dtype).div_(1 - P)  # torch's: 1 / 0.9 rounded to the dtype (1.109375 in bf16)
    assert torch.equal(ours[kept], (x * scale)[kept])
    # torch's own kept values, at the positions both keep, are the same numbers
    both = kept & (torchs != 0)
    assert both.sum() > 4000 * (1 - P) ** 2
    assert torch.equal(ours[both], torchs[both])
    assert torch.equal(ours[~kept], torch.zeros_like(x)[~kept])


def test_gradient_is_the_mask_times_the_scale():
    x = torch.randn(1000, requires_grad=True)
    out = drop(x)
    out.sum().backward()
    expected = (out != 0).float() / (1 - P)
    assert torch.allclose(x.grad, expected)


def test_the_seed_and_the_rng_state_fix_the_masks():
    x = torch.ones(1000)
    assert torch.equal(drop(x, seed=3), drop(x, seed=3))
    assert not torch.equal(drop(x, seed=3), drop(x, seed=4))
    torch.manual_seed(5)
    layer = Dropout(P).train()
    layer(x)
    state = torch.get_rng_state()  # what a checkpoint saves
    after = layer(x)
    torch.set_rng_state(state)
    assert torch.equal(layer(x), after)
    assert not torch.equal(layer(x), after)  # the next call draws a new mask


def test_keep_mask_holds_the_scale_and_zeros_in_its_dtype():
    torch.manual_seed(0)
    for dtype in DTYPES:
        scale = torch.tensor(-1.25, dtype=dtype)  # any value: its bits are copied into the kept elements
        mask = keep_mask(torch.Size([3, 4, 5]), 0.5, scale)
        assert mask.shape == (3, 4, 5) and mask.dtype == dtype
        assert set(mask.unique().tolist()) == {0.0, -1.25}
    assert keep_mask(torch.Size([0, 4]), 0.9, torch.ones(())).shape == (0, 4)


def test_where_torchs_dropout_is_kept():
    x = torch.randn(100, dtype=torch.float64)
    assert torch.equal(Dropout(P).eval()(x), x)
    assert torch.equal(Dropout(0.0).train()(x), x)
    assert torch.equal(Dropout(1.0).train()(x), torch.zeros_like(x))
    # float64 and inplace fall back to torch's dropout: the same draws as nn.Dropout's
    for layer_args in ((P,), (P, True)):
        torch.manual_seed(1)
        ours = Dropout(*layer_args).train()(x.clone())
        torch.manual_seed(1)
        assert torch.equal(ours, nn.Dropout(*layer_args).train()(x.clone()))


def test_use_fast_dropout_replaces_plain_dropout_modules_only():
    class Custom(nn.Dropout):
        pass

    model = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.2), nn.Sequential(nn.Dropout(0.3, inplace=True), Custom(0.4)))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    assert use_fast_dropout(model) is model
    assert type(model[1]) is Dropout and model[1].p == 0.2
    assert type(model[2][0]) is Dropout and model[2][0].p == 0.3 and model[2][0].inplace
    assert type(model[2][1]) is Custom
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_seed_everything_keeps_deterministic_kernels_without_the_nan_fill():
    seed_everything(0)
    assert torch.are_deterministic_algorithms_enabled()
    assert not torch.utils.deterministic.fill_uninitialized_memory
