rule aggregate:
    input:
        data=results(layout.DATA),
        tests=lambda w: cell_files(w.task, layout.TEST),
        curves=lambda w: cell_files(w.task, layout.CURVE),
        checks=lambda w: run_files(w.task, layout.CHECKS),
        models=lambda w: run_files(w.task, layout.MODEL),
        latency=lambda w: cell_files(w.task, layout.LATENCY, config["latency"]["policies"]),
        costs=lambda w: run_files(w.task, layout.COSTS),
    output:
        leaderboard=task_report(results(layout.TABLES["leaderboard"]), "leaderboard", "1. Leaderboard"),
        leaderboard_table=task_report(results(layout.TABLES["leaderboard_table"]), "leaderboard", "1. Leaderboard"),
        leaderboard_markdown=results(layout.TABLES["leaderboard_markdown"]),
        paper=task_report(results(layout.TABLES["paper"]), "paper", "1b. Paper vs eebench"),
        paper_table=task_report(results(layout.TABLES["paper_table"]), "paper", "1b. Paper vs eebench"),
        chart=task_report(results(layout.PLOTS["chart"]), "chart", "2. Speed-up vs metric"),
        image=results(layout.PLOTS["image"]),
        sizes=task_report(results(layout.PLOTS["sizes"]), "sizes", "2b. Accuracy vs FLOPs across sizes"),
        sizes_image=results(layout.PLOTS["sizes_image"]),
        exits=task_report(results(layout.PLOTS["exits"]), "exits", "3. Exit layers"),
        exits_image=results(layout.PLOTS["exits_image"]),
        errors=task_report(results(layout.PLOTS["errors"]), "errors", "4. Checks"),
        errors_image=results(layout.PLOTS["errors_image"]),
        reliability=task_report(results(layout.PLOTS["reliability"]), "reliability", "4. Checks"),
        reliability_image=results(layout.PLOTS["reliability_image"]),
        categories=task_report(results(layout.PLOTS["categories"]), "categories", "4. Checks"),
        categories_image=results(layout.PLOTS["categories_image"]),
        pcee=task_report(results(layout.PLOTS["pcee"]), "pcee", "4. Checks"),
        pcee_image=results(layout.PLOTS["pcee_image"]),
        checks=results(layout.TABLES["checks"]),
        checks_page=task_report(results(layout.TABLES["checks_page"]), "checks", "4. Checks"),
        table=results(layout.TABLES["table"]),
        table_page=task_report(results(layout.TABLES["table_page"]), "table", "5. Tables"),
        markdown=results(layout.TABLES["markdown"]),
        data=results(layout.TABLES["data"]),
        data_page=task_report(results(layout.TABLES["data_page"]), "data", "6. Data"),
        training=task_report(results(layout.PLOTS["training"]), "training", "7. Training"),
        training_image=results(layout.PLOTS["training_image"]),
        latency=results(layout.TABLES["latency"]),
        latency_page=task_report(results(layout.TABLES["latency_page"]), "latency", "8. Latency"),
    log:
        results(layout.AGGREGATE_LOG),
    benchmark:
        results(layout.benchmark("aggregate", "{task}"))
    conda:
        CONDA_ENV
    params:
        policies=POLICIES,
        skipped=lambda w: as_json(skipped_cells(config, w.task)),
        tolerance=config["policy_fit"]["tolerance"],
        out=lambda w, output: results_dir_of(output.table, layout.TABLES["table"]),
    shell:
        "eebench aggregate --task {wildcards.task:q} --policies {params.policies:q} --tests {input.tests:q}"
        " --curves {input.curves:q} --checks {input.checks:q} --models {input.models:q} --data {input.data:q}"
        " --latency {input.latency:q} --costs {input.costs:q} --skipped {params.skipped:q}"
        " --tolerance {params.tolerance}"
        " --out {params.out:q} 2>&1 | tee {log:q}"
