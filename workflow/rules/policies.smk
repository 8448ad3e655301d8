# The cheap cells of the grid: NumPy only, so hundreds of them stay fast.


rule fit:
    input:
        val=RUN + "/exits/val.npz",
        costs=RUN + "/costs.json",
    output:
        RUN + "/policies/{policy}/fit.json",
    params:
        method=lambda w: policy_method(config, w.policy),
        params=lambda w: as_arg(policy_params(config, w.policy)),
        metric=task_metric,
        tolerance=config["policy_fit"]["tolerance"],
    shell:
        "eebench fit --val {input.val} --costs {input.costs} --policy {params.method} --params {params.params}"
        " --metric {params.metric} --tolerance {params.tolerance} --out {output}"


rule evaluate:
    input:
        fit=RUN + "/policies/{policy}/fit.json",
        test=RUN + "/exits/test.npz",
        costs=RUN + "/costs.json",
    output:
        RUN + "/policies/{policy}/test.json",
    params:
        metric=task_metric,
    shell:
        "eebench evaluate --fit {input.fit} --test {input.test} --costs {input.costs}"
        " --metric {params.metric} --out {output}"


rule curve:
    input:
        fit=RUN + "/policies/{policy}/fit.json",
        test=RUN + "/exits/test.npz",
        costs=RUN + "/costs.json",
    output:
        RUN + "/policies/{policy}/curve.csv",
    params:
        metric=task_metric,
        points=config["policy_fit"]["curve_points"],
    shell:
        "eebench curve --fit {input.fit} --test {input.test} --costs {input.costs}"
        " --metric {params.metric} --points {params.points} --out {output}"
