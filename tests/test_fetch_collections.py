import importlib.util
from pathlib import Path

from lateint import data

spec = importlib.util.spec_from_file_location(
    "fetch", Path(__file__).parents[1] / "tools" / "fetch_collections.py"
)
fetch = importlib.util.module_from_spec(spec)
spec.loader.exec_module(fetch)


def test_cranfield_conversion_writes_a_loadable_beir_folder(tmp_path):
    docs = [
        ("1", "wing flutter", "flutter of thin wings"),
        ("2", "", ""),
        ("3", "boundary layer", "laminar flow"),
    ]
    queries = [("1", "what causes flutter"), ("2", "laminar boundary layers")]
    qrels = [("1", "1", 1), ("1", "3", -1), ("2", "3", 4)]
    fetch.write_beir(tmp_path / "cranfield", docs, queries, qrels)
    collection = data.load(tmp_path / "cranfield")
    assert collection.doc_ids == ["1", "3"]  # the empty document is dropped
    assert collection.qrels == {"1": {"1": 4}, "2": {"3": 1}}  # gain 5 - code; code -1 dropped
