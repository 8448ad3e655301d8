rule aggregate:
    input:
        data=DATA,
        tests=lambda w: run_files(w.task, "policies/{policy}/test.json"),
        curves=lambda w: run_files(w.task, "policies/{policy}/curve.csv"),
        checks=lambda w: [f"{RESULTS}/runs/{run.path}/checks.json" for run in runs_of(w.task)],
        models=lambda w: [f"{RESULTS}/runs/{run.path}/model" for run in runs_of(w.task)],
        latency=lambda w: latency_outputs(w.task),
    output:
        table=report(
            RESULTS + "/tables/{task}.csv",
            caption="../report/table.rst",
            category="Tables",
            subcategory="{task}",
        ),
        markdown=RESULTS + "/tables/{task}.md",
        data=report(
            RESULTS + "/tables/{task}_data.csv",
            caption="../report/data.rst",
            category="Data",
            subcategory="{task}",
        ),
        checks=report(
            RESULTS + "/tables/{task}_checks.csv",
            caption="../report/checks.rst",
            category="Checks",
            subcategory="{task}",
        ),
        chart=report(
            RESULTS + "/plots/{task}.html",
            caption="../report/chart.rst",
            category="Speed-up vs metric",
            subcategory="{task}",
        ),
        image=report(
            RESULTS + "/plots/{task}.png",
            caption="../report/chart.rst",
            category="Speed-up vs metric",
            subcategory="{task}",
        ),
        training=report(
            RESULTS + "/plots/{task}_training.html",
            caption="../report/training.rst",
            category="Training",
            subcategory="{task}",
        ),
        training_image=RESULTS + "/plots/{task}_training.png",
        latency=report(
            RESULTS + "/tables/{task}_latency.csv",
            caption="../report/latency.rst",
            category="Latency",
            subcategory="{task}",
        ),
    shell:
        "eebench aggregate --task {wildcards.task} --policies {POLICIES} --tests {input.tests} --curves {input.curves}"
        " --checks {input.checks} --models {input.models} --data {input.data} --latency {input.latency}"
        " --out {RESULTS}"
