"""`eebench <stage> …`: the commands the Snakemake rules call, one per stage of the DAG.

Generated from the stage entry points in eebench.stages. Each stage takes explicit paths and writes its outputs
atomically. Heavy libraries are imported inside the stage that needs them, so the cheap stages (policies,
checks) start in a fraction of a second."""

from __future__ import annotations

import argparse
import inspect
import json
import sys
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin, get_type_hints

from .config import MAX_SEED
from .errors import EEBenchError
from .stages import STAGES, Assignments


def _json_arg(text: str) -> dict:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"not valid JSON ({exc}): {text!r}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"expected a JSON object, got {text!r}")
    return value


def _number(convert, ok, allowed: str):
    """An argparse type: `convert(text)`, which must satisfy `ok`; otherwise an error saying what is allowed."""

    def parse(text: str):
        try:
            value = convert(text)
        except ValueError:
            value = None
        if value is None or not ok(value):  # `ok` is False for nan
            raise argparse.ArgumentTypeError(f"expected {allowed}, got {text!r}")
        return value

    return parse


def _fit_option(name: str):
    """An argparse type for policy_fit.NAME, checked against its one declaration (FIT_OPTIONS), as the config is."""

    def parse(text: str):
        from .policies.base import FIT_OPTIONS

        try:
            value: Any = float(text)
        except ValueError:
            value = text  # not a number: the option says what it allows
        try:
            return FIT_OPTIONS[name].check(value)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(f"got {text!r}, expected {exc}") from None

    return parse


# Parameters whose values have a narrower range than their type, by name (every stage that has one means the same).
RANGED = {
    "seed": _number(int, lambda v: 0 <= v <= MAX_SEED, f"an integer from 0 to {MAX_SEED}"),
    "tolerance": _fit_option("tolerance"),
}


def _key_value(text: str) -> tuple[str, object]:
    """`k=v` with v parsed as JSON where it can be (numbers, true/false, null), else kept as a string."""
    key, sep, raw = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    try:
        return key, json.loads(raw)
    except json.JSONDecodeError:
        return key, raw


def _argument(parameter: inspect.Parameter, hint) -> tuple[list[str], dict]:
    """The argparse name and settings of one stage parameter (see eebench.stages for the rules)."""
    settings: dict[str, Any] = {}
    if get_origin(hint) is Annotated:
        hint, settings["help"] = get_args(hint)[0], get_args(hint)[1]
    if get_origin(hint) in (Union, UnionType):  # `T | None`
        hint = next(arg for arg in get_args(hint) if arg is not type(None))
    if hint is bool:
        settings.update(action="store_true")
        return ["--" + parameter.name.replace("_", "-")], settings
    if hint == Assignments:
        settings.update(type=_key_value, action="append", metavar="NAME=VALUE")
    elif get_origin(hint) is list:
        settings.update(type=get_args(hint)[0], nargs="*" if parameter.default is not parameter.empty else "+")
    elif get_origin(hint) is Literal:
        settings["choices"] = list(get_args(hint))
    else:
        settings["type"] = _json_arg if hint is dict else RANGED.get(parameter.name, hint)
    has_default = parameter.default is not parameter.empty
    if has_default:
        default = parameter.default
        settings["default"] = list(default) if isinstance(default, tuple) else default
    if parameter.kind is parameter.POSITIONAL_ONLY:
        if has_default:
            settings["nargs"] = "?"
        return [parameter.name], settings
    settings["required"] = not has_default
    return ["--" + parameter.name.replace("_", "-")], settings


def _add_stage(sub, name: str, function) -> None:
    help_text = (function.__doc__ or "").strip().splitlines()[0]
    parser = sub.add_parser(name, help=help_text, description=help_text)
    parser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show the full traceback of an error")
    hints = get_type_hints(function, include_extras=True)
    for parameter in inspect.signature(function).parameters.values():
        flags, settings = _argument(parameter, hints[parameter.name])
        parser.add_argument(*flags, **settings)
    parser.set_defaults(handler=lambda args: _call(function, args))


def _call(function, args: argparse.Namespace) -> None:
    """Call a stage with the parsed arguments: positional-only parameters by position, the others by name."""
    positional, named = [], {}
    for name, parameter in inspect.signature(function).parameters.items():
        if parameter.kind is parameter.POSITIONAL_ONLY:
            positional.append(getattr(args, name))
        else:
            named[name] = getattr(args, name)
    function(*positional, **named)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):
        """One line instead of the usage block followed by the error."""
        self.exit(2, f"{self.prog}: error: {message}; see '{self.prog} --help'\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="eebench", description=__doc__.splitlines()[0])
    parser.add_argument("--debug", action="store_true", help="show the full traceback of an error")
    sub = parser.add_subparsers(dest="command", required=True, metavar="STAGE")
    for name, function in STAGES.items():
        _add_stage(sub, name, function)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run a stage. A user's mistake is one line and exit status 2; anything else is reported as a bug (status 1);
    `--debug` re-raises, so the traceback shows."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error already printed
        return exc.code
    try:
        args.handler(args)
    except KeyboardInterrupt:
        print(f"eebench {args.command}: interrupted; nothing half-written is left, rerun to continue", file=sys.stderr)
        return 130
    except Exception as exc:
        if args.debug:
            raise
        if isinstance(exc, EEBenchError):
            print(f"eebench {args.command}: error: {_one_line(exc)}", file=sys.stderr)
            return 2
        if isinstance(exc, OSError) and exc.filename is not None:  # unwritable folder, full disk …: not a bug
            print(f"eebench {args.command}: error: '{exc.filename}': {exc.strerror}", file=sys.stderr)
            return 2
        print(
            f"eebench {args.command}: internal error (a bug in eebench; please report it): {type(exc).__name__}: "
            f"{_one_line(exc)[:500]}; rerun with 'eebench --debug {args.command} …' for the traceback",
            file=sys.stderr,
        )
        return 1
    return 0


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())


if __name__ == "__main__":
    sys.exit(main())
