# Each task's report section (category = the task); the numbers order its subsections, leaderboard first.
def task_report(path, caption, subsection):
    return report(path, caption=f"../report/{caption}.rst", category="{task}", subcategory=subsection)


rule aggregate:
    input:
        data=DATA,
        tests=lambda w: run_files(w.task, "policies/{policy}/test.json"),
        curves=lambda w: run_files(w.task, "policies/{policy}/curve.csv"),
        checks=lambda w: [f"{RESULTS}/runs/{run.path}/checks.json" for run in runs_of(w.task)],
        models=lambda w: [f"{RESULTS}/runs/{run.path}/model" for run in runs_of(w.task)],
        latency=lambda w: latency_outputs(w.task),
        costs=lambda w: [f"{RESULTS}/runs/{run.path}/costs.json" for run in runs_of(w.task)],
    output:
        leaderboard=task_report(RESULTS + "/tables/{task}_leaderboard.html", "leaderboard", "1. Leaderboard"),
        leaderboard_table=task_report(RESULTS + "/tables/{task}_leaderboard.csv", "leaderboard", "1. Leaderboard"),
        leaderboard_markdown=RESULTS + "/tables/{task}_leaderboard.md",
        paper=task_report(RESULTS + "/tables/{task}_paper.html", "paper", "1b. Paper vs eebench"),
        paper_table=task_report(RESULTS + "/tables/{task}_paper.csv", "paper", "1b. Paper vs eebench"),
        chart=task_report(RESULTS + "/plots/{task}.html", "chart", "2. Speed-up vs metric"),
        image=RESULTS + "/plots/{task}.png",
        exits=task_report(RESULTS + "/plots/{task}_exits.html", "exits", "3. Exit layers"),
        exits_image=RESULTS + "/plots/{task}_exits.png",
        errors=task_report(RESULTS + "/plots/{task}_errors.html", "errors", "4. Checks"),
        errors_image=RESULTS + "/plots/{task}_errors.png",
        reliability=task_report(RESULTS + "/plots/{task}_reliability.html", "reliability", "4. Checks"),
        reliability_image=RESULTS + "/plots/{task}_reliability.png",
        categories=task_report(RESULTS + "/plots/{task}_categories.html", "categories", "4. Checks"),
        categories_image=RESULTS + "/plots/{task}_categories.png",
        pcee=task_report(RESULTS + "/plots/{task}_pcee.html", "pcee", "4. Checks"),
        pcee_image=RESULTS + "/plots/{task}_pcee.png",
        checks=task_report(RESULTS + "/tables/{task}_checks.csv", "checks", "4. Checks"),
        table=task_report(RESULTS + "/tables/{task}.csv", "table", "5. Tables"),
        markdown=RESULTS + "/tables/{task}.md",
        data=task_report(RESULTS + "/tables/{task}_data.csv", "data", "6. Data"),
        training=task_report(RESULTS + "/plots/{task}_training.html", "training", "7. Training"),
        training_image=RESULTS + "/plots/{task}_training.png",
        latency=task_report(RESULTS + "/tables/{task}_latency.csv", "latency", "8. Latency"),
    shell:
        "eebench aggregate --task {wildcards.task} --policies {POLICIES} --tests {input.tests} --curves {input.curves}"
        " --checks {input.checks} --models {input.models} --data {input.data} --latency {input.latency}"
        " --costs {input.costs}"
        " --tolerance {config[policy_fit][tolerance]} --out {RESULTS}"
