import json

from lateint.cli import main
from lateint.data import BUILTIN_PATH


def test_evaluate_prints_one_json_line_per_method(capsys):
    assert main(["evaluate", str(BUILTIN_PATH), "--methods", "bm25,late", "--model", "minilm-zeroshot"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["method"] for r in lines] == ["bm25", "late"]
    for r in lines:
        assert r["queries"] == 16 and 0 < r["nDCG@10"] <= 1 and 0 < r["R@100"] <= 1 and r["seconds"] >= 0


def test_folder_that_is_not_beir_layout(tmp_path, capsys):
    assert main(["evaluate", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "corpus.jsonl is missing" in err


def test_missing_folder(tmp_path, capsys):
    assert main(["evaluate", str(tmp_path / "absent")]) == 2
    assert "not found" in capsys.readouterr().err


def test_unknown_method(capsys):
    import pytest

    with pytest.raises(SystemExit) as exit_info:
        main(["evaluate", str(BUILTIN_PATH), "--methods", "bm25,splade"])
    assert exit_info.value.code == 2
    assert "splade" in capsys.readouterr().err


def test_empty_query_is_reported(tmp_path, capsys):
    root = tmp_path / "c"
    (root / "qrels").mkdir(parents=True)
    (root / "corpus.jsonl").write_text('{"_id": "d1", "text": "wind tunnel"}\n')
    (root / "queries.jsonl").write_text('{"_id": "q1", "text": "   "}\n')
    (root / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\n")
    assert main(["evaluate", str(root), "--methods", "bm25"]) == 2
    assert "has no term" in capsys.readouterr().err
