rule aggregate:
    input:
        data=results(layout.DATA),
        tests=lambda w: cell_files(w.task, layout.TEST),
        curves=lambda w: cell_files(w.task, layout.CURVE),
        checks=lambda w: run_files(w.task, layout.CHECKS),
        models=lambda w: run_files(w.task, layout.MODEL),
        latency=lambda w: cell_files(w.task, layout.LATENCY, config["latency"]["policies"]),
    output:
        table=report(
            results(layout.TABLES["table"]),
            caption="../report/table.rst",
            category="Tables",
            subcategory="{task}",
        ),
        markdown=results(layout.TABLES["markdown"]),
        data=report(
            results(layout.TABLES["data"]),
            caption="../report/data.rst",
            category="Data",
            subcategory="{task}",
        ),
        checks=report(
            results(layout.TABLES["checks"]),
            caption="../report/checks.rst",
            category="Checks",
            subcategory="{task}",
        ),
        chart=report(
            results(layout.PLOTS["chart"]),
            caption="../report/chart.rst",
            category="Speed-up vs metric",
            subcategory="{task}",
        ),
        image=report(
            results(layout.PLOTS["image"]),
            caption="../report/chart.rst",
            category="Speed-up vs metric",
            subcategory="{task}",
        ),
        training=report(
            results(layout.PLOTS["training"]),
            caption="../report/training.rst",
            category="Training",
            subcategory="{task}",
        ),
        training_image=results(layout.PLOTS["training_image"]),
        latency=report(
            results(layout.TABLES["latency"]),
            caption="../report/latency.rst",
            category="Latency",
            subcategory="{task}",
        ),
    params:
        policies=POLICIES,
        skipped=lambda w: as_json(skipped_cells(config, w.task)),
        results=RESULTS,
    shell:
        "eebench aggregate --task {wildcards.task:q} --policies {params.policies:q} --tests {input.tests:q}"
        " --curves {input.curves:q} --checks {input.checks:q} --models {input.models:q} --data {input.data:q}"
        " --latency {input.latency:q} --skipped {params.skipped:q} --out {params.results:q}"
