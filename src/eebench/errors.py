"""Errors a user can cause. Each names the file, the field and what is allowed."""


class EEBenchError(Exception):
    """Base class of every error eebench reports to a user (printed without a traceback by the CLI)."""


class ConfigError(EEBenchError):
    """The configuration names something unknown or has a value of the wrong type or range."""


class DataError(EEBenchError):
    """An input file is missing, malformed or holds values out of range."""


def describe(source, field: str) -> str:
    """`'file.npz', field 'logits'` (or just `'logits'` for arrays given in memory): how a message names its input."""
    return f"'{source}', field '{field}'" if source else f"'{field}'"
