# eebench: the entry point. The DAG lives in workflow/ (Snakemake's workflow catalogue layout); this file only
# includes it and names the default target (an included file cannot set the default target).
include: "workflow/Snakefile"


rule all:
    default_target: True
    input:
        targets(),
