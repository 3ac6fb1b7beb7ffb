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

    named = ((4, True), (4, False), (32, True))  # not in the sweep: 4 unattended, 32
    differences = augmentation.against_none(points, named=named)
    assert list(differences) == [(4, True)]
    assert differences[(4, True)].mean == pytest.approx(points[1]["nDCG@10"] - points[0]["nDCG@10"])


def test_counts_take_the_readers_setting_and_else_the_modes_default():
    assert augmentation.counts(False) == (list(augmentation.COUNTS), list(augmentation.UNATTENDED))
    assert augmentation.counts(True, [0, 2]) == ([0, 2], list(augmentation.SMOKE_UNATTENDED))
    assert augmentation.counts(True, unattended=[]) == (list(augmentation.SMOKE_COUNTS), [])


def test_the_mask_rows_figure_marks_where_each_mask_lands_and_stays_legible(shipped):
    import matplotlib.pyplot as plt
    from matplotlib.text import Text

    from lateint.experiments import plots, report
    from lateint.explain import align

    a = align(augmentation.with_masks(shipped, 3), "neoshare macht spass", "Neoshare makes sharing fun.")
    found = augmentation.mask_rows(a)
    assert [a.query_tokens[i] for i in found["rows"]] == ["[MASK]"] * 3
    assert found["targets"] == [a.doc_tokens[int(a.best_index[i])] for i in found["rows"]]
    assert found["share"] == pytest.approx(float(a.best_score[found["rows"]].sum()) / a.score)
    fig = plots.mask_rows(a, found["rows"])
    fig.canvas.draw()
    report.prepare_figure("fig_mask_rows", fig)  # within the page's column, no text under 9 pt
    sizes = [t.get_fontsize() for t in fig.findobj(Text) if t.get_text().strip() and t.get_visible()]
    assert min(sizes) >= 9
    plt.close(fig)
