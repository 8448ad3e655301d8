"""`digits`: real scikit-learn digits, seeded stratified splits, images as uint8 0..255."""

import numpy as np

from eebench.tasks import load_info, load_split, prepare_task


def test_round_trip_sizes_and_contract(tmp_path):
    info = prepare_task("digits", {"val_fraction": 0.15}, tmp_path, seed=0)
    assert info == load_info(tmp_path)
    assert (info["modality"], info["n_classes"], info["metric"]) == ("image", 10, "accuracy")
    sizes = info["sizes"]
    assert sum(sizes.values()) == 1797
    assert sizes["test"] == round(0.3 * 1797)
    assert sizes["val"] == round(0.15 * (1797 - sizes["test"]))
    ids = []
    for split in ("train", "val", "test"):
        data = load_split(tmp_path, split)
        assert data.modality == "image"
        assert data.inputs.shape == (sizes[split], 8, 8) and data.inputs.dtype == np.uint8
        assert data.inputs.max() == 255
        assert set(np.unique(data.labels)) == set(range(10))
        assert sum(info["splits"][split]["label_distribution"].values()) == sizes[split]
        ids.extend(data.sample_ids.tolist())
    assert sorted(ids) == list(range(1797))  # a partition of the dataset


def test_pixels_are_the_rescaled_originals(tmp_path):
    from sklearn.datasets import load_digits

    prepare_task("digits", {}, tmp_path, seed=3)
    test = load_split(tmp_path, "test")
    original = load_digits().images[test.sample_ids]
    np.testing.assert_array_equal(test.inputs, np.rint(original * 255 / 16).astype(np.uint8))
    np.testing.assert_array_equal(test.labels, load_digits().target[test.sample_ids])


def test_stratified_test_split(tmp_path):
    info = prepare_task("digits", {}, tmp_path, seed=0)
    counts = np.array(list(info["splits"]["test"]["label_distribution"].values()))
    assert counts.max() - counts.min() <= 4


def test_same_seed_same_files_other_seed_other_split(tmp_path):
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        prepare_task("digits", {}, tmp_path / name, seed=seed)
    for split in ("train", "val", "test"):
        a, b, c = (load_split(tmp_path / n, split) for n in "abc")
        np.testing.assert_array_equal(a.sample_ids, b.sample_ids)
        np.testing.assert_array_equal(a.inputs, b.inputs)
        assert not np.array_equal(a.sample_ids, c.sample_ids)
    assert (tmp_path / "a" / "info.json").read_text() == (tmp_path / "b" / "info.json").read_text()
