"""Training strategies (the config's `strategy` axis): which parameters each phase trains and the loss.

Exits are numbered i = 1..L. `task_losses` gives each exit's loss to the labels (cross-entropy, or MSE for
regression when the model has one output). Each strategy declares its options in `params` and registers in the
catalogue when its class is defined; torch loads on first use, so the config check reads the declarations
without it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from .. import catalogue
from ..catalogue import Option, choice, number
from ..lazy import lazy_module

if TYPE_CHECKING:
    from ..models.multi_exit import MultiExitOutput

torch = lazy_module("torch")
F = lazy_module("torch.nn.functional")


@dataclass(frozen=True)
class Phase:
    name: str
    trains: str  # "all"; "final" = backbone + final exit; "intermediate" = exits 1..L-1 (+ LTE), backbone frozen
    epochs: float


@dataclass
class StepLoss:
    total: torch.Tensor
    per_exit: list[float | None]  # None for exits this step does not train


def task_losses(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """[B, L, C] logits → [L] mean loss of each exit."""
    batch, n_exits, n_classes = logits.shape
    if n_classes == 1:
        per_sample = F.mse_loss(logits.squeeze(-1), labels.float()[:, None].expand(-1, n_exits), reduction="none")
    else:
        flat = F.cross_entropy(logits.reshape(-1, n_classes), labels.repeat_interleave(n_exits), reduction="none")
        per_sample = flat.reshape(batch, n_exits)
    return per_sample.mean(dim=0)


def distillation_losses(logits: torch.Tensor, teacher: torch.Tensor, temperature: float) -> torch.Tensor:
    """[L] loss of each exit against the (detached) teacher logits [B, C]: T²·KL(teacher‖exit) on temperature-
    softened distributions (Hinton et al.), or MSE to the teacher's value for regression."""
    teacher = teacher.detach()
    if logits.shape[-1] == 1:
        return ((logits.squeeze(-1) - teacher) ** 2).mean(dim=0)
    target = F.log_softmax(teacher / temperature, dim=-1)[:, None, :]
    student = F.log_softmax(logits / temperature, dim=-1)
    kl = (target.exp() * (target - student)).sum(dim=-1)  # [B, L]
    return kl.mean(dim=0) * temperature**2


def _values(losses: torch.Tensor, trained: list[bool]) -> list[float | None]:
    return [float(v) if t else None for v, t in zip(losses.detach().cpu(), trained)]


class Strategy:
    name: ClassVar[str]
    params: ClassVar[dict[str, Option]] = {}
    uses_lte: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "name" in cls.__dict__:  # an intermediate class without a name of its own is not a strategy
            catalogue.register("strategy", cls.name, cls.params, (cls.__doc__ or "").split("\n")[0], target=cls,
                               outputs=("lte_scores",) if cls.uses_lte else ())

    def __init__(self, options: dict | None = None):
        self.options = catalogue.get("strategy", self.name).check(options)

    def phases(self, epochs: float) -> list[Phase]:
        return [Phase("joint", "all", epochs)]

    def loss(self, phase: int, step: int, out: MultiExitOutput, labels: torch.Tensor) -> StepLoss:
        raise NotImplementedError


class Joint(Strategy):
    """PABEE: L = Σ_i i·L_i / Σ_i i — deeper exits weigh more."""

    name = "joint"

    def loss(self, phase, step, out, labels):
        losses = task_losses(out.logits, labels)
        weights = torch.arange(1, len(losses) + 1, dtype=losses.dtype, device=losses.device)
        return StepLoss((weights * losses).sum() / weights.sum(), _values(losses, [True] * len(losses)))


