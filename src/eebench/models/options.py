"""Merging user options onto defaults, with one clear ConfigError for an unknown key or a wrong type."""

from __future__ import annotations

from typing import Any

from ..errors import ConfigError


def merge_options(given: dict | None, defaults: dict[str, Any], where: str) -> dict[str, Any]:
    """Return `defaults` updated by `given`; `where` names the field in messages, e.g. "backbone 'mlp' options"."""
    given = given or {}
    if not isinstance(given, dict):
        raise ConfigError(f"{where}: expected a mapping of option names to values, got {type(given).__name__}")
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        allowed = ", ".join(sorted(defaults)) or "none"
        raise ConfigError(f"{where}: unknown option {unknown[0]!r}; allowed: {allowed}")
    merged = dict(defaults)
    for key, value in given.items():
        default = defaults[key]
        if default is not None and value is not None and not _same_kind(default, value):
            raise ConfigError(
                f"{where}, option {key!r}: expected {type(default).__name__} (default {default!r}), got {value!r}"
            )
        merged[key] = value
    return merged


def require_choice(value: Any, allowed: list[str] | tuple[str, ...], where: str) -> str:
    if value not in allowed:
        raise ConfigError(f"{where}: {value!r} is not one of {', '.join(map(str, allowed))}")
    return value


def _same_kind(default: Any, value: Any) -> bool:
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(default, bool) and isinstance(value, bool)
    if isinstance(default, (int, float)):
        return isinstance(value, (int, float))
    return isinstance(value, type(default))
