# One job per run loads the model once for both evaluation splits and the costs (the `predict` and `costs` stages).


rule predict_run:
    input:
        model=results(layout.MODEL),
        data=results(layout.DATA),
    output:
        val=results(layout.EXITS.replace("{split}", "val")),
        test=results(layout.EXITS.replace("{split}", "test")),
        costs=results(layout.COSTS),
    log:
        results(layout.log("predict", ".log")),
    benchmark:
        results(layout.benchmark("predict_run", layout.RUN))
    conda:
        CONDA_ENV
    shell:
        "eebench predict-run --model {input.model:q} --data {input.data:q} --val-out {output.val:q}"
        " --test-out {output.test:q} --costs-out {output.costs:q} 2>&1 | tee {log:q}"
