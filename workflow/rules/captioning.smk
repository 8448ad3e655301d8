# Captioning rules (prefixed caption_): every rule calls `python -m eebench.captioning.cli <stage>`.
# The grid's logic lives in eebench.captioning.grid; this file only names paths.
import shlex

from snakemake.exceptions import WorkflowError

from eebench.captioning.grid import experiment_training, runs, validate
from eebench.captioning.options import SMALL_BACKBONES
from eebench.config import options_json, read_yaml_strict, templating_allowed
from eebench.errors import EEBenchError
from eebench.layout import check_results_dir

# Checked when Snakemake starts (torch-free); the sections' defaults are filled in for the rules below.
try:
    for _file in workflow.configfiles:
        # a key given twice is an error, not silently the last one; a YTE template needs the opt-in (config.py)
        templating_allowed(read_yaml_strict(_file), _file)
    config.update(validate(config, source=" + ".join(map(str, workflow.configfiles)) or "config"))
    check_results_dir(config["results_dir"])
except EEBenchError as error:
    raise WorkflowError(f"invalid captioning configuration: {error}") from None

CAP_RESULTS = config["results_dir"]
CAP_RUNS = runs(config)
CAP_RUN = CAP_RESULTS + "/runs/{task}/{backbone}/{strategy}/seed{seed}"
CAP_CLI = "python -m eebench.captioning.cli"


def cap_arg(value) -> str:
    return shlex.quote(options_json(value or {}))


def cap_run_files(task: str, template: str, policies) -> list[str]:
    return [f"{CAP_RESULTS}/runs/{run.path}/policies/{policy}/{template}" for run in CAP_RUNS if run.task == task
            for policy in policies]


def captioning_targets() -> list[str]:
    tasks = list(dict.fromkeys(run.task for run in CAP_RUNS))
    return [f"{CAP_RESULTS}/tables/{task}.{ext}" for task in tasks for ext in ("csv", "md", "html")] + [
        path for task in tasks for path in cap_run_files(task, "latency.json", config["latency"]["policies"])]


rule caption_prepare:
    output:
        directory(CAP_RESULTS + "/data/{task}"),
    params:
        options=lambda w: cap_arg(config.get("tasks", {}).get(w.task)),
    log:
        CAP_RESULTS + "/logs/prepare/{task}.log",
    shell:
        "{CAP_CLI} prepare --task {wildcards.task:q} --options {params.options} --seed 0 --out {output:q} 2> {log:q}"


rule caption_train:
    input:
        CAP_RESULTS + "/data/{task}",
    output:
        directory(CAP_RUN + "/model"),
    params:
        backbone=lambda w: cap_arg(config.get("backbones", {}).get(w.backbone)),
        strategy=lambda w: cap_arg(config.get("strategies", {}).get(w.strategy)),
        training=lambda w: cap_arg(experiment_training(config, w.task, w.backbone, w.strategy)),
    # One thread for the small captioners: their ops are tiny, and a second OpenMP thread mostly spin-waits on a busy
    # machine (measured on a loaded 2-core machine: each thread burnt over 1 s of CPU per step, against 0.17 s alone).
    threads: lambda wildcards: 1 if wildcards.backbone in SMALL_BACKBONES else 2
    resources:
        gpu=1,
    log:
        CAP_RESULTS + "/logs/train/{task}/{backbone}/{strategy}/seed{seed}.log",
    shell:
        "OMP_NUM_THREADS={threads} {CAP_CLI} train --data {input:q} --out {output:q} --backbone {wildcards.backbone:q}"
        " --backbone-options {params.backbone} --strategy {wildcards.strategy:q} --strategy-options {params.strategy}"
        " --training {params.training} --seed {wildcards.seed:q} 2> {log:q}"


rule caption_predict:
    input:
        model=CAP_RUN + "/model",
        data=CAP_RESULTS + "/data/{task}",
    output:
        CAP_RUN + "/exits/{split}.npz",
    params:
        batch_size=config["predict"]["batch_size"],
    resources:
        gpu=1,
    log:
        CAP_RESULTS + "/logs/predict/{task}/{backbone}/{strategy}/seed{seed}/{split}.log",
    shell:
        "OMP_NUM_THREADS=1 {CAP_CLI} predict --model {input.model:q} --data {input.data:q} --split {wildcards.split:q}"
        " --batch-size {params.batch_size} --out {output:q} 2> {log:q}"