class JointKL(Strategy):
    """BEEM: exit i's loss is ce_weight·CE_i + kl_weight·T²·KL(p_L ‖ p_i), with p_L the final exit's detached
    distribution at temperature T; the model's loss is the mean over exits (the final exit has CE only)."""

    name = "joint-kl"
    params = {
        "ce_weight": number("weight of each exit's cross-entropy", default=1.0, minimum=0),
        "kl_weight": number("weight of each exit's KL to the final exit", default=1.0, minimum=0),
        "temperature": number("distillation temperature T", default=1.0, above=0),
    }

    def loss(self, phase, step, out, labels):
        ce = task_losses(out.logits, labels)
        kl = distillation_losses(out.logits, out.logits[:, -1], self.options["temperature"])
        losses = self.options["ce_weight"] * ce + self.options["kl_weight"] * kl
        return StepLoss(losses.mean(), _values(losses, [True] * len(losses)))


class TwoStage(Strategy):
    """DeeBERT: stage 1 fine-tunes backbone + final exit; stage 2 freezes them and trains exits 1..L-1
    (sum of their losses). `head_epochs` (default: the training epochs) sets stage 2's length."""

    name = "two-stage"
    params = {"head_epochs": number("epochs of stage 2; null = the training epochs", default=None, above=0)}

    def phases(self, epochs):
        head_epochs = self.options["head_epochs"] or epochs
        return [Phase("backbone+final", "final", epochs), Phase("intermediate-exits", "intermediate", head_epochs)]

    def loss(self, phase, step, out, labels):
        n_exits = out.logits.shape[1]
        if phase == 0:
            final = task_losses(out.logits[:, -1:], labels)
            return StepLoss(final.sum(), [None] * (n_exits - 1) + [float(final.detach())])
        losses = self.intermediate_losses(out, labels)
        return StepLoss(losses.sum(), _values(losses, [True] * (n_exits - 1)) + [None])

    def intermediate_losses(self, out, labels) -> torch.Tensor:
        return task_losses(out.logits[:, :-1], labels)


class Distill(TwoStage):
    """FastBERT: fine-tune backbone + final exit, then train exits 1..L-1 by KL to the final exit's soft labels
    (temperature T), backbone frozen — stage 2 needs no labels."""

    name = "distill"
    params = {**TwoStage.params, "temperature": number("distillation temperature T", default=1.0, above=0)}

    def intermediate_losses(self, out, labels):
        return distillation_losses(out.logits[:, :-1], out.logits[:, -1], self.options["temperature"])


class Alternating(Strategy):
    """BERxiT: even steps train on the final exit's loss, odd steps on the sum of the intermediate exits' losses
    plus the learning-to-exit loss: each exit's LTE head predicts whether that exit is right (target 1/0, or
    exp(-|error|) for regression), by MSE (the paper's choice) or BCE."""

    name = "alternating"
    params = {
        "lte_loss": choice("loss of the learning-to-exit heads", ("mse", "bce"), default="mse"),
        "lte_weight": number("weight of the learning-to-exit loss", default=1.0, minimum=0),
    }
    uses_lte = True

    def loss(self, phase, step, out, labels):
        n_exits = out.logits.shape[1]
        losses = task_losses(out.logits, labels)
        if step % 2 == 0:
            return StepLoss(losses[-1], [None] * (n_exits - 1) + [float(losses[-1].detach())])
        lte = self.lte_loss(out, labels)
        total = losses[:-1].sum() + self.options["lte_weight"] * lte
        return StepLoss(total, _values(losses, [True] * (n_exits - 1) + [False]))

    def lte_loss(self, out, labels) -> torch.Tensor:
        logits = out.logits.detach()
        if logits.shape[-1] == 1:
            target = torch.exp(-(logits.squeeze(-1) - labels.float()[:, None]).abs())
        else:
            target = (logits.argmax(dim=-1) == labels[:, None]).float()
        scores = out.lte_scores.float().clamp(1e-6, 1 - 1e-6)
        if self.options["lte_loss"] == "bce":
            return F.binary_cross_entropy(scores, target)
        return F.mse_loss(scores, target)


def make_strategy(name: str, options: dict | None = None) -> Strategy:
    return catalogue.get("strategy", name).target(options)
