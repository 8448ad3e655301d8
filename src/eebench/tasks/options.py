"""Task options: each task declares the options it accepts; a config naming anything else is one clear error."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from ..errors import ConfigError


@dataclass(frozen=True)
class Option:
    """One option of a task: its default, a one-line help text, and a parser that returns the checked value
    or raises ValueError saying what is allowed."""

    default: Any
    help: str
    parse: Callable[[Any], Any]


def fraction(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
        raise ValueError("a number strictly between 0 and 1")
    return float(value)


def positive_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError("a positive integer")
    return value


def optional_positive_int(value: Any) -> int | None:
    return None if value is None else positive_int(value)


def optional_path(value: Any) -> str | None:
    if value is not None and (not isinstance(value, str) or not value):
        raise ValueError("a folder path (string)")
    return value


def choice(*allowed: str) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        if value not in allowed:
            raise ValueError("one of " + ", ".join(repr(a) for a in allowed))
        return value

    return parse


def weights(n: int) -> Callable[[Any], list[float]]:
    def parse(value: Any) -> list[float]:
        if (
            not isinstance(value, (list, tuple))
            or len(value) != n
            or any(isinstance(w, bool) or not isinstance(w, (int, float)) or w < 0 for w in value)
            or sum(value) <= 0
        ):
            raise ValueError(f"a list of {n} non-negative numbers with a positive sum")
        return [float(w) for w in value]

    return parse


def resolve_options(task: str, declared: dict[str, Option], given: dict | None) -> dict[str, Any]:
    """The task's options with defaults filled in; unknown keys and bad values raise ConfigError."""
    given = {} if given is None else given
    if not isinstance(given, dict):
        raise ConfigError(f"task '{task}': options must be a mapping, got {type(given).__name__}")
    unknown = sorted(set(given) - set(declared))
    if unknown:
        allowed = ", ".join(sorted(declared)) or "(none)"
        raise ConfigError(f"task '{task}': unknown option '{unknown[0]}' (allowed: {allowed})")
    resolved = {}
    for key, option in declared.items():
        value = given.get(key, option.default)
        try:
            resolved[key] = option.parse(value)
        except ValueError as exc:
            raise ConfigError(f"task '{task}', option '{key}': got {value!r}, expected {exc}") from None
    return resolved


def split_options(val_fraction: float = 0.1) -> dict[str, Option]:
    """The options of every task with a train set and a held-out test set (see splitting.carve_splits)."""
    return {
        "val_fraction": Option(val_fraction, "share of the training data held out as the val split", fraction),
        "max_train": Option(None, "cap on train samples (seeded subsample); null = all", optional_positive_int),
        "max_val": Option(None, "cap on val samples; null = all", optional_positive_int),
        "max_test": Option(None, "cap on test samples; null = all", optional_positive_int),
    }


def source_options(default: str = "hub") -> dict[str, Option]:
    """`source: hub` (Hugging Face hub through `datasets`) or `source: local` with `path`."""
    return {
        "source": Option(default, "'hub' (Hugging Face hub, needs internet) or 'local' (files under 'path')",
                         choice("hub", "local")),
        "path": Option(None, "folder with the local files (source: local)", optional_path),
    }
