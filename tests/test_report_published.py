"""Published claims as data: the shipped file loads, every row carries its source, bad files are clear errors."""

import shutil

import pytest

from eebench.errors import DataError
from eebench.report.published import KINDS, load_published, published_path

HEADER = "paper,source,kind,backbone,task,split,method,metric,value,speedup,note\n"


def test_shipped_claims_all_have_a_resolved_source():
    claims = load_published()
    assert len(claims) == 51 and "same" not in set(claims["source"]) and (claims["source"] != "").all()
    assert set(claims["kind"]) <= set(KINDS)
    pabee = claims[(claims["paper"].str.startswith("PABEE")) & (claims["task"] == "rte") & (claims["method"] == "patience")]
    assert pabee["source"].iloc[0].startswith("huggingface/transformers examples/research_projects/bert-loses-patience")
    assert pabee["value"].iloc[0] == "80.1" and pabee["speedup"].iloc[0] == "1.57"
    branchy = claims[claims["paper"].str.startswith("BranchyNet") & (claims["backbone"] == "b-lenet")].iloc[0]
    assert branchy["source"].startswith("kunglab/branchynet ICPR16_1347_FI.pdf @ b93ef95b")
    assert (branchy["method"], branchy["value"], branchy["speedup"]) == ("entropy", "99.25", "5.4")
    ceiling = claims[claims["backbone"] == "minilm-l6-h384"].set_index("task")["value"]
    assert ceiling.to_dict() == {"sst2": "91.5", "cola": "47.5", "rte": "68.8"}  # microsoft/unilm's MiniLM README
    readme = (published_path().parent / "README.md").read_text()
    assert "What is known about each source" in readme


def test_shipped_caption_claims_name_their_abstracts():
    claims = load_published()
    captions = claims[claims["task"] == "coco-captions"]
    assert len(captions) == 3 and set(captions["kind"]) == {"claim"}
    beem = captions[captions["paper"].str.startswith("BEEM")]
    assert set(beem["source"]) == {"arXiv 2502.00745 abstract (https://arxiv.org/abs/2502.00745)"}
    assert set(beem["metric"]) == {"speedup vs final layer", "comparable to final layer"}
    assert (beem["value"] == "").all()  # the abstract prints no COCO number; none is invented
    capeen = captions[captions["paper"].str.startswith("CapEEN")].iloc[0]
    assert capeen["source"].startswith("arXiv 2410.04433 abstract") and capeen["speedup"] == "1.77"
    readme = (published_path().parent / "README.md").read_text()
    assert "Div290/CapEEN" in readme and "no COCO figure is included" in readme


def test_same_is_resolved_to_the_row_above(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text(HEADER + "A,Table 1,figure,b,sst2,dev,final,accuracy,90,,\nA,same,figure,b,rte,dev,final,accuracy,70,,\n"
                    "B,abstract,claim,b,glue,dev,beem,speedup,,1.5,\nB,same,claim,b,glue,dev,beem,x,,,\n")
    assert list(load_published(path)["source"]) == ["Table 1", "Table 1", "abstract", "abstract"]


@pytest.mark.parametrize(
    "rows, message",
    [
        ("A,same,figure,b,t,s,m,accuracy,1,,\n", r"line 2, column 'source': 'same' on the first row"),
        ("A,,figure,b,t,s,m,accuracy,1,,\n", r"line 2, column 'source': empty"),
        ("A,T1,rumour,b,t,s,m,accuracy,1,,\n", r"line 2, column 'kind': got 'rumour' \(allowed: figure, claim, replication\)"),
    ],
)
def test_bad_rows_name_file_line_and_column(tmp_path, rows, message):
    path = tmp_path / "p.csv"
    path.write_text(HEADER + rows)
    with pytest.raises(DataError, match=message):
        load_published(path)


def test_missing_column_is_named(tmp_path):
    path = tmp_path / "p.csv"
    shutil.copy(published_path(), path)
    path.write_text(path.read_text().replace(",note\n", "\n", 1))
    with pytest.raises(DataError, match="missing column 'note'"):
        load_published(path)
