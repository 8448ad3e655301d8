# eebench captioning track (BEEM's COCO half): its own entry point until the main config carries captioning.
#   snakemake -s workflow/captioning.smk --cores all                                  # offline grid, CPU
#   snakemake -s workflow/captioning.smk --cores all --configfile config/paper/beem-coco.yaml
#   snakemake -s workflow/captioning.smk --report results/captioning/report.html       # after a run
# prepare → train → predict (val, test) + costs → fit → evaluate + curve (+ latency) → aggregate.

if not workflow.overwrite_configfiles:

    configfile: "config/captioning.yaml"


include: "rules/captioning.smk"


rule captioning_all:
    default_target: True
    input:
        captioning_targets(),
