"""The component catalogue: every task, backbone, strategy and exit policy declares its name, its options and
what it applies to once, where it is defined, and every check of a config or of a library call reads it here.

An `Option` is a declaration (type, range, default, one-line help); `Option.check` returns the value as the
component uses it or raises ValueError saying what is allowed. A `Component` is one registered name with its
options and facts (what it needs or applies to). Components register themselves when their module is imported
(`register`; policy and strategy classes do it when they are defined); `components(kind)` imports the modules that hold the built-in ones
(every module of the `eebench.tasks`, `eebench.policies` and `eebench.models.backbones` packages,
`eebench.training.strategies`), so a new policy, task or backbone is one new file in its package.

Torch-free: importing this module or loading the catalogue never imports torch or transformers, so the whole
config is checked in milliseconds when Snakemake starts."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import math
import numbers
import pkgutil
import re
from dataclasses import dataclass, field
from typing import Any, Iterable

from .errors import ConfigError

KINDS = ("task", "backbone", "strategy", "policy")
PLURALS = {"task": "tasks", "backbone": "backbones", "strategy": "strategies", "policy": "policies"}
# Where the built-in components of each kind are declared: a package (every module is imported) or one module.
DECLARED_IN = {
    "task": ("eebench.tasks.registry", False),  # it registers the SPECS of every module of eebench.tasks
    "backbone": ("eebench.models.backbones", True),
    "strategy": ("eebench.training.strategies", False),
    "policy": ("eebench.policies", False),  # the package imports each of its modules
}
_REQUIRED = object()  # a default still to be filled in (policies take theirs from the constructor's signature)
# What a path option may not contain: shell syntax, Snakemake wildcards, glob characters, control characters.
_HOSTILE_PATH = re.compile(r"[$`;|&<>(){}\[\]*?!\"\\\x00-\x1f\x7f]")


# -------------------------------------------------------------------------------------------------------------
# Options


@dataclass(frozen=True)
class Option:
    """One option: `kind` is integer, number, boolean, choice, text, path, numbers or integers (lists), or parsed."""

    kind: str
    help: str
    default: Any = _REQUIRED
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    exclusive_maximum: bool = False
    choices: tuple[str, ...] = ()
    length: int | None = None  # lists: exact number of items
    positive_sum: bool = False  # lists: the items must not all be zero
    nullable: bool = False  # None is allowed (e.g. a knob left to `fit`)
    pattern: str | None = None  # text: a regular expression the whole value must match
    per_exit: bool = False  # numbers: a list of them, one per exit, is allowed too
    parse: Any = None  # kind "parsed": value -> the value as used, or ValueError saying what is allowed
    allowed: str = ""  # kind "parsed": what it allows, in words

    @property
    def expected(self) -> str:
        """What the option allows, in words (messages and `eebench list`)."""
        if self.kind == "parsed":
            text = self.allowed
        elif self.kind == "boolean":
            text = "true or false"
        elif self.kind == "choice":
            text = "one of " + ", ".join(repr(c) for c in self.choices)
        elif self.kind == "text":
            text = "a non-empty string" if self.pattern is None else f"a string matching {self.pattern}"
        elif self.kind == "path":
            text = ("a non-empty path not starting with '-', without shell or wildcard characters "
                    "($ ` ; | & < > ( ) { } [ ] * ? ! \" \\)")
        elif self.kind in ("numbers", "integers"):
            count = f"{self.length} " if self.length is not None else "a non-empty "
            item = "integers" if self.kind == "integers" else "finite numbers"
            text = f"a list of {count}{item}{self._range_text()}" + (" with a positive sum" if self.positive_sum else "")
            text = text.replace("a list of a non-empty", "a non-empty list of")
        else:
            text = ("an integer" if self.kind == "integer" else "a finite number") + self._range_text()
            if self.per_exit:
                text += ", or a non-empty list of such numbers (one per exit)"
        return text + (" or null" if self.nullable else "")

    def _range_text(self) -> str:
        low, high = self.minimum, self.maximum
        if low is not None and high is not None:
            left, right = "(" if self.exclusive_minimum else "[", ")" if self.exclusive_maximum else "]"
            return f" in {left}{_plain(low)}, {_plain(high)}{right}"
        if low is not None:
            return f" {'>' if self.exclusive_minimum else '>='} {_plain(low)}"
        if high is not None:
            return f" {'<' if self.exclusive_maximum else '<='} {_plain(high)}"
        return ""

    def check(self, value: Any) -> Any:
        """The value as the component uses it (NumPy scalars as Python numbers); ValueError saying what is allowed."""
        if value is None and self.nullable:
            return None
        checked = self._checked(value)
        if checked is _INVALID:
            raise ValueError(self.expected)
        return checked

    def _checked(self, value: Any) -> Any:
        value = _plain_value(value)
        if self.kind == "parsed":
            try:
                return self.parse(value)
            except ValueError:
                return _INVALID
        if self.kind == "boolean":
            return value if isinstance(value, bool) else _INVALID
        if self.kind == "choice":
            return value if isinstance(value, str) and value in self.choices else _INVALID
        if self.kind == "text":
            matches = self.pattern is None or re.fullmatch(self.pattern, str(value)) is not None
            return value if isinstance(value, str) and value.strip() and matches else _INVALID
        if self.kind == "path":
            return value if is_safe_path(value) else _INVALID
        if self.kind in ("numbers", "integers"):
            item_kind = "integer" if self.kind == "integers" else "number"
            if not isinstance(value, (list, tuple)) or not value or (self.length and len(value) != self.length):
                return _INVALID
            items = [self._scalar(item, item_kind) for item in value]
            if any(item is _INVALID for item in items) or (self.positive_sum and sum(items) <= 0):
                return _INVALID
            return items
        if self.per_exit and isinstance(value, (list, tuple)):
            items = [self._scalar(item, self.kind) for item in value]
            return list(items) if items and all(item is not _INVALID for item in items) else _INVALID
        return self._scalar(value, self.kind)

    def _scalar(self, value: Any, kind: str) -> Any:
        if isinstance(value, bool) or not isinstance(value, numbers.Integral if kind == "integer" else numbers.Real):
            return _INVALID
        if not math.isfinite(value) or not self._in_range(value):
            return _INVALID
        # plain Python numbers as given (an int stays an int); NumPy scalars become Python ones
        return value if type(value) in (int, float) else (int(value) if kind == "integer" else float(value))

    def _in_range(self, number: float) -> bool:
        low, high = self.minimum, self.maximum
        if low is not None and (number <= low if self.exclusive_minimum else number < low):
            return False
        return high is None or (number < high if self.exclusive_maximum else number <= high)


_INVALID = object()


def _plain_value(value: Any) -> Any:
    """A NumPy (or pandas) array as the Python list or scalar it holds, so `weights=np.array([...])` is checked
    like a list; anything else as given. Duck-typed, so the catalogue never imports NumPy."""
    if hasattr(value, "ndim") and hasattr(value, "tolist") and not isinstance(value, numbers.Number):
        return value.tolist()
    return value


def _plain(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


def _option(kind: str, help: str, default: Any, nullable: bool | None, **facts) -> Option:
    return Option(kind, help, default, nullable=default is None if nullable is None else nullable, **facts)


def integer(help: str, *, default: Any = _REQUIRED, minimum: int | None = 1, maximum: int | None = None,
            nullable: bool | None = None) -> Option:
    return _option("integer", help, default, nullable, minimum=minimum, maximum=maximum)


def number(help: str, *, default: Any = _REQUIRED, minimum: float | None = None, maximum: float | None = None,
           above: float | None = None, below: float | None = None, nullable: bool | None = None,
           per_exit: bool = False) -> Option:
    """A finite number; `minimum`/`maximum` are inclusive bounds, `above`/`below` exclusive ones; `per_exit`: a
    list of such numbers, one per exit, is allowed too."""
    return _option(
        "number", help, default, nullable, per_exit=per_exit,
        minimum=minimum if above is None else above, exclusive_minimum=above is not None,
        maximum=maximum if below is None else below, exclusive_maximum=below is not None,
    )


def boolean(help: str, *, default: Any = _REQUIRED) -> Option:
    return _option("boolean", help, default, False)


def choice(help: str, choices: Iterable[str], *, default: Any = _REQUIRED, nullable: bool | None = None) -> Option:
    return _option("choice", help, default, nullable, choices=tuple(choices))


def text(help: str, *, default: Any = _REQUIRED, pattern: str | None = None, nullable: bool | None = None) -> Option:
    return _option("text", help, default, nullable, pattern=pattern)


def path(help: str, *, default: Any = _REQUIRED, nullable: bool | None = None) -> Option:
    return _option("path", help, default, nullable)


def number_list(help: str, *, default: Any = _REQUIRED, length: int | None = None, minimum: float | None = None,
                maximum: float | None = None, positive_sum: bool = False, integers: bool = False,
                nullable: bool | None = None) -> Option:
    return _option("integers" if integers else "numbers", help, default, nullable, length=length, minimum=minimum,
                   maximum=maximum, positive_sum=positive_sum)


def parsed(help: str, parse, allowed: str, *, default: Any = _REQUIRED) -> Option:
    """An option of a shape the other kinds don't describe (e.g. a file, a list of files or a mapping of domains to
    files): `parse(value)` returns the value as the component uses it, or raises ValueError; `allowed` says what it
    accepts. `parse` sees None too, so it decides whether the option may be left out."""
    return Option("parsed", help, default, parse=parse, allowed=allowed)


def is_safe_path(value: Any) -> bool:
    """A non-empty path string that needs no shell quoting beyond spaces and single quotes and has no Snakemake
    wildcard braces; it may not start with '-' (read as a command-line flag)."""
    return (isinstance(value, str) and bool(value.strip()) and not value.startswith("-")
            and _HOSTILE_PATH.search(value) is None)


class OptionError(ConfigError):
    """A bad option: `where` (e.g. "backbone 'mlp'"), the option's `key` (None for the mapping itself) and
    `detail` (the value and what is allowed), so config validation can name the field `backbones.mlp.KEY`."""

    def __init__(self, where: str, key: str | None, detail: str):
        super().__init__(f"{where}{'' if key is None else f', option {key!r}'}: {detail}")
        self.key, self.detail = key, detail


def check_options(declared: dict[str, Option], given: Any, where: str) -> dict[str, Any]:
    """`given` checked against `declared`, defaults filled in. `where` starts each message, e.g. "backbone 'mlp'"."""
    given = {} if given is None else given
    if not isinstance(given, dict):
        raise OptionError(where, None, f"expected a mapping of option names to values, got {given!r}")
    unknown = sorted(set(given) - set(declared), key=str)
    if unknown:
        raise OptionError(where, unknown[0], f"unknown option; allowed options: {', '.join(declared) or 'none'}")
    resolved = {}
    # The options given first, so a bad value is named before an option left out
    for key in sorted(declared, key=lambda name: name not in given):
        option = declared[key]
        if key not in given and option.default is _REQUIRED:
            raise OptionError(where, key, f"required; expected {option.expected}")
        try:
            resolved[key] = check_value(option, given.get(key, option.default), where)
        except OptionError as error:
            raise OptionError(where, key, error.detail) from None
    return {key: resolved[key] for key in declared}


def check_value(option: Option, value: Any, where: str) -> Any:
    """`option.check(value)` with an OptionError that starts with `where`."""
    try:
        return option.check(value)
    except ValueError as exc:
        raise OptionError(where, None, f"got {_plain_value(value)!r}, expected {exc}") from None  # an array on one line


# -------------------------------------------------------------------------------------------------------------
# Components


@dataclass(frozen=True)
class Component:
    """A registered task, backbone, strategy or policy. `facts` say what it needs or applies to, e.g.
    `needs_probabilities` (a policy that reads class probabilities: classification only), `needs_outputs` (a
    policy that reads model outputs besides the logits) and `outputs` (a strategy that trains such outputs)."""

    kind: str
    name: str
    options: dict[str, Option]
    help: str = ""
    facts: dict[str, Any] = field(default_factory=dict)
    target: Any = field(default=None, repr=False, compare=False)  # the class or spec that implements it

    def check(self, given: Any) -> dict[str, Any]:
        return check_options(self.options, given, f"{self.kind} {self.name!r}")


_REGISTRY: dict[str, dict[str, Component]] = {kind: {} for kind in KINDS}
_LOADED: set[str] = set()


def register(kind: str, name: str, options: dict[str, Option] | None = None, help: str = "", target: Any = None,
             **facts: Any) -> Component:
    """Add a component; registering the same name twice from different code is an error. An option without a
    default is required (a task's data files, say)."""
    if kind not in KINDS:
        raise ValueError(f"unknown component kind {kind!r}; kinds: {', '.join(KINDS)}")
    component = Component(kind, name, dict(options or {}), help, facts, target)
    previous = _REGISTRY[kind].get(name)
    if previous is not None and _origin(previous.target) != _origin(target):
        raise ValueError(f"{kind} {name!r} is registered twice ({_origin(previous.target)} and {_origin(target)})")
    _REGISTRY[kind][name] = component
    return component


def _origin(target: Any) -> str:
    return f"{getattr(target, '__module__', '?')}.{getattr(target, '__qualname__', getattr(target, 'name', '?'))}"


def register_policy(cls) -> Component:
    """Register an exit policy class: its `id`, its `params` declarations (defaults from the constructor's
    signature), the first line of its docstring or module docstring as help, and its facts."""
    signature = inspect.signature(cls.__init__).parameters
    declared = dict(getattr(cls, "params", {}))
    undeclared = [name for name in signature if name != "self" and name not in declared]
    if undeclared:
        raise ValueError(f"policy {cls.id!r}: constructor parameters {undeclared} are not declared in `params`")
    options = {}
    for name, option in declared.items():
        default = signature[name].default
        options[name] = dataclasses.replace(option, default=default, nullable=option.nullable or default is None)
    doc = cls.__dict__.get("__doc__") or inspect.getmodule(cls).__doc__ or ""  # its own, never a base class's
    model_outputs = tuple(name for name in cls.sample_inputs if name != "labels")
    return register("policy", cls.id, options, doc.strip().split("\n")[0], target=cls,
                    needs_probabilities=cls.needs_probabilities, needs_outputs=model_outputs)


def components(kind: str) -> dict[str, Component]:
    """Every registered component of `kind` by name (imports the modules that declare the built-in ones)."""
    _load(kind)
    return _REGISTRY[kind]


def get(kind: str, name: Any) -> Component:
    found = components(kind).get(name) if isinstance(name, str) else None
    if found is None:
        raise ConfigError(f"unknown {kind} {name!r}; valid {PLURALS[kind]}: {', '.join(components(kind))}")
    return found


def _load(kind: str) -> None:
    if kind in _LOADED:
        return
    module_name, is_package = DECLARED_IN[kind]
    module = importlib.import_module(module_name)
    if is_package:
        for info in pkgutil.iter_modules(module.__path__):
            importlib.import_module(f"{module_name}.{info.name}")
    _LOADED.add(kind)


# -------------------------------------------------------------------------------------------------------------
# Policies on tasks and runs


def policy_skip_reason(method: str, task: str, strategy: str) -> str | None:
    """Why policy `method` cannot run on `task`'s models trained with `strategy`, or None if it can: probability
    rules need class probabilities (not a regression); `lte` needs heads only some strategies train."""
    facts = get("policy", method).facts
    if facts["needs_probabilities"] and get("task", task).facts["regression"]:
        return f"needs class probabilities; {task} is a regression task"
    missing = [name for name in facts["needs_outputs"] if name not in get("strategy", strategy).facts["outputs"]]
    if missing:
        modality = get("task", task).facts["modality"]
        trainers = [name for name, c in components("strategy").items()
                    if set(missing) <= set(c.facts["outputs"]) and modality in c.facts["modalities"]]
        return (f"needs the model output {', '.join(missing)}, which strategy {strategy} does not train "
                f"(strategies that do: {', '.join(trainers) or 'none'})")
    return None


def modality_problem(kind: str, name: str, modality: str) -> str | None:
    """Why backbone or strategy `name` cannot take a task of `modality` (a classifier on a caption task, a text
    encoder on images), or None: what the config check and `eebench train` both say."""
    allowed = get(kind, name).facts["modalities"]
    return None if modality in allowed else f"{kind} {name!r} takes {' or '.join(allowed)} tasks"


def describe(kinds: Iterable[str] = KINDS) -> str:
    """The catalogue as text: every component with its options, defaults and what each allows (`eebench list`)."""
    lines = []
    for kind in kinds:
        lines.append(f"{PLURALS[kind]}:")
        for name, component in components(kind).items():
            facts = ", ".join(f"{k}={_fact(v)}" for k, v in component.facts.items() if v not in (None, False, ()))
            lines.append(f"  {name}" + (f" — {component.help}" if component.help else "") + (f" [{facts}]" if facts else ""))
            for key, option in component.options.items():
                default = "(required)" if option.default is _REQUIRED else f"= {option.default!r}"
                lines.append(f"      {key} {default}: {option.help} ({option.expected})")
        lines.append("")
    return "\n".join(lines)


def _fact(value: Any) -> str:
    return "/".join(sorted(value)) if isinstance(value, (set, frozenset, tuple, list)) else str(value)
