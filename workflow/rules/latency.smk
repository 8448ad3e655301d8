# Real early-exit inference: stop computing layers once a sample exits, timed at the configured batch sizes.


rule latency:
    input:
        model=results(layout.MODEL),
        data=results(layout.DATA),
        fit=results(layout.FIT),
    output:
        results(layout.LATENCY),
    log:
        results(os.path.join(layout.log("latency", ""), "{policy}.log")),
    benchmark:
        results(layout.benchmark("latency", layout.CELL))
    conda:
        CONDA_ENV
    params:
        batch_sizes=config["latency"]["batch_sizes"],
        samples=config["latency"]["samples"],
        passes=config["latency"]["passes"],
    shell:
        "eebench latency --model {input.model:q} --data {input.data:q} --fit {input.fit:q}"
        " --batch-sizes {params.batch_sizes} --samples {params.samples} --passes {params.passes}"
        " --out {output:q} 2>&1 | tee {log:q}"
