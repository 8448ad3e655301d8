"""Image tasks: real MNIST t10k from the shared data; IDX, CIFAR (python pickle and binary) and ImageFolder files
written here in the real layouts; the hub path on an in-memory `datasets.Dataset`; bad files."""

import pickle

import numpy as np
import pytest

from eebench.errors import DataError
from eebench.smoke.files import cifar_batch, cifar_pickle, fake_images, write_idx
from eebench.tasks import images, load_split, prepare_task


def local(path, **extra):
    return {"source": "local", "path": str(path), **extra}


@pytest.mark.realdata
def test_real_mnist_t10k_only_is_split(shared_data, tmp_path):
    info = prepare_task("mnist", local(shared_data / "mnist_test10k"), tmp_path, seed=0)
    assert info["sizes"] == {"train": 7200, "val": 800, "test": 2000}
    assert "only the t10k files" in info["split_note"]
    test = load_split(tmp_path, "test")
    assert test.inputs.shape == (2000, 28, 28) and test.inputs.dtype == np.uint8
    counts = np.bincount(test.labels, minlength=10)
    official = np.array([980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009])
    np.testing.assert_allclose(counts, official * 0.2, atol=1)  # stratified
    ids = np.concatenate([load_split(tmp_path, s).sample_ids for s in ("train", "val", "test")])
    assert sorted(ids.tolist()) == list(range(10000))


def test_fashion_mnist_train_and_test_idx_files(tmp_path):
    train_x, train_y = fake_images(100, (28, 28))
    test_x, test_y = fake_images(30, (28, 28), seed=1)
    write_idx(tmp_path, "train", train_x, train_y, compress=True)
    write_idx(tmp_path, "t10k", test_x, test_y, compress=False)
    info = prepare_task("fashion-mnist", local(tmp_path, val_fraction=0.2), tmp_path / "out", seed=0)
    assert info["sizes"] == {"train": 80, "val": 20, "test": 30} and "split_note" not in info
    assert info["label_names"][0] == "T-shirt/top"
    test = load_split(tmp_path / "out", "test")
    np.testing.assert_array_equal(test.inputs, test_x)
    np.testing.assert_array_equal(test.labels, test_y)
    val = load_split(tmp_path / "out", "val")
    np.testing.assert_array_equal(val.inputs, train_x[val.sample_ids])


@pytest.mark.parametrize(
    "corrupt, message",
    [
        (lambda b: b[:-5], r"t10k-images-idx3-ubyte': header says shape \(30, 28, 28\)"),
        (lambda b: b"\x00\x00\x0d\x03" + b[4:], r"t10k-images-idx3-ubyte': not a uint8 IDX file"),
    ],
)
def test_bad_idx_files_name_the_file(tmp_path, corrupt, message):
    test_x, test_y = fake_images(30, (28, 28))
    write_idx(tmp_path, "t10k", test_x, test_y, compress=False)
    path = tmp_path / "t10k-images-idx3-ubyte"
    path.write_bytes(corrupt(path.read_bytes()))
    with pytest.raises(DataError, match=message):
        prepare_task("mnist", local(tmp_path), tmp_path / "out", seed=0)


def test_idx_label_problems(tmp_path):
    test_x, _ = fake_images(30, (28, 28))
    write_idx(tmp_path, "t10k", test_x, np.arange(29) % 10, compress=False)
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte': 29 labels for 30 images"):
        prepare_task("mnist", local(tmp_path), tmp_path / "out", seed=0)
    write_idx(tmp_path, "t10k", test_x, np.full(30, 12), compress=False)
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte', field 'label': sample 0 has label 12 \(allowed: 0..9\)"):
        prepare_task("mnist", local(tmp_path), tmp_path / "out", seed=0)
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte\\[.gz\\]': file not found"):
        prepare_task("mnist", local(tmp_path), tmp_path / "out", seed=0)


