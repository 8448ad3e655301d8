rule prepare:
    output:
        directory(DATA),
    params:
        options=lambda w: as_arg(config["tasks"].get(w.task, {})),
    log:
        RESULTS + "/logs/prepare/{task}.log",
    shell:
        "eebench prepare --task {wildcards.task} --options {params.options} --out {output} 2>&1 | tee {log}"
