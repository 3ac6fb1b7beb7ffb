import json

import numpy as np
import torch

from lateint import cache
from lateint.vectors import TokenVectors, offsets_from_lengths, pad, segment_ids, unpad


def test_pad_and_unpad_round_trip():
    rows = [torch.randn(3, 4), torch.randn(1, 4), torch.randn(5, 4)]
    Q, Q_mask = pad(rows)
    assert Q.shape == (3, 5, 4) and Q_mask.sum(1).tolist() == [3, 1, 5]
    assert Q[1, 1:].abs().sum() == 0  # padded rows are zero vectors
    assert all(torch.equal(a, b) for a, b in zip(unpad(Q, Q_mask), rows))


def test_ragged_helpers_agree_for_torch_and_numpy():
    lengths = [2, 0, 3, 1]
    assert offsets_from_lengths(torch.tensor(lengths)).tolist() == offsets_from_lengths(lengths).tolist()
    offsets = offsets_from_lengths(lengths)
    assert (
        segment_ids(torch.from_numpy(offsets)).tolist() == segment_ids(offsets).tolist() == [0, 0, 2, 2, 2, 3]
    )


def test_select_and_padded_keep_every_document_in_order():
    vectors = torch.arange(12, dtype=torch.float32).reshape(6, 2)
    tv = TokenVectors(vectors, offsets_from_lengths(torch.tensor([2, 3, 1])), torch.arange(6))
    picked = tv.select([2, 0])
    assert picked.lengths.tolist() == [1, 2] and torch.equal(picked.doc(0), tv.doc(2))
    D, D_mask = tv.padded()
    assert D.shape == (3, 3, 2) and D_mask.sum(1).tolist() == [2, 3, 1]
    assert torch.equal(D[D_mask], vectors)
    assert tv.select([]).n_docs == 0


def test_cache_entries_keep_their_metadata_by_name(tmp_path, monkeypatch):
    monkeypatch.setenv("LATEINT_CACHE", str(tmp_path))
    calls = []

    def compute():
        calls.append(1)
        return cache.Entry({"x": np.arange(3)}, {"query_ms": 1.5, "index_bytes": 42})

    first = cache.load_or_compute("kind", "key", compute)
    again = cache.load_or_compute("kind", "key", compute)
    assert len(calls) == 1 and again.meta == {"query_ms": 1.5, "index_bytes": 42}
    np.testing.assert_array_equal(again.arrays["x"], first.arrays["x"])
    meta = json.loads((tmp_path / "kind" / "key" / "meta.json").read_text())
    assert meta["arrays"] == ["x"]


def test_a_damaged_cache_entry_is_recomputed(tmp_path, monkeypatch):
    monkeypatch.setenv("LATEINT_CACHE", str(tmp_path))
    cache.load_or_compute("kind", "key", lambda: cache.Entry({"x": np.arange(3)}))
    (tmp_path / "kind" / "key" / "x.npy").write_bytes(b"not an array")
    with np.testing.assert_warns(UserWarning):
        entry = cache.load_or_compute("kind", "key", lambda: cache.Entry({"x": np.arange(4)}))
    assert len(entry.arrays["x"]) == 4


def test_keys_change_with_what_computed_them(tmp_path):
    import lateint.maxsim
    import lateint.metrics

    assert cache.array_key(np.zeros(3, np.float32)) != cache.array_key(np.zeros(3, np.float64))
    assert cache.source_key(lateint.maxsim) == cache.source_key(lateint.maxsim)
    assert cache.source_key(lateint.maxsim) != cache.source_key(lateint.metrics)
