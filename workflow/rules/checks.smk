rule check:
    input:
        val=results(layout.EXITS.replace("{split}", "val")),
        test=results(layout.EXITS.replace("{split}", "test")),
        data=results(layout.DATA),
    output:
        results(layout.CHECKS),
    log:
        results(layout.log("check", ".log")),
    benchmark:
        results(layout.benchmark("check", layout.RUN))
    conda:
        CONDA_ENV
    shell:
        "eebench check --val {input.val:q} --test {input.test:q} --data {input.data:q} --out {output:q} 2>&1 | tee {log:q}"
