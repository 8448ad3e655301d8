"""Errors a user can cause. Each names the file, the field and what is allowed."""


class EEBenchError(Exception):
    """Base class of every error eebench reports to a user (printed without a traceback by the CLI)."""


class ConfigError(EEBenchError):
    """The configuration names something unknown or has a value of the wrong type or range."""


class DataError(EEBenchError):
    """An input file is missing, malformed or holds values out of range."""


def describe(source, field: str | None = None) -> str:
    """`'file.npz', field 'logits'` — the prefix every user-facing message starts with."""
    where = f"'{source}'" if source is not None else "input"
    return f"{where}, field '{field}'" if field else where
