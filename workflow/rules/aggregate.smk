rule aggregate:
    input:
        data=DATA,
        tests=lambda w: run_files(w.task, "policies/{policy}/test.json"),
        curves=lambda w: run_files(w.task, "policies/{policy}/curve.csv"),
        checks=lambda w: [f"{RESULTS}/runs/{run.path}/checks.json" for run in runs_of(w.task)],
    output:
        table=report(
            RESULTS + "/tables/{task}.csv",
            caption="../report/table.rst",
            category="Tables",
            subcategory="{task}",
        ),
        markdown=RESULTS + "/tables/{task}.md",
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
    params:
        runs=lambda w: [run.path for run in runs_of(w.task)],
        policies=POLICIES,
    shell:
        "eebench aggregate --task {wildcards.task} --runs {params.runs} --policies {params.policies}"
        " --results {RESULTS} --out {RESULTS}"
