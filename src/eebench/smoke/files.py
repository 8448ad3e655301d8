"""Small data files in the real layouts of the datasets that eebench reads from local folders: GLUE TSVs (with the
real headers and quirks: a UTF-8 BOM and bare quotes in MRPC, no header in CoLA, MNLI's matched and mismatched dev
files), MNIST/Fashion-MNIST IDX files, CIFAR-10/100 python batches, the sentiment-shift folder (SST-2 plus
TextFooler's `imdb.tsv`/`yelp.tsv`/`mr.tsv`) and COCO captions in the Karpathy layout. Smoke mode and the task tests write their data with these, so a
loader and the files it is tested on cannot drift apart. Labels cycle through every class, so every split holds
each class when it is large enough."""

from __future__ import annotations

import gzip
import json
import pickle
from pathlib import Path

import numpy as np

WORDS = ("the film was good bad great dull a story of love and loss with fine acting but slow pace "
         "some scenes felt long while others were short funny sad").split()
MNLI_LABELS = ("entailment", "neutral", "contradiction")
NLI2_LABELS = ("entailment", "not_entailment")
MNLI_HEADER = ("index\tpromptID\tpairID\tgenre\tsentence1_binary_parse\tsentence2_binary_parse\tsentence1_parse\t"
               "sentence2_parse\tsentence1\tsentence2\tlabel1\tgold_label\n")
STSB_HEADER = "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore\n"


def write(path: Path, text: str, bom: bool = False) -> None:
    """A text file as UTF-8 (with a BOM, as MRPC's files have one), its folders made."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode())


def sentence(index: int, seed: int = 0, words: int = 6) -> str:
    rng = np.random.default_rng([seed, index])
    return " ".join(rng.choice(WORDS, size=words)) + " ."


def mrpc_rows(n: int, seed: int = 0) -> str:
    """MRPC: BOM-less text here (`write(..., bom=True)` adds it); a bare `"` in every first sentence."""
    rows = [f"{i % 2}\t{i}\t{i + 100}\tSome \"quoted\" {sentence(i, seed)}\tAnother {sentence(i, seed + 1)}"
            for i in range(n)]
    return "Quality\t#1 ID\t#2 ID\t#1 String\t#2 String\n" + "\n".join(rows) + "\n"


def mnli_rows(n: int, genre: str, seed: int = 0) -> str:
    return MNLI_HEADER + "".join(
        f"{i}\t{i}\t{i}e\t{genre}\t( bp )\t( bp )\t(ROOT)\t(ROOT)\t{genre} premise {sentence(i, seed)}\t"
        f"hypothesis {sentence(i, seed + 1)}\t{MNLI_LABELS[i % 3]}\t{MNLI_LABELS[i % 3]}\n"
        for i in range(n)
    )


def stsb_rows(n: int, seed: int = 0) -> str:
    """STS-B: scores evenly from 0 to 5."""
    return STSB_HEADER + "".join(
        f"{i}\tmain-news\tfile\t2012\t{i}\tnone\tnone\tA man {sentence(i, seed)}\tA person {sentence(i, seed + 1)}\t"
        f"{i * 5 / max(n - 1, 1):.3f}\n"
        for i in range(n)
    )


def _simple_rows(header: str, row) -> callable:
    return lambda n, seed=0: header + "".join(row(i, seed) + "\n" for i in range(n))


# GLUE folder -> rows writer (n, seed) -> file text, in the real column layout of that task's TSVs.
GLUE_ROWS = {
    "SST-2": _simple_rows("sentence\tlabel\n", lambda i, s: f"{sentence(i, s)} it 's \"fine\"\t{i % 2}"),
    "CoLA": _simple_rows("", lambda i, s: f"gj04\t{i % 2}\t{'' if i % 2 else '*'}\t{sentence(i, s)}"),
    "MNLI": lambda n, seed=0: mnli_rows(n, "fiction", seed),
    "QNLI": _simple_rows("index\tquestion\tsentence\tlabel\n",
                         lambda i, s: f"{i}\twhat is {i} ?\t{sentence(i, s)}\t{NLI2_LABELS[i % 2]}"),
    "RTE": _simple_rows("index\tsentence1\tsentence2\tlabel\n",
                        lambda i, s: f"{i}\t{sentence(i, s)}\t{sentence(i, s + 1)}\t{NLI2_LABELS[i % 2]}"),
    "MRPC": mrpc_rows,
    "QQP": _simple_rows("id\tqid1\tqid2\tquestion1\tquestion2\tis_duplicate\n",
                        lambda i, s: f"{i}\t{2 * i}\t{2 * i + 1}\t{sentence(i, s)} ?\t{sentence(i, s + 1)} ?\t{i % 2}"),
    "STS-B": stsb_rows,
}


def write_glue(root: Path, folder: str, n_train: int, n_dev: int, seed: int = 0) -> None:
    """`root/FOLDER/train.tsv` and its dev file(s) (MNLI: `dev_matched.tsv` and `dev_mismatched.tsv`)."""
    rows, bom = GLUE_ROWS[folder], folder == "MRPC"
    write(root / folder / "train.tsv", rows(n_train, seed), bom)
    if folder == "MNLI":
        write(root / folder / "dev_matched.tsv", mnli_rows(n_dev, "fiction", seed + 7))
        write(root / folder / "dev_mismatched.tsv", mnli_rows(n_dev, "letters", seed + 8))
    else:
        write(root / folder / "dev.tsv", rows(n_dev, seed + 7), bom)


def write_review_tsv(path: Path, n: int, seed: int = 0) -> None:
    """TextFooler's review samples (`imdb.tsv`, `yelp.tsv`, `mr.tsv`): header `label<TAB>text`."""
    write(path, "label\ttext\n" + "".join(f"{i % 2}\t{sentence(i, seed, words=12)}\n" for i in range(n)))


def idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_idx(folder: Path, prefix: str, images: np.ndarray, labels: np.ndarray, compress: bool) -> None:
    """MNIST's IDX pair `{prefix}-images-idx3-ubyte` and `{prefix}-labels-idx1-ubyte`, gzipped or not."""
    folder.mkdir(parents=True, exist_ok=True)
    for kind, array in (("images-idx3", images), ("labels-idx1", labels)):
        data = idx_bytes(array)
        name = f"{prefix}-{kind}-ubyte"
        if compress:
            (folder / f"{name}.gz").write_bytes(gzip.compress(data))
        else:
            (folder / name).write_bytes(data)


def fake_images(n: int, shape: tuple[int, ...], seed: int = 0, n_classes: int = 10) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(n, *shape), dtype=np.uint8), np.arange(n) % n_classes


def cifar_batch(n: int, seed: int, label_key: bytes = b"labels", n_classes: int = 10) -> dict:
    """One CIFAR python batch (the dict the official pickles hold); labels cycle through the classes."""
    rng = np.random.default_rng(seed)
    return {
        b"batch_label": b"training batch",
        label_key: [int(v) for v in (np.arange(n) + seed) % n_classes],
        b"data": rng.integers(0, 256, size=(n, 3072), dtype=np.uint8),
        b"filenames": [b"x.png"] * n,
    }


def cifar_pickle(batch: dict) -> bytes:
    """As the official files: protocol-2 pickles written with NumPy 1 (module `numpy.core.multiarray`)."""
    return pickle.dumps(batch, protocol=2).replace(b"cnumpy._core.multiarray\n", b"cnumpy.core.multiarray\n")


def write_cifar(root: Path, n_classes: int, n_train: int, n_test: int, seed: int = 0) -> None:
    """The python version's folder under `root`: `cifar-10-batches-py` (five train batches and `test_batch`) or
    `cifar-100-python` (`train` and `test`, fine and coarse labels)."""
    if n_classes == 10:
        folder = root / "cifar-10-batches-py"
        per_batch = -(-n_train // 5)
        batches = {f"data_batch_{i}": cifar_batch(per_batch, seed + i) for i in range(1, 6)}
        batches["test_batch"] = cifar_batch(n_test, seed + 9)
    else:
        folder = root / "cifar-100-python"
        batches = {}
        for name, n, offset in (("train", n_train, 0), ("test", n_test, 9)):
            batch = cifar_batch(n, seed + offset, label_key=b"fine_labels", n_classes=100)
            batch[b"coarse_labels"] = [label // 5 for label in batch[b"fine_labels"]]
            batches[name] = batch
    folder.mkdir(parents=True, exist_ok=True)
    for name, batch in batches.items():
        (folder / name).write_bytes(cifar_pickle(batch))


CAPTION_WORDS = {"who": ("a man", "a woman", "two dogs", "a cat", "three birds", "a child"),
                 "does": ("sitting on", "standing near", "walking along", "looking at", "playing with"),
                 "what": ("a bench", "the beach", "a red car", "a wooden table", "the street", "a ball")}


def coco_caption(index: int, reference: int) -> str:
    """A COCO-like caption (capitalised, a final full stop, as COCO's raw sentences often are)."""
    who, does, what = (words[(index * (k + 2) + reference) % len(words)]
                       for k, words in enumerate(CAPTION_WORDS.values()))
    return f"{who} {does} {what} .".capitalize()


def write_coco_karpathy(root: Path, sizes: dict[str, int], image_size: int = 24, references: int = 5,
                        seed: int = 0) -> None:
    """COCO 2014 in the Karpathy layout: `dataset_coco.json` ({"images": [{filepath, filename, imgid, split, cocoid,
    sentids, sentences: [{raw, tokens, imgid, sentid}]}], "dataset": "coco"}) with small random JPEGs in
    `train2014/` and `val2014/`. `sizes` maps a Karpathy split (train, restval, val, test) to its image count;
    train images come from train2014, the others from val2014 as in the release."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    entries, sentence_id = [], 0
    for split, count in sizes.items():
        folder = "train2014" if split == "train" else "val2014"
        (root / folder).mkdir(parents=True, exist_ok=True)
        for _ in range(count):
            index = len(entries)
            cocoid = 100_000 + index
            name = f"COCO_{folder}_{cocoid:012d}.jpg"
            pixels = rng.integers(0, 256, size=(image_size, image_size, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / folder / name, quality=90)
            sentences = []
            for reference in range(references):
                raw = coco_caption(index, reference)
                sentences.append({"raw": raw, "tokens": raw.lower().rstrip(" .").split(), "imgid": index,
                                  "sentid": sentence_id})
                sentence_id += 1
            entries.append({"filepath": folder, "filename": name, "imgid": index, "split": split, "cocoid": cocoid,
                            "sentids": [s["sentid"] for s in sentences], "sentences": sentences})
    write(root / "dataset_coco.json", json.dumps({"images": entries, "dataset": "coco"}))
