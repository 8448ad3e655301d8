"""Caption tasks: an image in, a caption out, generated token by token, with an exit decision at every token.

Their prepared format is their own (`eebench.captioning.data`: jsonl records + images), their unit of an exit
decision is a generated token, and their metric is CIDEr-D over whole captions (`cider`, a sequence metric:
`eebench.captioning.scoring.CaptionMetric`). Everything after `prepare` — training, the exits contract, policy
cells, checks, latency, the report — is the one pipeline every task goes through."""

from __future__ import annotations

from ..catalogue import boolean, choice, integer, path, text
from ..captioning.data import MODALITY
from ..captioning.shapes import REGIONS
from .spec import TaskSpec

METRIC = "cider"

_METEOR = boolean("score METEOR on test (its Java process takes seconds to start in every policy cell); false = "
                  "null with the reason", default=True)

OPTIONS = {
    "shapes-captions": {
        "train_size": integer("training images", default=1500),
        "val_size": integer("validation images (policies are fitted on them)", default=200),
        "test_size": integer("test images", default=200),
        "image_size": integer("side of the rendered square images, in pixels", default=32, minimum=8),
        "max_groups": integer("most groups of shapes in one scene", default=3, maximum=len(REGIONS)),
        "references": integer("reference captions per image", default=3),
        "meteor": _METEOR,
    },
    "coco-captions": {
        "source": choice("where the Karpathy-split captions come from", ("local", "hub"), default="local"),
        "path": path("COCO folder (dataset_coco.json + train2014/, val2014/)", default=None),
        "hub_id": text("hub dataset with the Karpathy records (source: hub)", default="yerevann/coco-karpathy"),
        "max_train": integer("keep the first N training images; null = all", default=None),
        "max_val": integer("keep the first N val images; null = all", default=None),
        "max_test": integer("keep the first N test images; null = all", default=None),
        "meteor": _METEOR,
    },
}
DESCRIPTIONS = {
    "shapes-captions": "offline: rendered scenes of coloured shapes with templated captions (CPU, tests)",
    "coco-captions": "COCO 2014, Karpathy split (restval joins train), from a local folder or the hub (BEEM/CapEEN)",
}


def _preparer(name: str):
    def prepare(options: dict, out, seed: int) -> None:
        from ..captioning.data import prepare_captions

        prepare_captions(name, options, out, seed)

    return prepare


SPECS = [TaskSpec(name, MODALITY, 0, METRIC, DESCRIPTIONS[name], options=OPTIONS[name], prepare=_preparer(name))
         for name in OPTIONS]
