"""Stage entry points: what each Snakemake rule (and a user) calls, one function per stage.

`eebench <stage> …` is generated from these signatures (eebench.cli): each parameter is an option
`--name-with-dashes` (a positional-only one is a positional argument); `Path`, `int`, `float` and `str` are parsed
as such, `dict` as a JSON object, `list[...]` as several values, `Literal[...]` as a choice; `Annotated[T, "help"]`
adds the help text. Each stage imports what it needs when it runs, so the cheap stages start fast."""

import json
from pathlib import Path
from typing import Annotated, Any, Literal

# NAME=VALUE pairs given one by one (`--param threshold=0.9 --param temperature_scaling=true`)
Assignments = list[tuple[str, Any]]
COSTS_HELP = "costs.json; without it the cost of exit l is l"
KEEP_EXITS_HELP = "keep early exits that are degenerate on val open (by default no sample may leave there)"
DEGENERATE_HELP = "fit on a val split with one class or too few samples for the tolerance (warns instead of refusing)"
METRIC_HELP = "the task's metric (see docs)"
DATA_HELP = "the task's prepared data folder: a sequence metric (cider) reads the references there"
MODEL_HELP = "the run's model folder: a sequence metric (cider) decodes tokens with its tokenizer"

STAGES: dict[str, Any] = {}


def stage(name: str):
    """Register a stage entry point under its command name."""

    def register(function):
        STAGES[name] = function
        return function

    return register


@stage("prepare")
def prepare(task: str, out: Path, options: dict | None = None, seed: int = 0,
            tolerance: Annotated[float | None, "policy_fit.tolerance: refuse a val split too small for it"] = None
            ) -> None:
    """Load a task's data and write its train/val/test splits and info.json"""
    from .tasks import prepare_task

    prepare_task(task, options, out, seed, tolerance)


@stage("train")
def train(data: Path, backbone: str, strategy: str, seed: int, out: Path, backbone_options: dict | None = None,
          strategy_options: dict | None = None, training: dict | None = None) -> None:
    """Train one multi-exit model (one run of the grid)"""
    from .training import train_run

    train_run(data_dir=data, out_dir=out, backbone=backbone, backbone_options=backbone_options or {},
              strategy=strategy, strategy_options=strategy_options or {}, training=training or {}, seed=seed)


@stage("predict")
def predict(model: Path, data: Path, split: Literal["train", "val", "test"], out: Path) -> None:
    """Cache every exit's logits on one split (exits/{split}.npz)"""
    from .inference import predict_split

    predict_split(model_dir=model, data_dir=data, split=split, out_path=out)


@stage("costs")
def costs(model: Path, data: Path, out: Path) -> None:
    """Measure the cumulative FLOPs to each exit (costs.json)"""
    from .inference import measure_costs

    measure_costs(model_dir=model, data_dir=data, out_path=out)


@stage("predict-run")
def predict_run(model: Path, data: Path, val_out: Path, test_out: Path, costs_out: Path) -> None:
    """predict (val, test) and costs of one run with the model loaded once (exits/*.npz, costs.json)"""
    from .inference import predict_run as run

    run(model_dir=model, data_dir=data, val_out=val_out, test_out=test_out, costs_out=costs_out)


@stage("latency")
def latency(model: Path, data: Path, fit: Path, out: Path,
            batch_sizes: Annotated[list[int], "batch sizes to time (config latency.batch_sizes)"] = (1, 32),
            samples: Annotated[int, "test samples timed (config latency.samples)"] = 200,
            passes: Annotated[int, "timed passes (config latency.passes)"] = 5) -> None:
    """Time real early-exit inference with a fitted policy (latency.json)"""
    from .inference import measure_latency

    measure_latency(model_dir=model, data_dir=data, fit_path=fit, out_path=out, batch_sizes=list(batch_sizes),
                    samples=samples, passes=passes)


