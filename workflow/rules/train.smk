rule train:
    input:
        data=DATA,
    output:
        model=directory(RUN + "/model"),
    params:
        backbone_options=lambda w: as_arg(config["backbones"].get(w.backbone, {})),
        strategy_options=lambda w: as_arg(config["strategies"].get(w.strategy, {})),
        training=lambda w: as_arg(training_options(config, w.task, w.backbone, w.strategy)),
    log:
        RESULTS + "/logs/train/{task}/{backbone}/{strategy}/seed{seed}.log",
    shell:
        "eebench train --data {input.data} --backbone {wildcards.backbone}"
        " --backbone-options {params.backbone_options} --strategy {wildcards.strategy}"
        " --strategy-options {params.strategy_options} --training {params.training}"
        " --seed {wildcards.seed} --out {output.model} 2>&1 | tee {log}"
