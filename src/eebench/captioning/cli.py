"""`python -m eebench.captioning.cli <stage> …`: the captioning track's stages (see `stages`), as the Snakemake
rules of `workflow/rules/captioning.smk` call them. A user's error is one line on stderr and exit status 1."""

from __future__ import annotations

import argparse
import json
import sys

from ..errors import EEBenchError


def _json(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"not valid JSON ({exc}): {text!r}") from None


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="python -m eebench.captioning.cli", description=__doc__)
    stages = top.add_subparsers(dest="stage", required=True)

    def stage(name, *arguments):
        sub = stages.add_parser(name)
        for flag, kwargs in arguments:
            sub.add_argument(flag, required=kwargs.pop("required", True), **kwargs)
        return sub

    model, data_dir, out = ("--model", {}), ("--data", {}), ("--out", {})
    costs = ("--costs", {"required": False, "default": None})
    fit, test = ("--fit", {}), ("--test", {})
    stage("prepare", ("--task", {}), ("--options", {"type": _json, "required": False, "default": {}}),
          ("--seed", {"type": int}), out)
    stage("train", data_dir, out, ("--backbone", {}), ("--backbone-options", {"type": _json, "default": {},
          "required": False}), ("--strategy", {}), ("--strategy-options", {"type": _json, "default": {},
          "required": False}), ("--training", {"type": _json, "default": {}, "required": False}),
          ("--seed", {"type": int}))
    stage("predict", model, data_dir, ("--split", {"choices": ["val", "test"]}), out,
          ("--batch-size", {"type": int, "default": 32, "required": False}))
    stage("costs", model, data_dir, out)
    stage("fit", ("--val", {}), data_dir, model, costs, ("--policy", {}),
          ("--options", {"type": _json, "default": {}, "required": False}),
          ("--tolerance", {"type": float}), out)
    stage("evaluate", fit, test, data_dir, model, costs, out,
          ("--no-meteor", {"action": "store_true", "required": False, "help": "leave METEOR out (null, not 0)"}))
    stage("curve", fit, test, data_dir, model, costs, ("--points", {"type": int, "default": 40, "required": False}),
          out)
    stage("latency", model, data_dir, fit, test, out,
          ("--max-images", {"type": int, "default": 50, "required": False}))
    stage("aggregate", ("--tests", {"nargs": "+"}), ("--curves", {"nargs": "*", "default": [], "required": False}),
          ("--csv", {}), ("--md", {}), ("--plot", {"required": False, "default": None}))
    return top


def run(args) -> None:
    from . import stages

    if args.stage == "prepare":
        stages.prepare_stage(args.task, args.options, args.seed, args.out)
    elif args.stage == "train":
        stages.train_stage(args.data, args.out, args.backbone, args.backbone_options, args.strategy,
                           args.strategy_options, args.training, args.seed)
    elif args.stage == "predict":
        stages.predict_stage(args.model, args.data, args.split, args.out, args.batch_size)
    elif args.stage == "costs":
        stages.costs_stage(args.model, args.data, args.out)
    elif args.stage == "fit":
        stages.fit_stage(args.val, args.data, args.model, args.costs, args.policy, args.options, args.tolerance,
                         args.out)
    elif args.stage == "evaluate":
        stages.evaluate_stage(args.fit, args.test, args.data, args.model, args.costs, args.out,
                              meteor=not args.no_meteor)
    elif args.stage == "curve":
        stages.curve_stage(args.fit, args.test, args.data, args.model, args.costs, args.points, args.out)
    elif args.stage == "latency":
        stages.latency_stage(args.model, args.data, args.fit, args.test, args.out, args.max_images)
    else:
        stages.aggregate_stage(args.tests, args.csv, args.md, args.plot, args.curves)


def main(argv=None) -> None:
    args = parser().parse_args(argv)
    try:
        run(args)
    except EEBenchError as exc:
        print(f"eebench: error: {exc}", file=sys.stderr)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
