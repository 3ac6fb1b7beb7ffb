import urllib.error

from lateint import data, fetch


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


def test_without_a_network_fetch_ends_with_one_line(tmp_path, monkeypatch, capsys):
    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(fetch.urllib.request, "urlopen", offline)
    assert fetch.main([str(tmp_path)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no network" in err[0] and "built-in collection" in err[0]
