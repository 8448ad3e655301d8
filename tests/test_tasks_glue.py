"""GLUE loaders: real SST-2 / CoLA / RTE from the shared data, the other tasks from small files in the real
GLUE layout (with the real quirks), the hub path on an in-memory `datasets.Dataset`, and bad data."""

import numpy as np
import pytest

from eebench.errors import ConfigError, DataError
from eebench.smoke.files import MNLI_LABELS, mnli_rows, mrpc_rows, sentence, stsb_rows, write
from eebench.tasks import glue, load_info, load_split, prepare_task

GLUE_SIZES = {"SST-2": (67349, 872), "CoLA": (8551, 1043), "RTE": (2490, 277)}


def local(path, **extra):
    return {"source": "local", "path": str(path), **extra}


@pytest.mark.realdata
@pytest.mark.parametrize("task, folder", [("sst2", "SST-2"), ("cola", "CoLA"), ("rte", "RTE")])
def test_real_glue_files(shared_data, tmp_path, task, folder):
    info = prepare_task(task, local(shared_data / "glue", val_fraction=0.1), tmp_path, seed=0)
    n_train, n_dev = GLUE_SIZES[folder]
    assert info["sizes"]["test"] == n_dev  # GLUE dev is the test split
    assert info["sizes"]["train"] + info["sizes"]["val"] == n_train
    assert info["sizes"]["val"] == round(0.1 * n_train)
    assert info["skipped_rows"] == {"train.tsv": 0, "dev.tsv": 0}
    test = load_split(tmp_path, "test")
    assert set(np.unique(test.labels)) == {0, 1}
    assert info["splits"]["test"]["mean_tokens"] > 3
    if task == "rte":
        assert test.modality == "text-pair" and test.inputs[0][1] == "Christopher Reeve had an accident."
        assert test.labels[0] == 1  # not_entailment
    if task == "cola":  # no header: the first line is a sample
        assert test.inputs[0] == "The sailors rode the breeze clear of the rocks." and test.sample_ids[0] == 1
    if task == "sst2":
        assert test.inputs[0] == "it 's a charming and often affecting journey ."


@pytest.mark.realdata
def test_real_sst2_caps_are_seeded_and_stratified(shared_data, tmp_path):
    options = local(shared_data / "glue", max_train=500, max_val=100, max_test=200)
    info = prepare_task("sst2", options, tmp_path / "a", seed=1)
    prepare_task("sst2", options, tmp_path / "b", seed=1)
    assert info["sizes"] == {"train": 500, "val": 100, "test": 200}
    for split in ("train", "val", "test"):
        assert (tmp_path / "a" / f"{split}.jsonl").read_bytes() == (tmp_path / "b" / f"{split}.jsonl").read_bytes()
    positive = info["splits"]["train"]["label_distribution"]["positive"]
    assert abs(positive / 500 - 0.558) < 0.01  # SST-2 train's share of positives


def test_mrpc_with_bom_and_bare_quotes(tmp_path):
    write(tmp_path / "glue/MRPC/train.tsv", mrpc_rows(20), bom=True)
    write(tmp_path / "glue/MRPC/dev.tsv", mrpc_rows(6), bom=True)
    info = prepare_task("mrpc", local(tmp_path / "glue", val_fraction=0.25), tmp_path / "out", seed=0)
    assert (info["metric"], info["label_names"]) == ("f1", ["not_equivalent", "equivalent"])
    assert info["sizes"] == {"train": 15, "val": 5, "test": 6}
    test = load_split(tmp_path / "out", "test")
    assert test.inputs[1] == (f'Some "quoted" {sentence(1)}', f"Another {sentence(1, seed=1)}")
    assert test.labels.tolist() == [0, 1, 0, 1, 0, 1]


NLI = MNLI_LABELS


