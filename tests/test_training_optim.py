"""The training step (fused AdamW with the clip folded in) gives the losses of the step it replaced — torch's
default AdamW after `clip_grad_norm_` — and a fused optimizer resumes from a checkpoint exactly."""

from __future__ import annotations

import pytest
import torch

from eebench.training import optim
from eebench.training.checkpoint import restore_checkpoint, save_checkpoint
from eebench.training.optim import adamw, clipped_step

pytestmark = pytest.mark.usefixtures("one_thread")

STEPS = 8
CLIP = 0.5  # small enough that most steps are clipped


def tiny_model() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Embedding(50, 16), torch.nn.Flatten(), torch.nn.Linear(16 * 6, 32),
                               torch.nn.GELU(), torch.nn.LayerNorm(32), torch.nn.Linear(32, 3))


def groups(model) -> list[dict]:
    params = list(model.parameters())
    return [{"params": [p for p in params if p.ndim >= 2], "weight_decay": 0.01},
            {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0}]


def batches(n: int):
    generator = torch.Generator().manual_seed(1)
    return [(torch.randint(0, 50, (8, 6), generator=generator), torch.randint(0, 3, (8,), generator=generator))
            for _ in range(n)]


def losses(model, take_step, data) -> list[float]:
    out = []
    for inputs, labels in data:
        loss = torch.nn.functional.cross_entropy(model(inputs), labels)
        model.zero_grad(set_to_none=True)
        loss.backward()
        take_step()
        out.append(float(loss.detach()))
    return out


def old_step(model):
    optimizer = torch.optim.AdamW(groups(model), lr=1e-2)

    def take_step():
        torch.nn.utils.clip_grad_norm_(list(model.parameters()), CLIP)
        optimizer.step()
    return take_step


def new_step(model):
    optimizer = adamw(groups(model), lr=1e-2)
    return lambda: clipped_step(optimizer, CLIP)


def test_new_step_gives_the_old_steps_losses():
    model = tiny_model()
    assert adamw(groups(model), lr=1e-2).defaults["fused"]  # the CPU has fused kernels in the torch we require
    data = batches(STEPS)
    reference_model, fused_model = tiny_model(), tiny_model()
    old = losses(reference_model, old_step(reference_model), data)
    new = losses(fused_model, new_step(fused_model), data)
    assert old == pytest.approx(new, rel=1e-5, abs=1e-6)
    for a, b in zip(reference_model.parameters(), fused_model.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_without_fused_kernels_the_clip_scales_the_gradients(monkeypatch):
    monkeypatch.setattr(optim, "FUSED_DEVICES", ())
    data = batches(STEPS)
    reference_model, plain_model = tiny_model(), tiny_model()
    assert not adamw(groups(plain_model), lr=1e-2).defaults["fused"]
    assert losses(reference_model, old_step(reference_model), data) == pytest.approx(
        losses(plain_model, new_step(plain_model), data), rel=1e-5, abs=1e-6)


def test_clipped_step_returns_the_norm_before_clipping():
    model = tiny_model()
    optimizer = adamw(groups(model), lr=1e-2)
    inputs, labels = batches(1)[0]
    torch.nn.functional.cross_entropy(model(inputs), labels).backward()
    expected = torch.nn.utils.get_total_norm([p.grad for p in model.parameters()])
    assert float(clipped_step(optimizer, CLIP)) == pytest.approx(float(expected))
    assert not hasattr(optimizer, "grad_scale")  # nothing left behind for the next step


def test_fused_optimizer_resumes_from_a_checkpoint_exactly(tmp_path):
    data = batches(STEPS)
    model = tiny_model()
    optimizer = adamw(groups(model), lr=1e-2)
    straight = losses(model, lambda: clipped_step(optimizer, CLIP), data)

    model = tiny_model()
    optimizer = adamw(groups(model), lr=1e-2)
    first = losses(model, lambda: clipped_step(optimizer, CLIP), data[:3])
    save_checkpoint(tmp_path, 3, model, optimizer, {"step": 3})
    model = tiny_model()
    optimizer = adamw(groups(model), lr=1e-2)
    restore_checkpoint(tmp_path / "step-00000003", model, optimizer)
    assert optimizer.param_groups[0]["fused"]
    rest = losses(model, lambda: clipped_step(optimizer, CLIP), data[3:])
    assert first + rest == straight
