# The cheap cells of the grid: NumPy only. One job per cell writes its fit.json, test.json and curve.csv (the
# `fit`, `evaluate` and `curve` stages in one process), so hundreds of cells stay fast; each file is still a target
# of its own (`snakemake …/policies/NAME/test.json` rebuilds that cell alone). A caption task's metric (cider) reads
# the references in the data folder and the tokenizer in the model folder; other tasks' cells ignore both.


rule policy_cell:
    input:
        val=results(layout.EXITS.replace("{split}", "val")),
        test=results(layout.EXITS.replace("{split}", "test")),
        costs=results(layout.COSTS),
        data=results(layout.DATA),
        model=results(layout.MODEL),
    output:
        fit=results(layout.FIT),
        test=results(layout.TEST),
        curve=results(layout.CURVE),
    log:
        results(os.path.join(layout.log("policy_cell", ""), "{policy}.log")),
    benchmark:
        results(layout.benchmark("policy_cell", layout.CELL))
    conda:
        CONDA_ENV
    params:
        options=policy_cell_options_of,
    shell:
        "eebench policy-cell --val {input.val:q} --test {input.test:q} --costs {input.costs:q} {params.options}"
        " --data {input.data:q} --model {input.model:q}"
        " --fit-out {output.fit:q} --test-out {output.test:q} --curve-out {output.curve:q} 2>&1 | tee {log:q}"