@stage("fit")
def fit(val: Path, policy: Annotated[str, "policy id"], out: Path,
        params: Annotated[dict | None, "constructor parameters as a JSON object"] = None,
        costs: Annotated[Path | None, COSTS_HELP] = None, metric: Annotated[str, METRIC_HELP] = "accuracy",
        tolerance: float = 0.01, allow_degenerate_val: Annotated[bool, DEGENERATE_HELP] = False,
        keep_degenerate_exits: Annotated[bool, KEEP_EXITS_HELP] = False,
        data: Annotated[Path | None, DATA_HELP] = None, model: Annotated[Path | None, MODEL_HELP] = None) -> None:
    """Choose a policy's knobs on the val exits (fit.json)"""
    from .policies.stages import fit_stage

    fit_stage(val, costs, policy, params or {}, metric, tolerance, out, allow_degenerate_val, keep_degenerate_exits,
              data, model)


@stage("evaluate")
def evaluate(fit: Path, test: Path, out: Path, costs: Annotated[Path | None, COSTS_HELP] = None,
             metric: Annotated[str, METRIC_HELP] = "accuracy", data: Annotated[Path | None, DATA_HELP] = None,
             model: Annotated[Path | None, MODEL_HELP] = None) -> None:
    """Apply a fitted policy to the test exits (test.json)"""
    from .policies.stages import evaluate_stage

    evaluate_stage(fit, test, costs, metric, out, data, model)


@stage("curve")
def curve(fit: Path, test: Path, out: Path, costs: Annotated[Path | None, COSTS_HELP] = None,
          metric: Annotated[str, METRIC_HELP] = "accuracy", points: int = 40,
          data: Annotated[Path | None, DATA_HELP] = None, model: Annotated[Path | None, MODEL_HELP] = None) -> None:
    """Sweep a fitted policy's knob on the test exits (curve.csv)"""
    from .policies.stages import curve_stage

    curve_stage(fit, test, costs, metric, points, out, data, model)


@stage("policy-cell")
def policy_cell(val: Path, test: Path, policy: Annotated[str, "policy id"], fit_out: Path, test_out: Path,
                curve_out: Path, params: Annotated[dict | None, "constructor parameters as a JSON object"] = None,
                costs: Annotated[Path | None, COSTS_HELP] = None, metric: Annotated[str, METRIC_HELP] = "accuracy",
                tolerance: float = 0.01, points: int = 40,
                allow_degenerate_val: Annotated[bool, DEGENERATE_HELP] = False,
                keep_degenerate_exits: Annotated[bool, KEEP_EXITS_HELP] = False,
                data: Annotated[Path | None, DATA_HELP] = None,
                model: Annotated[Path | None, MODEL_HELP] = None) -> None:
    """fit, evaluate and curve of one policy cell in one process (fit.json, test.json, curve.csv)"""
    from .policies.stages import policy_cell_stage

    policy_cell_stage(val, test, costs, policy, params or {}, metric, tolerance, points, fit_out, test_out,
                      curve_out, allow_degenerate_val, keep_degenerate_exits, data, model)


@stage("check")
def check(val: Path, test: Path, data: Path, out: Path) -> None:
    """Check BEEM's and the survey's assumptions and calibration (checks.json)"""
    from .policies.checks import check_stage

    check_stage(val, test, data, out)


@stage("evaluate-logits")
def evaluate_logits(val: Annotated[Path, "npz with logits [N, L, C] and labels [N]"],
                    test: Annotated[Path, "npz with logits [N, L, C] and labels [N]"], policy: str,
                    param: Annotated[Assignments, "a policy parameter NAME=VALUE (repeatable)"] = (),
                    costs: Path | None = None, metric: str = "accuracy", tolerance: float = 0.01,
                    allow_degenerate_val: Annotated[bool, DEGENERATE_HELP] = False,
                    keep_degenerate_exits: Annotated[bool, KEEP_EXITS_HELP] = False) -> None:
    """Fit and evaluate a policy on your own cached exit logits"""
    from .policies.stages import evaluate_logits as run

    run(val_path=val, test_path=test, policy_id=policy, params=dict(param), costs_path=costs, metric=metric,
        tolerance=tolerance, allow_degenerate_val=allow_degenerate_val, keep_degenerate_exits=keep_degenerate_exits)