def test_cifar10_python_batches(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"  # `path` may be the folder that contains the archive folder
    folder.mkdir()
    batches = {f"data_batch_{i}": cifar_batch(10, i) for i in range(1, 6)} | {"test_batch": cifar_batch(8, 9)}
    for name, batch in batches.items():
        (folder / name).write_bytes(cifar_pickle(batch))
    info = prepare_task("cifar10", local(tmp_path), tmp_path / "out", seed=0)
    assert info["sizes"] == {"train": 45, "val": 5, "test": 8} and info["label_names"][0] == "airplane"
    test = load_split(tmp_path / "out", "test")
    assert test.inputs.shape == (8, 32, 32, 3)
    first = batches["test_batch"][b"data"][0]
    np.testing.assert_array_equal(test.inputs[0, :, :, 0].ravel(), first[:1024])  # red plane first
    np.testing.assert_array_equal(test.inputs[0, :, :, 2].ravel(), first[2048:])
    assert test.labels.tolist() == batches["test_batch"][b"labels"]


class Evil:
    def __reduce__(self):
        return (print, ("pwned",))


def test_cifar_pickle_with_foreign_code_is_refused(tmp_path, capsys):
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        (tmp_path / name).write_bytes(pickle.dumps({b"data": Evil(), b"labels": []}, protocol=2))
    with pytest.raises(DataError, match="data_batch_1': not a CIFAR python batch.*refusing to load .*print"):
        prepare_task("cifar10", local(tmp_path), tmp_path / "out", seed=0)
    assert "pwned" not in capsys.readouterr().out


def test_cifar100_binary_version(tmp_path):
    folder = tmp_path / "cifar-100-binary"
    folder.mkdir()
    rng = np.random.default_rng(0)
    records = {}
    for name, n in (("train", 40), ("test", 10)):
        coarse, fine = rng.integers(0, 20, n), rng.integers(0, 100, n)
        pixels = rng.integers(0, 256, size=(n, 3072))
        records[name] = (fine, pixels)
        np.column_stack([coarse, fine, pixels]).astype(np.uint8).tofile(folder / f"{name}.bin")
    info = prepare_task("cifar100", local(folder, val_fraction=0.25), tmp_path / "out", seed=0)
    assert info["n_classes"] == 100 and info["sizes"] == {"train": 30, "val": 10, "test": 10}
    test = load_split(tmp_path / "out", "test")
    assert test.labels.tolist() == records["test"][0].tolist()  # the fine label, not the coarse one
    (folder / "test.bin").write_bytes(b"\x00" * 100)
    with pytest.raises(DataError, match="test.bin': size 100 bytes is not a multiple of the 3074-byte"):
        prepare_task("cifar100", local(folder), tmp_path / "out2", seed=0)


def test_missing_cifar_files(tmp_path):
    with pytest.raises(DataError, match="CIFAR-10 train files not found.*data_batch_1"):
        prepare_task("cifar10", local(tmp_path), tmp_path / "out", seed=0)


def write_image_folder(root, classes, per_class, size=(40, 30)):
    from PIL import Image

    rng = np.random.default_rng(0)
    for name in classes:
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            pixels = rng.integers(0, 256, size=(size[1], size[0], 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / name / f"img{i}.png")


def test_imagenet_from_an_image_folder(tmp_path):
    pytest.importorskip("PIL")
    write_image_folder(tmp_path / "train", ["n01440764", "n02102040", "n02979186"], per_class=5)
    write_image_folder(tmp_path / "val", ["n01440764", "n02979186"], per_class=2, size=(20, 50))
    info = prepare_task("imagenet", local(tmp_path, image_size=16, val_fraction=0.2), tmp_path / "out", seed=0)
    assert info["n_classes"] == 3 and info["label_names"] == ["n01440764", "n02102040", "n02979186"]
    assert info["sizes"] == {"train": 12, "val": 3, "test": 4}
    test = load_split(tmp_path / "out", "test")
    assert test.inputs.shape == (4, 16, 16, 3) and test.labels.tolist() == [0, 0, 2, 2]


def test_image_folder_problems(tmp_path):
    pytest.importorskip("PIL")
    write_image_folder(tmp_path / "train", ["cat", "dog"], per_class=2)
    write_image_folder(tmp_path / "val", ["cow"], per_class=1)
    with pytest.raises(DataError, match="val/cow': class 'cow' is not among the training classes"):
        prepare_task("imagenet", local(tmp_path), tmp_path / "out", seed=0)
    (tmp_path / "val/cow/img0.png").unlink()
    (tmp_path / "val/cow").rmdir()
    (tmp_path / "val/dog").mkdir()
    (tmp_path / "val/dog/broken.png").write_bytes(b"not a png")
    with pytest.raises(DataError, match="val/dog/broken.png': not a readable image"):
        prepare_task("imagenet", local(tmp_path, image_size=8), tmp_path / "out", seed=0)


def test_hub_images_are_decoded_only_for_kept_rows(tmp_path, monkeypatch):
    datasets = pytest.importorskip("datasets")
    pytest.importorskip("PIL")
    from PIL import Image

    def fake_hub(repo, config, split):
        assert repo == "uoft-cs/cifar10"
        n = 20 if split == "train" else 6
        pictures = [Image.fromarray(np.full((32, 32, 3), i, np.uint8)) for i in range(n)]
        return datasets.Dataset.from_dict({"img": pictures, "label": [i % 10 for i in range(n)]})

    monkeypatch.setattr(images, "load_hub_split", fake_hub)
    info = prepare_task("cifar10", {"source": "hub", "max_train": 8}, tmp_path, seed=0)
    assert info["sizes"] == {"train": 8, "val": 2, "test": 6}
    train = load_split(tmp_path, "train")
    assert train.inputs.shape == (8, 32, 32, 3)
    np.testing.assert_array_equal(train.inputs[:, 0, 0, 0], train.sample_ids)  # pixel value = hub row