def test_mnli_matched_and_mismatched_dev_files(tmp_path):
    write(tmp_path / "MNLI/train.tsv", mnli_rows(30, "fiction"))
    write(tmp_path / "MNLI/dev_matched.tsv", mnli_rows(9, "fiction"))
    write(tmp_path / "MNLI/dev_mismatched.tsv", mnli_rows(6, "letters"))
    matched = prepare_task("mnli", local(tmp_path), tmp_path / "m", seed=0)
    mismatched = prepare_task("mnli-mm", local(tmp_path), tmp_path / "mm", seed=0)
    assert matched["sizes"]["test"] == 9 and mismatched["sizes"]["test"] == 6
    assert matched["n_classes"] == 3 and matched["label_names"] == list(NLI)
    assert load_split(tmp_path / "mm", "test").inputs[0] == (f"letters premise {sentence(0)}", f"hypothesis {sentence(0, seed=1)}")
    assert load_split(tmp_path / "m", "test").labels.tolist() == [0, 1, 2] * 3
    # same seed and options: the two tasks share train and val
    assert (tmp_path / "m/train.jsonl").read_bytes() == (tmp_path / "mm/train.jsonl").read_bytes()


def test_qqp_tolerates_a_few_malformed_rows(tmp_path):
    rows = [f"{i}\t{2 * i}\t{2 * i + 1}\tquestion {i} ?\tother question {i} ?\t{i % 2}" for i in range(200)]
    rows[50] = "50\t100\t101\tquestion cut short"  # real QQP has a handful of such rows
    header = "id\tqid1\tqid2\tquestion1\tquestion2\tis_duplicate\n"
    write(tmp_path / "QQP/train.tsv", header + "\n".join(rows) + "\n")
    write(tmp_path / "QQP/dev.tsv", header + "\n".join(rows[:10]) + "\n")
    info = prepare_task("qqp", local(tmp_path), tmp_path / "out", seed=0)
    assert info["skipped_rows"] == {"train.tsv": 1, "dev.tsv": 0}
    assert info["sizes"]["train"] + info["sizes"]["val"] == 199


def test_qnli_string_labels(tmp_path):
    header = "index\tquestion\tsentence\tlabel\n"
    rows = "".join(f"{i}\twhat is {i} ?\t{i} is a number .\t{('entailment', 'not_entailment')[i % 2]}\n" for i in range(20))
    write(tmp_path / "QNLI/train.tsv", header + rows)
    write(tmp_path / "QNLI/dev.tsv", header + rows)
    prepare_task("qnli", local(tmp_path), tmp_path / "out", seed=0)
    test = load_split(tmp_path / "out", "test")
    assert test.inputs[3] == ("what is 3 ?", "3 is a number .") and test.labels[3] == 1


def test_stsb_is_regression_with_float_labels(tmp_path):
    write(tmp_path / "STS-B/train.tsv", stsb_rows(30))
    write(tmp_path / "STS-B/dev.tsv", stsb_rows(11))
    info = prepare_task("stsb", local(tmp_path), tmp_path / "out", seed=0)
    assert (info["n_classes"], info["metric"]) == (1, "pearson-spearman")
    assert "label_mean" in info["splits"]["test"]
    test = load_split(tmp_path / "out", "test")
    assert test.labels.dtype == np.float32
    np.testing.assert_allclose(test.labels, np.arange(11) * 0.5, atol=1e-3)


def test_hub_source_maps_columns_and_splits(tmp_path, monkeypatch):
    datasets = pytest.importorskip("datasets")
    calls = []

    def fake_hub(repo, config, split):
        calls.append((repo, config, split))
        n = 40 if split == "train" else 12
        return datasets.Dataset.from_dict(
            {"premise": [f"p{i}" for i in range(n)], "hypothesis": [f"h{i}" for i in range(n)],
             "label": [i % 3 for i in range(n)], "idx": list(range(n))}
        )

    monkeypatch.setattr(glue, "load_hub_split", fake_hub)
    info = prepare_task("mnli-mm", {"source": "hub", "val_fraction": 0.25}, tmp_path, seed=0)
    assert calls == [("nyu-mll/glue", "mnli", "train"), ("nyu-mll/glue", "mnli", "validation_mismatched")]
    assert info["sizes"] == {"train": 30, "val": 10, "test": 12}
    assert load_split(tmp_path, "test").inputs[5] == ("p5", "h5")


