"""The report's chart types as PNGs for the documentation, drawn from one task of a results folder:

    python scripts/chart_gallery.py [--config config/config.yaml] [--results DIR] [--task digits]
                                    [--out docs/images/charts]

It draws with the report's own functions (eebench.report.charts and aggregate.training_chart), with the policy order
and tolerance of the config that made the results (the results folder defaults to that config's `results_dir`), and
writes speedup.png, sizes.png, exits.png, reliability.png, errors.png, categories.png, pcee.png and training.png
(`--only` draws a subset: the docs' sizes.png comes from the CPU reproduction's MNIST size pair). Each PNG is
reduced to a 256-colour palette (the docs keep every picture under 200 kB) and carries the task, the results folder,
the commit of the code that drew it and the date in its text chunks. A chart whose files the results folder lacks is
not drawn; the script names the missing files and exits with status 1."""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
from datetime import date
from pathlib import Path

from PIL import Image, PngImagePlugin

from eebench.config import load_config
from eebench.io import read_json
from eebench.report.aggregate import (cell_records, collect_curves, is_sequence_task, results_frame, training_chart,
                                      training_curves)
from eebench.report.charts import (CHECK_CHARTS, exit_histogram_chart, exit_histograms, read_checks, speedup_chart)
from eebench.report.leaderboard import metric_label
from eebench.report.paper_claims import read_measurements
from eebench.report.size_chart import size_chart

REPOSITORY = Path(__file__).resolve().parent.parent
SCALE = 1.5  # the report's PNG scale: the docs show what the report shows


DRAWING_CODE = ["src/eebench/report/charts.py", "src/eebench/report/aggregate.py", "src/eebench/report/leaderboard.py",
                "src/eebench/report/size_chart.py", "scripts/chart_gallery.py"]


def commit() -> str:
    """The commit of the drawing code, marked -dirty where DRAWING_CODE differs from it (edits elsewhere in the
    working tree draw nothing)."""
    def git(*args):
        return subprocess.run(["git", *args], cwd=REPOSITORY, capture_output=True, text=True)

    head = git("rev-parse", "--short", "HEAD").stdout.strip()
    changed = git("diff", "--quiet", "HEAD", "--", *DRAWING_CODE).returncode != 0
    return head + ("-dirty" if changed else "")


def save_png(chart, path: Path, provenance: dict[str, str]) -> int:
    """The chart as a 256-colour PNG with `provenance` as text chunks; its size in bytes."""
    raw = io.BytesIO()
    chart.save(raw, format="png", scale_factor=SCALE)
    image = Image.open(raw).convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    info = PngImagePlugin.PngInfo()
    for key, value in provenance.items():
        info.add_text(key, value)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, optimize=True, pnginfo=info)
    return path.stat().st_size


def draw(results: Path, task: str, policies: list[str], tolerance: float) -> tuple[dict, list[str]]:
    """The charts of `task` by PNG name, and what the results folder lacks for those it cannot draw."""
    runs = results / "runs" / task
    tests = sorted(runs.glob("*/*/seed*/policies/*/test.json"))
    curves = sorted(runs.glob("*/*/seed*/policies/*/curve.csv"))
    checks = sorted(runs.glob("*/*/seed*/checks.json"))
    models = sorted(runs.glob("*/*/seed*/model"))
    charts, missing = {}, []
    if tests and curves:
        records = cell_records(tests)
        info_path = results / "data" / task / "info.json"
        info = read_json(info_path) if info_path.is_file() else None
        frame, sweeps = results_frame(records), collect_curves(curves)
        metric_name = str(frame["metric_name"].iloc[0])
        charts["speedup"] = speedup_chart(sweeps, frame, metric_name, tolerance, policies)
        unit = "tokens" if is_sequence_task(records, info) else "samples"
        charts["exits"] = exit_histogram_chart(exit_histograms(tests), policies, unit)
        measured = read_measurements(frame, sweeps, checks, sorted(runs.glob("*/*/seed*/costs.json")), tolerance,
                                     records)
        charts["sizes"] = size_chart(measured, metric_label(metric_name))  # a notice when the task has no size pair
    else:
        missing.append(f"{runs}/*/*/seed*/policies/*/test.json and curve.csv (speed-up and exit-layer charts)")
    if checks:
        read = read_checks(checks)
        charts.update({name: chart(frame(read)) for name, (frame, chart) in CHECK_CHARTS.items()})
    else:
        missing.append(f"{runs}/*/*/seed*/checks.json (reliability, errors, categories and PCEE charts)")
    logs = [model for model in models if (model / "train_log.jsonl").is_file()]
    if logs:
        charts["training"] = training_chart(training_curves(logs))
    else:
        missing.append(f"{runs}/*/*/seed*/model/train_log.jsonl (training chart)")
    return charts, missing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=REPOSITORY / "config" / "config.yaml")
    parser.add_argument("--results", type=Path, help="results folder (default: the config's results_dir)")
    parser.add_argument("--task", default="digits")
    parser.add_argument("--out", type=Path, default=REPOSITORY / "docs" / "images" / "charts")
    parser.add_argument("--only", nargs="+", metavar="CHART",
                        help="draw only these charts (e.g. sizes, from a grid with a larger and a smaller model)")
    args = parser.parse_args(argv)
    config = load_config(args.config)
    results = args.results or REPOSITORY / config["results_dir"]
    charts, missing = draw(results, args.task, list(config["policies"]), config["policy_fit"]["tolerance"])
    if args.only:
        missing = [] if set(args.only) <= set(charts) else missing
        charts = {name: chart for name, chart in charts.items() if name in args.only}
    source = results.resolve()
    source = source.relative_to(REPOSITORY) if source.is_relative_to(REPOSITORY) else source
    provenance = {"Source": f"{source} task {args.task}", "Software": f"eebench {commit()}",
                  "Creation Time": date.today().isoformat()}
    for name, chart in charts.items():
        size = save_png(chart, args.out / f"{name}.png", provenance)
        print(f"{args.out / name}.png: {size / 1000:.0f} kB")
    for what in missing:
        print(f"not drawn, the results folder lacks {what}", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
