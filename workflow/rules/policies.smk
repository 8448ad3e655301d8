# The cheap cells of the grid: NumPy only, so hundreds of them stay fast.


rule fit:
    input:
        val=results(layout.EXITS.replace("{split}", "val")),
        costs=results(layout.COSTS),
    output:
        results(layout.FIT),
    params:
        method=lambda w: policy_method(config, w.policy),
        params=lambda w: as_json(policy_params(config, w.policy)),
        metric=task_metric,
        tolerance=config["policy_fit"]["tolerance"],
    shell:
        "eebench fit --val {input.val:q} --costs {input.costs:q} --policy {params.method:q} --params {params.params:q}"
        " --metric {params.metric} --tolerance {params.tolerance} --out {output:q}"


rule evaluate:
    input:
        fit=results(layout.FIT),
        test=results(layout.EXITS.replace("{split}", "test")),
        costs=results(layout.COSTS),
    output:
        results(layout.TEST),
    params:
        metric=task_metric,
    shell:
        "eebench evaluate --fit {input.fit:q} --test {input.test:q} --costs {input.costs:q}"
        " --metric {params.metric} --out {output:q}"


rule curve:
    input:
        fit=results(layout.FIT),
        test=results(layout.EXITS.replace("{split}", "test")),
        costs=results(layout.COSTS),
    output:
        results(layout.CURVE),
    params:
        metric=task_metric,
        points=config["policy_fit"]["curve_points"],
    shell:
        "eebench curve --fit {input.fit:q} --test {input.test:q} --costs {input.costs:q}"
        " --metric {params.metric} --points {params.points} --out {output:q}"
