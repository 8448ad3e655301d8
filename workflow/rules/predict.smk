rule predict:
    input:
        model=RUN + "/model",
        data=DATA,
    output:
        RUN + "/exits/{split}.npz",
    log:
        RESULTS + "/logs/predict/{task}/{backbone}/{strategy}/seed{seed}/{split}.log",
    shell:
        "eebench predict --model {input.model} --data {input.data} --split {wildcards.split}"
        " --out {output} 2>&1 | tee {log}"


rule costs:
    input:
        model=RUN + "/model",
        data=DATA,
    output:
        RUN + "/costs.json",
    log:
        RESULTS + "/logs/costs/{task}/{backbone}/{strategy}/seed{seed}.log",
    shell:
        "eebench costs --model {input.model} --data {input.data} --out {output} 2>&1 | tee {log}"