rule caption_costs:
    input:
        model=CAP_RUN + "/model",
        data=CAP_RESULTS + "/data/{task}",
    output:
        CAP_RUN + "/costs.json",
    log:
        CAP_RESULTS + "/logs/costs/{task}/{backbone}/{strategy}/seed{seed}.log",
    shell:
        "OMP_NUM_THREADS=1 {CAP_CLI} costs --model {input.model:q} --data {input.data:q} --out {output:q} 2> {log:q}"


rule caption_fit:
    input:
        val=CAP_RUN + "/exits/val.npz",
        costs=CAP_RUN + "/costs.json",
        model=CAP_RUN + "/model",
        data=CAP_RESULTS + "/data/{task}",
    output:
        CAP_RUN + "/policies/{policy}/fit.json",
    params:
        options=lambda w: cap_arg(config["policies"][w.policy]),
        tolerance=config["policy_fit"]["tolerance"],
    log:
        CAP_RESULTS + "/logs/fit/{task}/{backbone}/{strategy}/seed{seed}/{policy}.log",
    shell:
        "{CAP_CLI} fit --val {input.val:q} --data {input.data:q} --model {input.model:q} --costs {input.costs:q}"
        " --policy {wildcards.policy:q} --options {params.options} --tolerance {params.tolerance} --out {output:q} 2> {log:q}"


rule caption_evaluate:
    input:
        fit=CAP_RUN + "/policies/{policy}/fit.json",
        test=CAP_RUN + "/exits/test.npz",
        costs=CAP_RUN + "/costs.json",
        model=CAP_RUN + "/model",
        data=CAP_RESULTS + "/data/{task}",
    output:
        CAP_RUN + "/policies/{policy}/test.json",
    params:
        meteor="" if config["metrics"]["meteor"] else "--no-meteor",
    log:
        CAP_RESULTS + "/logs/evaluate/{task}/{backbone}/{strategy}/seed{seed}/{policy}.log",
    shell:
        "{CAP_CLI} evaluate --fit {input.fit:q} --test {input.test:q} --data {input.data:q} --model {input.model:q}"
        " --costs {input.costs:q} --out {output:q} {params.meteor} 2> {log:q}"


rule caption_curve:
    input:
        fit=CAP_RUN + "/policies/{policy}/fit.json",
        test=CAP_RUN + "/exits/test.npz",
        costs=CAP_RUN + "/costs.json",
        model=CAP_RUN + "/model",
        data=CAP_RESULTS + "/data/{task}",
    output:
        CAP_RUN + "/policies/{policy}/curve.csv",
    params:
        points=config["policy_fit"]["curve_points"],
    log:
        CAP_RESULTS + "/logs/curve/{task}/{backbone}/{strategy}/seed{seed}/{policy}.log",
    shell:
        "{CAP_CLI} curve --fit {input.fit:q} --test {input.test:q} --data {input.data:q} --model {input.model:q}"
        " --costs {input.costs:q} --points {params.points} --out {output:q} 2> {log:q}"


rule caption_latency:
    input:
        fit=CAP_RUN + "/policies/{policy}/fit.json",
        test=CAP_RUN + "/exits/test.npz",
        model=CAP_RUN + "/model",
        data=CAP_RESULTS + "/data/{task}",
    output:
        CAP_RUN + "/policies/{policy}/latency.json",
    params:
        max_images=config["latency"]["max_images"],
    resources:
        gpu=1,
    log:
        CAP_RESULTS + "/logs/latency/{task}/{backbone}/{strategy}/seed{seed}/{policy}.log",
    shell:
        "OMP_NUM_THREADS=1 {CAP_CLI} latency --model {input.model:q} --data {input.data:q} --fit {input.fit:q}"
        " --test {input.test:q} --max-images {params.max_images} --out {output:q} 2> {log:q}"


rule caption_aggregate:
    input:
        tests=lambda w: cap_run_files(w.task, "test.json", config["policies"]),
        curves=lambda w: cap_run_files(w.task, "curve.csv", config["policies"]),
    output:
        csv=report(CAP_RESULTS + "/tables/{task}.csv", caption="../report/captioning.rst", category="Captioning"),
        md=CAP_RESULTS + "/tables/{task}.md",
        plot=report(CAP_RESULTS + "/tables/{task}.html", caption="../report/captioning.rst", category="Captioning"),
    log:
        CAP_RESULTS + "/logs/aggregate/{task}.log",
    shell:
        "{CAP_CLI} aggregate --tests {input.tests:q} --curves {input.curves:q} --csv {output.csv:q} --md {output.md:q}"
        " --plot {output.plot:q} 2> {log:q}"
