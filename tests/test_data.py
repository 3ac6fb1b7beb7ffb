import json

import pytest

from lateint import data
from lateint.data import DataError


def write_collection(root, corpus=None, queries=None, qrels="query-id\tcorpus-id\tscore\nq1\td1\t1\n"):
    root.mkdir(parents=True, exist_ok=True)
    (root / "qrels").mkdir(exist_ok=True)
    corpus = (
        corpus
        if corpus is not None
        else [{"_id": "d1", "title": "T", "text": "one"}, {"_id": "d2", "title": "", "text": "two"}]
    )
    queries = queries if queries is not None else [{"_id": "q1", "text": "one?"}]
    (root / "corpus.jsonl").write_text("".join(json.dumps(r) + "\n" for r in corpus))
    (root / "queries.jsonl").write_text("".join(json.dumps(r) + "\n" for r in queries))
    (root / "qrels" / "test.tsv").write_text(qrels)
    return root


def test_builtin_collection_is_consistent(builtin):
    assert builtin.is_builtin and len(builtin.doc_ids) == 36 and len(builtin.query_ids) == 16
    assert all(d in builtin.doc_ids for judged in builtin.qrels.values() for d in judged)


def test_loads_a_folder(tmp_path):
    c = data.load(write_collection(tmp_path / "mine"))
    assert c.name == "mine" and c.doc_texts == ["T one", "two"] and c.qrels == {"q1": {"d1": 1}}


def test_missing_folder_names_the_path(tmp_path):
    with pytest.raises(DataError, match="not found"):
        data.load(tmp_path / "nowhere")


def test_unknown_name_names_the_data_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("LATEINT_DATA", str(tmp_path))
    with pytest.raises(DataError, match="no collection 'msmarco'"):
        data.load("msmarco")


def test_not_beir_layout(tmp_path):
    (tmp_path / "x").mkdir()
    with pytest.raises(DataError, match="corpus.jsonl is missing"):
        data.load(tmp_path / "x")


def test_missing_split_lists_the_ones_present(tmp_path):
    root = write_collection(tmp_path / "c")
    with pytest.raises(DataError, match=r"splits found: \['test'\]"):
        data.load(root, split="dev")


@pytest.mark.parametrize(
    "qrels, message",
    [
        ("query-id\tcorpus-id\tscore\nq1 d1 1\n", "expected 3 tab-separated fields"),
        ("query-id\tcorpus-id\tscore\nq1\td1\thigh\n", "is not an integer"),
        ("query-id\tcorpus-id\tscore\nq9\td1\t1\n", "judges queries"),
        ("query-id\tcorpus-id\tscore\nq1\td9\t1\n", "judges documents"),
        ("query-id\tcorpus-id\tscore\nq1\td1\t0\n", "no positive judgment"),
        ("", "is empty"),
    ],
)
def test_malformed_qrels(tmp_path, qrels, message):
    with pytest.raises(DataError, match=message):
        data.load(write_collection(tmp_path / "c", qrels=qrels))


def test_malformed_json_line(tmp_path):
    root = write_collection(tmp_path / "c")
    (root / "corpus.jsonl").write_text('{"_id": "d1", "text": "ok"}\n{broken\n')
    with pytest.raises(DataError, match="line 2: not valid JSON"):
        data.load(root)


def test_empty_documents_are_dropped_loudly(tmp_path):
    root = write_collection(
        tmp_path / "c", corpus=[{"_id": "d1", "text": "one"}, {"_id": "d2", "title": " ", "text": ""}]
    )
    with pytest.warns(UserWarning, match="1 empty document"):
        c = data.load(root)
    assert c.doc_ids == ["d1"] and c.empty_doc_ids == ["d2"]


def test_subset_keeps_relevant_documents(builtin):
    small = builtin.subset(n_queries=4, n_docs=10, seed=1)
    assert len(small.query_ids) == 4 and len(small.doc_ids) == 10
    assert all(d in small.doc_ids for q in small.query_ids for d in small.qrels[q])
    assert small.subset(4, 10, seed=1).query_ids == small.query_ids


def test_fingerprint_changes_with_text(builtin):
    other = data.Collection(**{**builtin.__dict__, "doc_texts": builtin.doc_texts[:-1] + ["changed"]})
    assert other.fingerprint() != builtin.fingerprint()


def test_halves_split_the_queries_in_two_and_keep_every_document(builtin):
    dev, test = builtin.halves(seed=3)
    assert set(dev.query_ids).isdisjoint(test.query_ids)
    assert sorted(dev.query_ids + test.query_ids) == sorted(builtin.query_ids)
    assert len(dev.query_ids) == len(builtin.query_ids) // 2
    assert dev.doc_ids == builtin.doc_ids and set(dev.qrels) == set(dev.query_ids)
    for q, text in zip(test.query_ids, test.query_texts):
        assert builtin.query_texts[builtin.query_ids.index(q)] == text
    assert builtin.halves(seed=3)[0].query_ids == dev.query_ids
    assert builtin.halves(seed=4)[0].query_ids != dev.query_ids


def test_with_queries_refuses_unknown_ids(builtin):
    with pytest.raises(data.DataError, match="not judged"):
        builtin.with_queries(["no-such-query"])
