rule train:
    input:
        data=results(layout.DATA),
    output:
        model=directory(results(layout.MODEL)),
    log:
        results(layout.log("train", ".log")),
    benchmark:
        results(layout.benchmark("train", layout.RUN))
    conda:
        CONDA_ENV
    params:
        backbone=lambda w: backbone_id(config, w.backbone),
        backbone_options=lambda w: as_json(backbone_params(config, w.backbone)),
        strategy_options=lambda w: as_json(config["strategies"].get(w.strategy, {})),
        training=lambda w: as_json(training_options(config, w.task, w.backbone, w.strategy)),
    shell:
        "eebench train --data {input.data:q} --backbone {params.backbone:q}"
        " --backbone-options {params.backbone_options:q} --strategy {wildcards.strategy:q}"
        " --strategy-options {params.strategy_options:q} --training {params.training:q}"
        " --seed {wildcards.seed} --out {output.model:q} 2>&1 | tee {log:q}"
