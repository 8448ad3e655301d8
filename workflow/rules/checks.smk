rule check:
    input:
        val=RUN + "/exits/val.npz",
        test=RUN + "/exits/test.npz",
        data=DATA,
    output:
        RUN + "/checks.json",
    shell:
        "eebench check --val {input.val} --test {input.test} --data {input.data} --out {output}"