def test_hub_labels_out_of_range(tmp_path, monkeypatch):
    datasets = pytest.importorskip("datasets")
    monkeypatch.setattr(
        glue, "load_hub_split",
        lambda repo, config, split: datasets.Dataset.from_dict({"sentence": ["a", "b"], "label": [0, -1]}),
    )
    with pytest.raises(DataError, match="nyu-mll/glue.*sst2.*label -1.*allowed: 0..1"):
        prepare_task("sst2", {"source": "hub"}, tmp_path, seed=0)


def test_local_source_needs_path(tmp_path):
    with pytest.raises(ConfigError, match="task 'sst2', option 'path': required with source 'local'"):
        prepare_task("sst2", {"source": "local"}, tmp_path, seed=0)


SST2_OK = "sentence\tlabel\ngood film\t1\nbad film\t0\nfine film\t1\ndull film\t0\n"


@pytest.mark.parametrize(
    "train_text, message",
    [
        (None, r"SST-2/train.tsv': file not found"),
        ("", r"SST-2/train.tsv': empty file"),
        ("sentence\tlabel\n", r"SST-2/train.tsv': no data rows"),
        ("text\tpolarity\ngood\t1\n", r"SST-2/train.tsv': missing column 'sentence' \(header has: text, polarity\)"),
        ("sentence\tlabel\ngood film\t1\nbad film\t2\n", r"SST-2/train.tsv', line 3, field 'label': got '2' \(allowed: 0, 1\)"),
        ("sentence\tlabel\n" + "just text\n" * 5, r"SST-2/train.tsv': 5 of 5 rows have fewer than 2"),
    ],
)
def test_bad_glue_files_name_the_file(tmp_path, train_text, message):
    write(tmp_path / "SST-2/dev.tsv", SST2_OK)
    if train_text is not None:
        write(tmp_path / "SST-2/train.tsv", train_text)
    with pytest.raises(DataError, match=message):
        prepare_task("sst2", local(tmp_path), tmp_path / "out", seed=0)
    assert not (tmp_path / "out").exists()


def test_bad_stsb_score_and_nli_label(tmp_path):
    write(tmp_path / "STS-B/train.tsv", stsb_rows(5).replace("\t5.000\n", "\t7.5\n"))
    write(tmp_path / "STS-B/dev.tsv", stsb_rows(5))
    with pytest.raises(DataError, match=r"STS-B/train.tsv', line 6, field 'label': got '7.5' \(allowed: a number in \[0.0, 5.0\]\)"):
        prepare_task("stsb", local(tmp_path), tmp_path / "out", seed=0)
    write(tmp_path / "RTE/train.tsv", "index\tsentence1\tsentence2\tlabel\n0\ta\tb\tmaybe\n")
    with pytest.raises(DataError, match="RTE/train.tsv', line 2.*'maybe'.*entailment, not_entailment"):
        prepare_task("rte", local(tmp_path), tmp_path / "out", seed=0)


def test_glue_info_reports_sizes_and_token_lengths(tmp_path):
    write(tmp_path / "SST-2/train.tsv", SST2_OK * 1 + "".join(f"word {i} here\t{i % 2}\n" for i in range(16)))
    write(tmp_path / "SST-2/dev.tsv", SST2_OK)
    prepare_task("sst2", local(tmp_path), tmp_path / "out", seed=0)
    info = load_info(tmp_path / "out")
    assert info["splits"]["test"] == {
        "size": 4, "label_distribution": {"negative": 2, "positive": 2}, "mean_tokens": 2.0,
    }
