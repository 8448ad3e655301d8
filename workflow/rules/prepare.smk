rule prepare:
    output:
        directory(results(layout.DATA)),
    log:
        results(layout.PREPARE_LOG),
    benchmark:
        results(layout.benchmark("prepare", layout.DATA))
    conda:
        CONDA_ENV
    params:
        options=lambda w: as_json(config["tasks"].get(w.task, {})),
    shell:
        # the tolerance is in the command, not in params: changing it must not re-prepare and retrain everything
        "eebench prepare --task {wildcards.task:q} --options {params.options:q}"
        " --tolerance {config[policy_fit][tolerance]} --out {output:q} 2>&1 | tee {log:q}"
