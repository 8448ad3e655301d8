# Real early-exit inference: stop computing layers once a sample exits, timed at bs 1 and batched.


rule latency:
    input:
        model=RUN + "/model",
        data=DATA,
        fit=RUN + "/policies/{policy}/fit.json",
    output:
        RUN + "/policies/{policy}/latency.json",
    log:
        RESULTS + "/logs/latency/{task}/{backbone}/{strategy}/seed{seed}/{policy}.log",
    shell:
        "eebench latency --model {input.model} --data {input.data} --fit {input.fit} --out {output} 2>&1 | tee {log}"
