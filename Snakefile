# eebench: the DAG lives in workflow/Snakefile (Snakemake's workflow catalogue layout).
include: "workflow/Snakefile"
