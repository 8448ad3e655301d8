"""Image classification: MNIST, Fashion-MNIST, CIFAR-10, CIFAR-100, ImageNet.

Every task reads from the Hugging Face hub (`source: hub`, needs internet, `datasets` and Pillow) or from a local
folder (`source: local`, `path: DIR`):
- `mnist`, `fashion-mnist`: the IDX files, gzip-compressed or not: `train-images-idx3-ubyte[.gz]`,
  `train-labels-idx1-ubyte[.gz]`, `t10k-images-idx3-ubyte[.gz]`, `t10k-labels-idx1-ubyte[.gz]`. A folder
  with only the t10k (test) files is accepted: then test is a seeded stratified `test_fraction` of those
  images, and train/val are carved from the rest (info.json says so in `split_note`).
- `cifar10`, `cifar100`: the official download folder, python version (`cifar-10-batches-py`: pickled batches,
  read with a restricted unpickler, see cifar.py) or binary version (`cifar-10-batches-bin`, parsed with NumPy);
  `path` may be that folder or the one containing it.
- `imagenet`: an ImageFolder, `DIR/train/<class>/*.JPEG` and `DIR/val/<class>/*.JPEG` (val arranged in class
  folders, as torchvision expects); class names are the folder names, so a subset such as Imagenette works and
  n_classes is the number of class folders. Images are resized (shorter side) and centre-cropped to
  `image_size`. All images of a split are held in memory and in one .npz, so cap full ImageNet with `max_train`.
The held-out set (MNIST/CIFAR test, ImageNet val) is the test split; val is a seeded `val_fraction` of train.
Images are uint8 [N, H, W] (grey) or [N, H, W, 3] (colour), pixels 0..255.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DataError
from .cifar import read_cifar_split
from .idx import find_idx, read_idx
from .labels import check_class_range
from ..catalogue import integer
from .options import fraction, source_options, split_options
from .pil_images import decode_files, list_image_folder, require_pillow, to_array
from .sources import load_hub_split, local_folder
from .spec import TaskSpec
from .splitting import carve_splits, hold_out
from .storage import PreparedTask, SplitData

CIFAR10_LABELS = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
CIFAR100_LABELS = tuple(
    "apple aquarium_fish baby bear beaver bed bee beetle bicycle bottle bowl boy bridge bus butterfly camel can "
    "castle caterpillar cattle chair chimpanzee clock cloud cockroach couch crab crocodile cup dinosaur dolphin "
    "elephant flatfish forest fox girl hamster house kangaroo keyboard lamp lawn_mower leopard lion lizard lobster "
    "man maple_tree motorcycle mountain mouse mushroom oak_tree orange orchid otter palm_tree pear pickup_truck "
    "pine_tree plain plate poppy porcupine possum rabbit raccoon ray road rocket rose sea seal shark shrew skunk "
    "skyscraper snail snake spider squirrel streetcar sunflower sweet_pepper table tank telephone television tiger "
    "tractor train trout tulip turtle wardrobe whale willow_tree wolf woman worm".split()
)
FASHION_LABELS = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)


@dataclass(frozen=True)
class ImageSource:
    task: str
    label_names: tuple[str, ...]  # () = from the data (ImageNet)
    mode: str  # PIL mode: "L" grey, "RGB" colour
    hub_repo: str
    hub_image_column: str
    hub_label_column: str
    hub_test_split: str = "test"


def _hub_pool(src: ImageSource, split: str):
    """The hub split and a SplitData whose inputs are row indices, so only the rows kept are decoded."""
    dataset = load_hub_split(src.hub_repo, None, split)
    where = f"hub dataset '{src.hub_repo}' split '{split}'"
    for column in (src.hub_image_column, src.hub_label_column):
        if column not in dataset.column_names:
            raise DataError(f"{where}: missing column '{column}' (has: {', '.join(dataset.column_names)})")
    n_classes = len(src.label_names) or dataset.features[src.hub_label_column].num_classes
    labels = check_class_range(dataset[src.hub_label_column], n_classes, where)
    return dataset, SplitData("image", np.arange(len(labels)), labels, np.arange(len(labels)))


def _decode_hub_rows(dataset, split: SplitData, src: ImageSource, size: int | None) -> SplitData:
    images = dataset.select(split.inputs.tolist())[src.hub_image_column]
    return SplitData("image", np.stack([to_array(im, src.mode, size) for im in images]), split.labels, split.sample_ids)


def build_from_hub(src: ImageSource, options: dict, seed: int, size: int | None = None) -> PreparedTask:
    require_pillow(src.task)  # `datasets` decodes hub images with Pillow
    train_set, train = _hub_pool(src, "train")
    test_set, test = _hub_pool(src, src.hub_test_split)
    splits = carve_splits(train, test, options, seed)
    sets = {"train": train_set, "val": train_set, "test": test_set}
    label_names = list(src.label_names) or train_set.features[src.hub_label_column].names
    return PreparedTask(
        {name: _decode_hub_rows(sets[name], split, src, size) for name, split in splits.items()},
        label_names=label_names,
        notes={"source": f"hub {src.hub_repo}", "test_source": f"hub split '{src.hub_test_split}'",
               "pixel_range": [0, 255]},
    )


def _read_idx_pair(folder: Path, prefix: str, n_classes: int) -> SplitData | None:
    image_file = find_idx(folder, f"{prefix}-images-idx3-ubyte")
    label_file = find_idx(folder, f"{prefix}-labels-idx1-ubyte")
    if image_file is None and label_file is None:
        return None
    if image_file is None or label_file is None:
        missing = f"{prefix}-{'images-idx3' if image_file is None else 'labels-idx1'}-ubyte[.gz]"
        raise DataError(f"'{folder / missing}': file not found (its partner file is there)")
    images, labels = read_idx(image_file, 3), read_idx(label_file, 1)
    if len(images) != len(labels):
        raise DataError(f"'{label_file}': {len(labels)} labels for {len(images)} images in '{image_file}'")
    labels = check_class_range(labels, n_classes, label_file)
    return SplitData("image", images, labels, np.arange(len(labels)))


def build_idx(src: ImageSource, options: dict, seed: int) -> PreparedTask:
    if options["source"] == "hub":
        return build_from_hub(src, options, seed)
    folder = local_folder(src.task, options)
    n_classes = len(src.label_names)
    train, test = _read_idx_pair(folder, "train", n_classes), _read_idx_pair(folder, "t10k", n_classes)
    if test is None:
        raise DataError(f"'{folder}': no t10k-images-idx3-ubyte[.gz] and t10k-labels-idx1-ubyte[.gz] (the test set)")
    notes = {"source": f"local IDX files in {folder}", "pixel_range": [0, 255]}
    if train is None:  # only the official test set is available: carve a test part out of it
        train, test = hold_out(test, options["test_fraction"], seed, "test")
        notes["split_note"] = (
            f"only the t10k files were found: test is a seeded {options['test_fraction']:.0%} of them, "
            "train and val come from the rest; sample ids index the t10k files"
        )
    return PreparedTask(carve_splits(train, test, options, seed), notes=notes)


def build_cifar(src: ImageSource, options: dict, seed: int) -> PreparedTask:
    if options["source"] == "hub":
        return build_from_hub(src, options, seed)
    folder = local_folder(src.task, options)
    n_classes = len(src.label_names)
    pools, files = {}, []
    for split in ("train", "test"):
        images, labels, read = read_cifar_split(folder, n_classes, split)
        labels = check_class_range(labels, n_classes, read[0])
        pools[split] = SplitData("image", images, labels, np.arange(len(labels)))
        files += [str(f) for f in read]
    splits = carve_splits(pools["train"], pools["test"], options, seed)
    return PreparedTask(splits, notes={"source": f"local CIFAR files {files}", "pixel_range": [0, 255]})


def build_imagenet(src: ImageSource, options: dict, seed: int) -> PreparedTask:
    if options["source"] == "hub":
        return build_from_hub(src, options, seed, size=options["image_size"])
    require_pillow(src.task)
    folder = local_folder(src.task, options)
    train_files, train_labels, class_names = list_image_folder(folder / "train")
    test_files, test_labels, _ = list_image_folder(folder / "val", class_names)
    train = SplitData("image", train_files, train_labels, np.arange(len(train_labels)))
    test = SplitData("image", test_files, test_labels, np.arange(len(test_labels)))
    splits = carve_splits(train, test, options, seed)
    decoded = {
        name: SplitData("image", decode_files(split.inputs, src.mode, options["image_size"]), split.labels,
                        split.sample_ids)
        for name, split in splits.items()
    }
    return PreparedTask(
        decoded,
        label_names=class_names,
        notes={"source": f"local ImageFolder {folder}", "test_source": str(folder / "val"), "pixel_range": [0, 255]},
    )


MNIST = ImageSource("mnist", tuple(str(d) for d in range(10)), "L", "ylecun/mnist", "image", "label")
FASHION = ImageSource("fashion-mnist", FASHION_LABELS, "L", "zalando-datasets/fashion_mnist", "image", "label")
CIFAR10 = ImageSource("cifar10", CIFAR10_LABELS, "RGB", "uoft-cs/cifar10", "img", "label")
CIFAR100 = ImageSource("cifar100", CIFAR100_LABELS, "RGB", "uoft-cs/cifar100", "img", "fine_label")
IMAGENET = ImageSource("imagenet", (), "RGB", "ILSVRC/imagenet-1k", "image", "label", hub_test_split="validation")

IDX_OPTIONS = {
    **source_options(),
    **split_options(),
    "test_fraction": fraction("share held out as test when the folder has only the t10k files", 0.2),
}


def _spec(src: ImageSource, build, description: str, options: dict, n_classes: int | None = None) -> TaskSpec:
    return TaskSpec(
        name=src.task,
        modality="image",
        n_classes=n_classes or len(src.label_names),
        metric="accuracy",
        description=description,
        label_names=src.label_names,
        options=options,
        build=lambda opts, seed: build(src, opts, seed),
    )


SPECS = [
    _spec(MNIST, build_idx, "MNIST handwritten digits, 28x28 grey, 10 classes", IDX_OPTIONS),
    _spec(FASHION, build_idx, "Fashion-MNIST clothing images, 28x28 grey, 10 classes", IDX_OPTIONS),
    _spec(CIFAR10, build_cifar, "CIFAR-10, 32x32 colour, 10 classes", {**source_options(), **split_options()}),
    _spec(CIFAR100, build_cifar, "CIFAR-100 (fine labels), 32x32 colour, 100 classes",
          {**source_options(), **split_options()}),
    _spec(
        IMAGENET,
        build_imagenet,
        "ImageNet-1k (or an ImageFolder subset), resized and centre-cropped, 1000 classes",
        {
            **source_options(),
            **split_options(val_fraction=0.01),
            "image_size": integer("side of the square images after resize and centre crop", default=224),
        },
        n_classes=1000,
    ),
]
