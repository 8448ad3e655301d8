rule predict:
    input:
        model=results(layout.MODEL),
        data=results(layout.DATA),
    output:
        results(layout.EXITS),
    log:
        results(layout.log("predict", "/{split}.log")),
    shell:
        "eebench predict --model {input.model:q} --data {input.data:q} --split {wildcards.split}"
        " --out {output:q} 2>&1 | tee {log:q}"


rule costs:
    input:
        model=results(layout.MODEL),
        data=results(layout.DATA),
    output:
        results(layout.COSTS),
    log:
        results(layout.log("costs", ".log")),
    shell:
        "eebench costs --model {input.model:q} --data {input.data:q} --out {output:q} 2>&1 | tee {log:q}"