@stage("aggregate")
def aggregate(task: str, policies: Annotated[list[str], "policy names, in the tables' row order"],
              tests: Annotated[list[Path], "the cells' test.json files"],
              curves: Annotated[list[Path], "the cells' curve.csv files"],
              checks: Annotated[list[Path], "the runs' checks.json files"],
              models: Annotated[list[Path], "the runs' model folders (training logs)"],
              data: Annotated[Path, "the task's prepared data folder (info.json)"],
              out: Annotated[Path, "folder that receives tables/ and plots/"],
              tolerance: Annotated[float, "largest metric drop against the final exit that the leaderboard's "
                                          "speed-up allows"],
              latency: Annotated[list[Path], "the cells' latency.json files, if any"] = (),
              skipped: Annotated[str, "JSON list of the policies left out of the grid, with the reason"] = "[]",
              costs: Annotated[list[Path], "the runs' costs.json files (full-model FLOPs, for the paper claims)"] = (),
              ) -> None:
    """Paper-style tables and speed-up/metric charts of one task"""
    from .report.aggregate import aggregate_task

    aggregate_task(task=task, policies=policies, test_paths=tests, curve_paths=curves, check_paths=checks,
                   model_dirs=models, data_dir=data, out_dir=out, tolerance=tolerance, latency_paths=list(latency),
                   skipped=json.loads(skipped), cost_paths=list(costs))


@stage("rule-times")
def rule_times(results_dir: Annotated[Path, "a grid's results folder"], /) -> None:
    """Per-rule job count, wall and CPU seconds and peak memory of a grid, from Snakemake's benchmark files"""
    from .report.rule_times import format_rule_times

    print(format_rule_times(results_dir))


@stage("reproduction-report")
def reproduction_report(results_dirs: Annotated[list[Path], "finished grids' results folders"], /,
                        config: Annotated[list[Path], "each grid's config, as given to snakemake --configfile, in the "
                                                      "order of the results folders"],
                        out: Annotated[Path | None, "the Markdown file to write; default: print it"] = None,
                        title: Annotated[str | None, "the document's title"] = None) -> None:
    """Write a reproduction document from finished grids run as one reproduction: stamps (date, commit, machine,
    each grid's command and wall time), each grid's setting and per-rule times, and every task's tables and
    verdicts"""
    from .errors import ConfigError
    from .io import write_text
    from .report.reproduction import reproduction_report as generate

    if len(results_dirs) != len(config):
        raise ConfigError(f"reproduction-report: {len(results_dirs)} results folders but {len(config)} --config "
                          f"files; give one config per results folder, in the same order")
    document = generate(list(zip(results_dirs, config)), title)
    if out is None:
        print(document, end="")
    else:
        write_text(out, document)


@stage("validate-config")
def validate_config(config: Path, /) -> None:
    """Validate a config file against the schema and the component catalogue"""
    from .config import cells, load_config, runs

    loaded = load_config(config)
    grid = runs(loaded)
    print(f"{config}: valid; {len(grid)} runs × {len(loaded['policies'])} policies "
          f"({len(cells(loaded, grid))} policy cells)")


@stage("list")
def list_components(kind: Literal["task", "backbone", "strategy", "policy"] | None = None, /) -> None:
    """Print every registered task, backbone, strategy and policy with its options and defaults"""
    from .catalogue import KINDS, describe

    print(describe(KINDS if kind is None else [kind]))


@stage("smoke-config")
def smoke_config(config: Annotated[Path, "a grid, e.g. config/paper/beem-glue.yaml"], /,
                 data: Annotated[Path, "folder that receives the tiny data files of the grid's tasks"],
                 out: Annotated[Path, "the smoke config to write (YAML), for snakemake --configfile"],
                 results_dir: Annotated[str | None, "results folder of the smoke run; default results/smoke-NAME"]
                 = None) -> None:
    """Shrink a grid for a smoke run: same tasks, strategies and policies; tiny random-init backbones of the same
    families, tiny data files in the real layouts, one seed, one epoch"""
    import yaml

    from .config import load_config
    from .io import write_text
    from .smoke import smoke_config as shrink

    results_dir = results_dir or f"results/smoke-{config.stem}"
    smoke = shrink(load_config(config), data, results_dir, source=str(config))
    write_text(out, f"# smoke version of {config} (eebench smoke-config)\n" + yaml.safe_dump(smoke, sort_keys=False))
    print(f"{out}: smoke grid of {config}; data in {data}; run: snakemake --cores 2 --configfile {out}")
