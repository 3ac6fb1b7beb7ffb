import numpy as np
import pytest

from lateint import evaluate
from lateint.experiments import augmentation


def test_mask_effect_by_length_splits_the_judged_queries_into_terciles(shipped, builtin):
    vectors = evaluate.encode_collection(shipped, builtin)
    pool = augmentation.candidate_pool(shipped, builtin, depth=10)
    points = augmentation.sweep(
        shipped, builtin, vectors, pool, counts=(0, 4), unattended=(), timing_queries=0
    )
    assert np.isnan(points[0]["query_ms"])  # no timing asked for
    for p in points:
        per_query = p["per_query_nDCG@10"]
        assert set(per_query) == set(builtin.qrels)
        assert p["nDCG@10"] == pytest.approx(np.mean(list(per_query.values())))

    buckets = augmentation.effect_by_length(shipped, builtin, points, n_masks=4)
    assert len(buckets) == 3 and sum(b["queries"] for b in buckets) == len(builtin.qrels)
    assert all(a["word_pieces"][1] <= b["word_pieces"][0] for a, b in zip(buckets, buckets[1:]))
    for b in buckets:
        assert b["change"] == pytest.approx(b["with"] - b["without"])
    sizes = np.array([b["queries"] for b in buckets])
    for key, n in (("without", 0), ("with", 4)):
        overall = next(p for p in points if p["n_masks"] == n)["nDCG@10"]
        assert np.average([b[key] for b in buckets], weights=sizes) == pytest.approx(overall)
    with pytest.raises(ValueError, match="at 0 and 32 attended masks"):
        augmentation.effect_by_length(shipped, builtin, points, n_masks=32)  # not in the sweep
