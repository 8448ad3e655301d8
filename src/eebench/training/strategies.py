"""Training strategies (the config's `strategy` axis): which parameters each phase trains and the loss.

Exits are numbered i = 1..L. `task_losses` gives each exit's loss to the labels (cross-entropy, or MSE for
regression when the model has one output). Each strategy declares its options in `params` and registers in the
catalogue when its class is defined; torch loads on first use, so the config check reads the declarations
without it. Strategies that learn their own weights (DynExit, LeeBERT) update them inside `loss` with their own
small optimiser, report them in the step's `info` (the training log) and keep them in `state_dict` (the resumable
checkpoint)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, ClassVar

from .. import catalogue
from ..catalogue import Option, choice, number
from ..captioning.data import MODALITY
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
    """One step's loss. The figures for the log stay tensors on the model's device until the log reads them, so
    a GPU step does not wait for the host (`per_exit` reads them at once)."""

    total: torch.Tensor
    exit_losses: list[torch.Tensor | None]  # each exit's detached loss; None for exits this step does not train
    info: dict[str, Any] = field(default_factory=dict)  # extra figures for the training log: numbers or tensors

    @property
    def per_exit(self) -> list[float | None]:
        return [None if v is None else float(v) for v in self.exit_losses]


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


def _values(losses: torch.Tensor, trained: list[bool]) -> list[torch.Tensor | None]:
    return [v if t else None for v, t in zip(losses.detach(), trained)]


CLASSIFIER_MODALITIES = ("text", "text-pair", "image")


class Strategy:
    name: ClassVar[str]
    params: ClassVar[dict[str, Option]] = {}
    trains_lte: ClassVar[bool] = False  # whether the model gets learning-to-exit heads (its outputs: lte_scores)
    modalities: ClassVar[tuple[str, ...]] = CLASSIFIER_MODALITIES  # the tasks' modalities it can train for

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "name" in cls.__dict__:  # an intermediate class without a name of its own is not a strategy
            catalogue.register("strategy", cls.name, cls.params, (cls.__doc__ or "").split("\n")[0], target=cls,
                               outputs=("lte_scores",) if cls.trains_lte else (), modalities=cls.modalities)

    def __init__(self, options: dict | None = None):
        self.options = catalogue.get("strategy", self.name).check(options)

    @property
    def uses_lte(self) -> bool | str:
        """The model's learning-to-exit heads: False, "shared" or "per-exit"."""
        return False

    def bind(self, model) -> None:
        """Called once with the model before training (strategies that read its parameters keep it)."""

    def state_dict(self) -> dict[str, Any]:
        """What a resumed run needs besides the model and optimiser (learned loss weights)."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        pass

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
    modalities = (*CLASSIFIER_MODALITIES, MODALITY)
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
            return StepLoss(final.sum(), [None] * (n_exits - 1) + [final.detach()[0]])
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


class BranchyNet(TwoStage):
    """BranchyNet (kunglab/branchynet ``utils.train``): phase 1 trains the trunk and the final exit on the final exit's
    loss (the authors' ``main=True`` pass); phase 2 trains everything on the sum of every exit's loss, each weighted 1
    (their ``Branch.weight``). `trunk_epochs` (default: the training epochs) sets phase 1's length."""

    name = "branchynet"
    params = {"trunk_epochs": number("epochs of phase 1 (trunk + final exit); null = the training epochs",
                                     default=None, above=0)}

    def phases(self, epochs):
        trunk_epochs = self.options["trunk_epochs"] or epochs
        return [Phase("trunk+final", "final", trunk_epochs), Phase("joint", "all", epochs)]

    def loss(self, phase, step, out, labels):
        if phase == 0:  # TwoStage's stage 1: the final exit's loss alone
            return super().loss(phase, step, out, labels)
        losses = task_losses(out.logits, labels)
        return StepLoss(losses.sum(), _values(losses, [True] * len(losses)))


class Alternating(Strategy):
    """BERxiT (castorini/berxit ``modeling_highway_bert.py``, ``train_strategy == 'alternate-lte'``): even steps
    train on the final exit's loss, odd steps on the sum of the intermediate exits' losses, and every step adds
    the learning-to-exit loss. The LTE head, one shared by all exits (``lte_heads: shared``, the authors' code;
    ``per-exit`` gives each exit its own), predicts from an exit's pooled representation whether that exit is
    right: target 1/0, or 1 − tanh|ŷ − y| for regression, by MSE (the authors') or BCE. The authors' head outputs
    the complement (1 = continue, target tanh|ŷ − y|); the MSE is the same, and eebench's `lte` policy reads
    "exit when the score >= threshold"."""

    name = "alternating"
    params = {
        "lte_loss": choice("loss of the learning-to-exit heads", ("mse", "bce"), default="mse"),
        "lte_weight": number("weight of the learning-to-exit loss", default=1.0, minimum=0),
        "lte_heads": choice("one LTE head shared by all exits (the authors') or one per exit", ("shared", "per-exit"),
                            default="shared"),
    }
    trains_lte = True

    @property
    def uses_lte(self):
        return self.options["lte_heads"]

    def loss(self, phase, step, out, labels):
        n_exits = out.logits.shape[1]
        losses = task_losses(out.logits, labels)
        lte = self.options["lte_weight"] * self.lte_loss(out, labels)
        if step % 2 == 0:
            return StepLoss(losses[-1] + lte, [None] * (n_exits - 1) + [losses[-1].detach()],
                            {"lte_loss": lte.detach()})
        total = losses[:-1].sum() + lte
        return StepLoss(total, _values(losses, [True] * (n_exits - 1) + [False]), {"lte_loss": lte.detach()})

    def lte_loss(self, out, labels) -> torch.Tensor:
        logits = out.logits.detach()
        if logits.shape[-1] == 1:
            target = 1 - torch.tanh((logits.squeeze(-1) - labels.float()[:, None]).abs())
        else:
            target = (logits.argmax(dim=-1) == labels[:, None]).float()
        scores = out.lte_scores.float().clamp(1e-6, 1 - 1e-6)
        if self.options["lte_loss"] == "bce":
            return F.binary_cross_entropy(scores, target)
        return F.mse_loss(scores, target)


class DynExit(Strategy):
    """DynExit (as the early-exit survey describes it): the joint loss with learned exit weights
    w_i = sigmoid(θ_i), L = Σ_i w_i·L_i / Σ_i w_i (normalised, so the weights cannot all shrink to zero to lower
    the loss). θ starts at 0 (equal weights) and is learned with the model, by Adam at `weight_lr` on the same
    loss, stepped inside `loss` so the model's optimiser and schedule stay untouched."""

    name = "dynexit"
    params = {"weight_lr": number("learning rate of the exit weights θ (Adam)", default=0.01, above=0)}

    def __init__(self, options=None):
        super().__init__(options)
        self.theta = None
        self._resumed = None

    def _init_weights(self, n_exits: int, device) -> None:
        """θ on the model's device at the first step: zeros, or the resumed checkpoint's values."""
        if self.theta is not None:
            return
        resumed = self._resumed or {}
        self.theta = torch.tensor(resumed.get("theta", [0.0] * n_exits), device=device, requires_grad=True)
        self.weight_optimizer = torch.optim.Adam([self.theta], lr=self.options["weight_lr"])
        if resumed.get("adam"):
            adam = self.weight_optimizer.state_dict()
            adam["state"] = {0: {name: torch.tensor(value) for name, value in resumed["adam"].items()}}
            self.weight_optimizer.load_state_dict(adam)

    def loss(self, phase, step, out, labels):
        losses = task_losses(out.logits, labels)
        self._init_weights(len(losses), losses.device)
        weights = torch.sigmoid(self.theta)
        # The model trains on the current weights; θ takes one step on the same weighted loss.
        total = (weights.detach() * losses).sum() / weights.detach().sum()
        self.weight_optimizer.zero_grad(set_to_none=True)
        ((weights * losses.detach()).sum() / weights.sum()).backward()
        self.weight_optimizer.step()
        return StepLoss(total, _values(losses, [True] * len(losses)),
                        {"loss_weights": weights.detach()})  # read at the log's flush: no host sync per step

    def state_dict(self):
        if self.theta is None:
            return {}
        adam = self.weight_optimizer.state_dict()["state"].get(0, {})  # JSON: the checkpoint state is a JSON file
        return {"theta": self.theta.detach().cpu().tolist(),
                "adam": {name: value.cpu().tolist() for name, value in adam.items()}}

    def load_state_dict(self, state):
        self.theta, self._resumed = None, state


class LeeBERT(Strategy):
    """LeeBERT (Zhu, ACL 2021): every exit learns from the labels and, with a learned weight, from a teacher;
    the weights are optimised on held-out data by cross-level optimisation.

    Here: L = Σ_i CE_i + Σ_{i<L} α_i·KD_i with KD_i = T²·KL(p_L ‖ p_i) to the final exit (detached) and
    α_i = sigmoid(φ_i), φ = 0 at the start. The weights follow the first-order cross-level (DARTS-style)
    hypergradient of the held-out loss after one virtual SGD step of exit i's head W_i:
    ∂L_held/∂α_i ≈ −⟨∇_{W_i} CE_i(held-out batch), ∇_{W_i} KD_i(train batch)⟩, so a distillation loss whose
    gradient agrees with the held-out loss's gets more weight. The held-out batch is the next training batch
    (disjoint from the one whose KD gradient it is compared with), so no data is set aside; φ takes an SGD step
    of `weight_lr` on that hypergradient (chained through the sigmoid). Deliberate simplifications: one teacher
    (the final exit) rather than every deeper exit, and the hypergradient restricted to the exit heads."""

    name = "leebert"
    params = {
        "temperature": number("distillation temperature T", default=1.0, above=0),
        "weight_lr": number("step size of the distillation weights φ (SGD on the hypergradient)", default=1.0,
                            above=0),
    }

    def __init__(self, options=None):
        super().__init__(options)
        self.phi = None
        self.kd_grads = None  # per head, the previous batch's ∇_{W_i} KD_i

    def bind(self, model):
        self.model = model

    def head_parameters(self) -> list[list[torch.Tensor]]:
        return [[p for p in head.parameters() if p.requires_grad] for head in self.model.exits[:-1]]

    def loss(self, phase, step, out, labels):
        ce = task_losses(out.logits, labels)
        kd = distillation_losses(out.logits[:, :-1], out.logits[:, -1], self.options["temperature"])
        self.phi = torch.zeros(len(kd), device=ce.device) if self.phi is None else self.phi.to(ce.device)
        heads = self.head_parameters()
        flat = [p for params in heads for p in params]
        if flat:
            if self.kd_grads is not None:
                ce_grads = _per_head(torch.autograd.grad(ce[:-1].sum(), flat, retain_graph=True), heads)
                self.step_weights(ce_grads, self.kd_grads)
            self.kd_grads = _per_head(torch.autograd.grad(kd.sum(), flat, retain_graph=True), heads)
        weights = torch.sigmoid(self.phi)
        total = ce.sum() + (weights * kd).sum()
        return StepLoss(total, _values(ce, [True] * len(ce)),
                        {"distillation_weights": weights.detach()})  # read at the log's flush

    def step_weights(self, held_out_grads, kd_grads) -> None:
        """φ_i ← φ_i − lr·∂L_held/∂φ_i with ∂L_held/∂α_i = −⟨g_held_i, g_kd_i⟩ and ∂α_i/∂φ_i = α_i(1 − α_i)."""
        agreement = torch.stack([sum((a * b).sum() for a, b in zip(held, kd))
                                 for held, kd in zip(held_out_grads, kd_grads)])
        weights = torch.sigmoid(self.phi)
        self.phi = self.phi + self.options["weight_lr"] * agreement * weights * (1 - weights)

    def state_dict(self):
        return {} if self.phi is None else {"phi": self.phi.cpu().tolist()}

    def load_state_dict(self, state):
        if "phi" in state:
            self.phi = torch.tensor(state["phi"])


def _per_head(grads, heads) -> list[list[torch.Tensor]]:
    """Split a flat tuple of gradients into one list per head (detached)."""
    split, start = [], 0
    for params in heads:
        split.append([g.detach() for g in grads[start:start + len(params)]])
        start += len(params)
    return split


# CapEEN's recipe for captioners, trained by eebench.captioning.train (declared here with the other strategies):
# fine-tune the captioner on its LM loss, then train exits 1..L-1 on the frozen model with 0.5·CE + 0.5·KL.
HEADS_ONLY_OPTIONS = {
    "ce_weight": replace(JointKL.params["ce_weight"], default=0.5),
    "kl_weight": replace(JointKL.params["kl_weight"], default=0.5),
    "backbone_epochs": number("epochs fine-tuning the captioner on its LM loss; null = the training epochs "
                              "(0 with a pretrained captioner)", default=None, minimum=0, nullable=True),
    "head_epochs": TwoStage.params["head_epochs"],
}
catalogue.register("strategy", "heads-only", HEADS_ONLY_OPTIONS, "CapEEN: fine-tune the captioner, then train the "
                   "exit heads on it frozen (0.5 CE + 0.5 KL)", outputs=(), modalities=(MODALITY,))


def make_strategy(name: str, options: dict | None = None) -> Strategy:
    return catalogue.get("strategy", name).target(options)
