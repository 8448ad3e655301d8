"""`eebench <stage> …`: the commands the Snakemake rules call, one per stage of the DAG.

Each stage takes explicit paths and writes its outputs atomically. Heavy libraries are imported inside the
stage that needs them, so the cheap stages (policies, checks) start in a fraction of a second."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .errors import EEBenchError


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


_seed = _number(int, lambda v: v >= 0, "a non-negative integer")
_tolerance = _number(float, lambda v: 0 <= v < 1, "a number in [0, 1) (the allowed metric drop)")


def _key_value(text: str) -> tuple[str, object]:
    """`k=v` with v parsed as JSON where it can be (numbers, true/false, null), else kept as a string."""
    key, sep, raw = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    try:
        return key, json.loads(raw)
    except json.JSONDecodeError:
        return key, raw


def _cmd_prepare(args) -> None:
    from .tasks import prepare_task

    prepare_task(args.task, args.options, args.out, args.seed)


def _cmd_train(args) -> None:
    from .training import train_run

    train_run(
        data_dir=args.data,
        out_dir=args.out,
        backbone=args.backbone,
        backbone_options=args.backbone_options,
        strategy=args.strategy,
        strategy_options=args.strategy_options,
        training=args.training,
        seed=args.seed,
    )


def _cmd_predict(args) -> None:
    from .inference import predict_split

    predict_split(model_dir=args.model, data_dir=args.data, split=args.split, out_path=args.out)


def _cmd_costs(args) -> None:
    from .inference import measure_costs

    measure_costs(model_dir=args.model, data_dir=args.data, out_path=args.out)


def _cmd_latency(args) -> None:
    from .inference import measure_latency

    measure_latency(model_dir=args.model, data_dir=args.data, fit_path=args.fit, out_path=args.out)


def _cmd_fit(args) -> None:
    from .policies.stages import fit_stage

    fit_stage(
        args.val, args.costs, args.policy, args.params, args.metric, args.tolerance, args.out, args.allow_degenerate_val
    )


def _cmd_evaluate(args) -> None:
    from .policies.stages import evaluate_stage

    evaluate_stage(args.fit, args.test, args.costs, args.metric, args.out)


def _cmd_curve(args) -> None:
    from .policies.stages import curve_stage

    curve_stage(args.fit, args.test, args.costs, args.metric, args.points, args.out)


def _cmd_check(args) -> None:
    from .metrics.checks import check_stage

    check_stage(args.val, args.test, args.data, args.out)


def _cmd_evaluate_logits(args) -> None:
    from .policies.stages import evaluate_logits

    evaluate_logits(
        val_path=args.val,
        test_path=args.test,
        policy_id=args.policy,
        params=dict(args.param),
        costs_path=args.costs,
        metric=args.metric,
        tolerance=args.tolerance,
        allow_degenerate_val=args.allow_degenerate_val,
    )


def _cmd_aggregate(args) -> None:
    from .report.aggregate import aggregate_task

    aggregate_task(
        task=args.task,
        policies=args.policies,
        test_paths=args.tests,
        curve_paths=args.curves,
        check_paths=args.checks,
        model_dirs=args.models,
        data_dir=args.data,
        out_dir=args.out,
        tolerance=args.tolerance,
        latency_paths=args.latency,
        cost_paths=args.costs,
    )


def _cmd_validate_config(args) -> None:
    from .config import load_config, runs

    config = load_config(args.config)
    print(f"{args.config}: valid; {len(runs(config))} runs × {len(config['policies'])} policies")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):
        """One line instead of the usage block followed by the error."""
        self.exit(2, f"{self.prog}: error: {message}; see '{self.prog} --help'\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="eebench", description=__doc__.splitlines()[0])
    parser.add_argument("--debug", action="store_true", help="show the full traceback of an error")
    sub = parser.add_subparsers(dest="command", required=True, metavar="STAGE")

    def stage(name: str, handler, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(handler=handler)
        p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show the full traceback of an error")
        return p

    p = stage("prepare", _cmd_prepare, "Load a task's data and write its train/val/test splits and info.json")
    p.add_argument("--task", required=True)
    p.add_argument("--options", type=_json_arg, default={})
    p.add_argument("--seed", type=_seed, default=0)
    p.add_argument("--out", type=Path, required=True)

    p = stage("train", _cmd_train, "Train one multi-exit model (one run of the grid)")
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--backbone", required=True)
    p.add_argument("--backbone-options", type=_json_arg, default={})
    p.add_argument("--strategy", required=True)
    p.add_argument("--strategy-options", type=_json_arg, default={})
    p.add_argument("--training", type=_json_arg, default={})
    p.add_argument("--seed", type=_seed, required=True)
    p.add_argument("--out", type=Path, required=True)

    p = stage("predict", _cmd_predict, "Cache every exit's logits on one split (exits/{split}.npz)")
    p.add_argument("--model", type=Path, required=True)
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--split", required=True, choices=["train", "val", "test"])
    p.add_argument("--out", type=Path, required=True)

    p = stage("costs", _cmd_costs, "Measure the cumulative FLOPs to each exit (costs.json)")
    p.add_argument("--model", type=Path, required=True)
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)

    p = stage("latency", _cmd_latency, "Time real early-exit inference with a fitted policy (latency.json)")
    p.add_argument("--model", type=Path, required=True)
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--fit", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)

    def policy_io(p: argparse.ArgumentParser) -> None:
        p.add_argument("--costs", type=Path, default=None, help="costs.json; without it the cost of exit l is l")
        p.add_argument("--metric", default="accuracy", help="the task's metric (see docs)")
        p.add_argument("--out", type=Path, required=True)

    def allow_degenerate_val(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--allow-degenerate-val", action="store_true",
            help="fit on a val split with one class or too few samples for the tolerance (warns instead of refusing)",
        )

    p = stage("fit", _cmd_fit, "Choose a policy's knobs on the val exits (fit.json)")
    p.add_argument("--val", type=Path, required=True)
    p.add_argument("--policy", required=True, help="policy id")
    p.add_argument("--params", type=_json_arg, default={}, help="constructor parameters as a JSON object")
    p.add_argument("--tolerance", type=_tolerance, default=0.01)
    allow_degenerate_val(p)
    policy_io(p)

    p = stage("evaluate", _cmd_evaluate, "Apply a fitted policy to the test exits (test.json)")
    p.add_argument("--fit", type=Path, required=True)
    p.add_argument("--test", type=Path, required=True)
    policy_io(p)

    p = stage("curve", _cmd_curve, "Sweep a fitted policy's knob on the test exits (curve.csv)")
    p.add_argument("--fit", type=Path, required=True)
    p.add_argument("--test", type=Path, required=True)
    p.add_argument("--points", type=int, default=40)
    policy_io(p)

    p = stage("check", _cmd_check, "Check BEEM's and the survey's assumptions and calibration (checks.json)")
    p.add_argument("--val", type=Path, required=True)
    p.add_argument("--test", type=Path, required=True)
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)

    p = stage("evaluate-logits", _cmd_evaluate_logits, "Fit and evaluate a policy on your own cached exit logits")
    p.add_argument("--val", type=Path, required=True, help="npz with logits [N, L, C] and labels [N]")
    p.add_argument("--test", type=Path, required=True, help="npz with logits [N, L, C] and labels [N]")
    p.add_argument("--policy", required=True)
    p.add_argument("--param", type=_key_value, action="append", default=[], metavar="NAME=VALUE")
    p.add_argument("--costs", type=Path, default=None)
    p.add_argument("--metric", default="accuracy")
    p.add_argument("--tolerance", type=_tolerance, default=0.01)
    allow_degenerate_val(p)

    p = stage("aggregate", _cmd_aggregate, "Paper-style tables and speed-up/metric charts of one task")
    p.add_argument("--task", required=True)
    p.add_argument("--policies", nargs="+", required=True, help="policy names, in the tables' row order")
    p.add_argument("--tests", type=Path, nargs="+", required=True, help="the cells' test.json files")
    p.add_argument("--curves", type=Path, nargs="+", required=True, help="the cells' curve.csv files")
    p.add_argument("--checks", type=Path, nargs="+", required=True, help="the runs' checks.json files")
    p.add_argument("--models", type=Path, nargs="+", required=True, help="the runs' model folders (training logs)")
    p.add_argument("--data", type=Path, required=True, help="the task's prepared data folder (info.json)")
    p.add_argument("--latency", type=Path, nargs="*", default=[], help="the cells' latency.json files, if any")
    p.add_argument("--costs", type=Path, nargs="*", default=[], help="the runs' costs.json files (full-model FLOPs)")
    p.add_argument("--tolerance", type=_tolerance, required=True,
                   help="largest metric drop against the final exit that the leaderboard's speed-up allows")
    p.add_argument("--out", type=Path, required=True, help="folder that receives tables/ and plots/")

    p = stage("validate-config", _cmd_validate_config, "Validate a config file against the schema")
    p.add_argument("config", type=Path)
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
