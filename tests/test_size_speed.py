import warnings

import numpy as np
import pytest

from lateint import metrics
from lateint.experiments import size, speed
from lateint.maxsim import search
from lateint.plaid import IndexConfig, PlaidIndex


@pytest.fixture(scope="module")
def setup(colbert_style, builtin):
    vectors = colbert_style.encode_corpus(builtin.doc_texts)
    index = PlaidIndex.build(vectors, builtin.doc_ids, IndexConfig(nlist=16, compression="fp32"))
    return vectors, index


def test_fp32_storage_is_the_exhaustive_ranking(colbert_style, builtin, setup):
    vectors, _ = setup
    row = size.evaluate(size.Storage("fp32"), colbert_style, builtin, vectors)
    D, D_mask = vectors.padded()
    Q, Q_mask = colbert_style.encode_queries(builtin.query_texts)
    scores, top = search(Q, D, D_mask, 100, Q_mask)
    expected = metrics.evaluate(
        metrics.run_from_topk(builtin.query_ids, builtin.doc_ids, scores.numpy(), top.numpy()), builtin.qrels
    )
    assert row["nDCG@10"] == pytest.approx(expected["nDCG@10"])
    assert row["bytes_per_token"] == 4 * vectors.vectors.shape[1] and row["vectors_per_token"] == 1


def test_storages_report_their_bytes(colbert_style, builtin, setup):
    vectors, index = setup
    dim = vectors.vectors.shape[1]
    all_rows = size.evaluate_all(size.STORAGES, colbert_style, builtin, vectors, index.centroids)
    rows = {r["label"]: r for r in all_rows}
    assert rows["fp16"] == size.evaluate(size.Storage("fp16", "fp16"), colbert_style, builtin, vectors)
    assert rows["fp16"]["bytes_per_token"] == 2 * dim
    assert rows["residual 2-bit"]["bytes_per_token"] == 2 + dim * 2 / 8  # centroid id + 2 bits per dimension
    assert rows["binary"]["bytes_per_token"] == dim / 8
    assert 0.5 <= rows["pooled x2, fp32"]["vectors_per_token"] < 0.6  # ceil(n / 2) per document
    assert rows["pooled x2, residual 2-bit"]["MB"] < rows["residual 2-bit"]["MB"]
    assert all(0 <= r["nDCG@10"] <= 1 for r in rows.values())
    smallest = size.knee(list(rows.values()), tolerance=1.0)  # everything is within 1.0: the smallest wins
    assert smallest["bytes_per_token"] == min(r["bytes_per_token"] for r in rows.values())
    with pytest.raises(ValueError, match="need centroids"):
        size.evaluate(size.Storage("r", "residual", 2), colbert_style, builtin, vectors)


def test_sweep_reports_quality_and_latency(colbert_style, builtin, setup):
    vectors, index = setup
    queries, encode_ms = speed.encode_one_by_one(colbert_style, builtin.query_texts)
    assert len(queries) == len(builtin.query_texts) and encode_ms.shape == (len(builtin.query_texts),)
    rows = speed.sweep(
        index,
        queries,
        encode_ms,
        builtin,
        [{"nprobe": 16, "ndocs": None}, {"nprobe": 1, "ndocs": 8}],
        progress=False,
    )
    D, D_mask = vectors.padded()
    Q, Q_mask = colbert_style.encode_queries(builtin.query_texts)
    scores, top = search(Q, D, D_mask, 100, Q_mask)
    exhaustive = metrics.evaluate(
        metrics.run_from_topk(builtin.query_ids, builtin.doc_ids, scores.numpy(), top.numpy()), builtin.qrels
    )
    assert rows[0]["nDCG@10"] == pytest.approx(
        exhaustive["nDCG@10"], abs=1e-6
    )  # every cell, every candidate: exact
    assert rows[1]["scored"] <= 8 and rows[1]["candidates"] <= vectors.n_docs
    assert all(r["end_to_end_p50_ms"] >= r["p50_ms"] > 0 for r in rows)
    # each row keeps its per-query nDCG@10 (for paired intervals), whose mean is the row's
    assert all(set(r["per_query"]) == set(builtin.qrels) for r in rows)
    assert np.mean(list(rows[1]["per_query"].values())) == pytest.approx(rows[1]["nDCG@10"])


def test_cached_index_is_saved_and_reloaded(colbert_style, builtin, setup):
    vectors, _ = setup
    config = IndexConfig(nlist=8, compression="fp16")
    first = speed.cached_index(vectors, builtin.doc_ids, config, "builtin-test")
    again = speed.cached_index(vectors, builtin.doc_ids, config, "builtin-test")
    np.testing.assert_array_equal(first.centroids, again.centroids)
    np.testing.assert_array_equal(first.store.codes, again.store.codes)


def test_scaling_rows_grow_with_the_corpus(colbert_style, builtin, setup):
    vectors, _ = setup
    queries, _ = speed.encode_one_by_one(colbert_style, builtin.query_texts)
    rows = speed.scaling(
        vectors,
        builtin.doc_ids,
        queries,
        [0.5, 1.0],
        {"nprobe": 2, "ndocs": 16},
        IndexConfig(compression="fp16"),
        "builtin-test",
        timing_queries=4,
    )
    assert [r["docs"] for r in rows] == [18, 36]
    assert rows[0]["tokens"] < rows[1]["tokens"] and all(
        r["exhaustive_ms"] > 0 and r["index_ms"] > 0 for r in rows
    )


def test_muvera_sweep_with_every_document_as_candidate_is_exhaustive(colbert_style, builtin, setup):
    from lateint.muvera import MuveraConfig

    vectors, _ = setup
    queries, encode_ms = speed.encode_one_by_one(colbert_style, builtin.query_texts)
    config = MuveraConfig(k_sim=2, d_proj=8, repetitions=4)
    rows = speed.muvera_sweep(
        vectors, queries, encode_ms, builtin, config, candidates=[10, 100], graphs=(0, 8)
    )
    # 10 candidates run as 10, not as k=100 (they once ran as 100, so the table showed 100 twice)
    assert [(r["graph"], r["candidates"], r["k"]) for r in rows] == [
        ("flat", 10, 10),
        ("flat", 100, 100),
        ("HNSW", 10, 10),
        ("HNSW", 100, 100),
    ]
    assert np.isnan(rows[0]["R@100"]) and not np.isnan(rows[1]["R@100"])  # recall at 100 needs 100 results
    assert np.mean(list(rows[0]["per_query"].values())) == pytest.approx(rows[0]["nDCG@10"])
    # the page's table shows "-" for the R@100 that was not measured, and says why
    table = speed.muvera_table(rows)
    assert [r[3] for r in table.rows][:2] == ["-", f"{rows[1]['R@100']:.3f}"]
    assert "R@100 needs 100 results" in table.title
    rows = [r for r in rows if r["candidates"] == 100]
    D, D_mask = vectors.padded()
    Q, Q_mask = colbert_style.encode_queries(builtin.query_texts)
    scores, top = search(Q, D, D_mask, 100, Q_mask)
    exhaustive = metrics.evaluate(
        metrics.run_from_topk(builtin.query_ids, builtin.doc_ids, scores.numpy(), top.numpy()), builtin.qrels
    )
    for r in (
        rows
    ):  # 100 candidates >= 36 documents: every document re-ranked (float16 vectors: near ties may swap)
        assert r["nDCG@10"] == pytest.approx(exhaustive["nDCG@10"], abs=5e-3)
        assert r["MB"] > 0 and r["fde_dim"] == config.dim and r["end_to_end_p50_ms"] >= r["p50_ms"] > 0


def test_storage_rows_carry_per_query_values_for_intervals(colbert_style, builtin, setup):
    vectors, index = setup
    rows = size.evaluate_all(size.STORAGES[:3], colbert_style, builtin, vectors, index.centroids)
    for r in rows:
        assert set(r["per_query"]["nDCG@10"]) == set(builtin.qrels)
        assert r["nDCG@10"] == pytest.approx(np.mean(list(r["per_query"]["nDCG@10"].values())))
    diffs = size.differences(rows)
    assert set(diffs) == {"fp16", "int8"} and all(d.n_queries == len(builtin.qrels) for d in diffs.values())
    assert size.in_points(diffs["fp16"]).mean == pytest.approx(100 * diffs["fp16"].mean)


def test_pricing_codes_gives_k_means_enough_points(colbert_style, setup):
    vectors, _ = setup
    dim = vectors.dim
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # k-means warns below 39 points a centroid
        per_vector = size.bytes_per_vector(vectors.vectors[:300])  # 256 centroids would get ~1 each
    assert per_vector["residual 2-bit"] == 2 + dim * 2 / 8 and per_vector["binary"] == dim / 8


def test_residual_example_is_what_the_code_stores(colbert_style, setup):
    from lateint import compress
    from lateint.experiments import plots, report

    vectors, _ = setup
    sample, dim = vectors.vectors, vectors.dim
    codes = compress.compress(sample, "residual", bits=2, k=4)
    ex = size.residual_example(codes, sample, colbert_style, vectors.token_ids)
    assert (ex.id_bytes, ex.code_bytes) == (2, dim * 2 // 8)
    # the stored bits name each dimension's bucket: how many cutoffs lie at or below the residual
    assert (ex.buckets == (ex.residual[None] >= ex.cutoffs).sum(axis=0)).all()
    by_hand = ex.centroid + ex.bucket_values[ex.buckets, np.arange(dim)]  # centroid + bucket values
    np.testing.assert_allclose(
        by_hand / np.linalg.norm(by_hand), ex.decoded / np.linalg.norm(ex.decoded), atol=1e-5
    )
    assert ex.cosine == pytest.approx(float(ex.decoded @ ex.original) / float(np.linalg.norm(ex.original)))
    report.prepare_figure("fig_residual", plots.residual_code(ex))  # fits the page, no text under 9 pt


def test_funnel_follows_one_query_from_every_document_to_k(colbert_style, builtin, setup):
    vectors, index = setup
    queries, _ = speed.encode_one_by_one(colbert_style, builtin.query_texts[:1])
    hits = index.search(queries[0], k=5, nprobe=2, ndocs=16)
    stages = speed.funnel(hits, vectors.n_docs, ndocs=16, k=5)
    counts = [n for _, n, _ in stages]
    assert counts[0] == vectors.n_docs and counts[1] == hits.n_candidates and counts[3] == hits.n_scored
    assert counts == sorted(counts, reverse=True) and counts[-1] == len(hits.docs)
    assert sum(ms for _, _, ms in stages) == pytest.approx(sum(hits.stage_ms.values()))


def test_stage_rows_put_codes_and_decoding_side_by_side(colbert_style, builtin, setup):
    from lateint.experiments import plots, report
    from lateint.plaid import IndexConfig, PlaidIndex

    vectors, _ = setup
    residual = PlaidIndex.build(vectors, builtin.doc_ids, IndexConfig(nlist=8, compression="residual"))
    fp16 = PlaidIndex.build(
        vectors, builtin.doc_ids, IndexConfig(nlist=8, compression="fp16"), centroids=residual.centroids
    )
    queries, encode_ms = speed.encode_one_by_one(colbert_style, builtin.query_texts)
    setting = {"nprobe": 2, "ndocs": 16}
    sweeps = {
        name: speed.sweep(ix, queries, encode_ms, builtin, [setting], k=5, progress=False)
        for name, ix in {"residual 2-bit": residual, "fp16": fp16}.items()
    }
    decoded = speed.sweep(residual, queries, encode_ms, builtin, [{**setting, "scoring": "decode"}], k=5)[0]
    rows = speed.stage_rows(sweeps, decoded, setting)
    codes, decoded_row, fp16_row = rows.values()
    assert codes["tables_ms"] > 0 and codes["decompress_ms"] == 0  # the codes were never decoded
    assert decoded_row["decompress_ms"] > 0 and decoded_row["tables_ms"] == 0
    assert codes["nDCG@10"] == pytest.approx(decoded_row["nDCG@10"], abs=1e-6)  # same scores, same ranking
    figure = plots.stage_bars({n: {s: r[s + "_ms"] for s in speed.STAGES} for n, r in rows.items()})
    report.prepare_figure("fig_stages", figure)  # fits the page, no text under 9 pt


def test_muvera_example_adds_up_to_the_encodings_dot_product(colbert_style, builtin, setup):
    import torch

    from lateint.maxsim import maxsim
    from lateint.muvera import Muvera, MuveraConfig, query_vectors

    vectors, _ = setup
    config = MuveraConfig(k_sim=2, d_proj=4, repetitions=3)
    e = speed.muvera_example(colbert_style, builtin, vectors, config, query=0)
    assert len(e.query_parts) == len(e.query_tokens) and len(e.doc_parts) == len(e.doc_tokens)
    assert e.per_partition.shape == (4,) and e.per_repetition.shape == (3,)
    assert e.per_partition.sum() == pytest.approx(e.per_repetition[0], abs=1e-5)
    assert builtin.qrels[builtin.query_ids[0]][e.doc_id] > 0  # a relevant document
    # the same numbers computed the long way: whole encodings, and MaxSim on padded tensors
    muvera = Muvera(vectors.dim, config)
    Q, Q_mask = colbert_style.encode_queries(builtin.query_texts[:1])
    doc = vectors.select([builtin.doc_ids.index(e.doc_id)])
    fq = muvera.encode(query_vectors(Q, Q_mask), is_query=True)
    fd = muvera.encode(doc, is_query=False)
    assert e.fde_dot == pytest.approx(float(fq[0] @ fd[0]), rel=1e-4)
    D, D_mask = doc.padded()
    assert e.maxsim == pytest.approx(float(maxsim(Q[0][Q_mask[0]][None], D, D_mask)[0, 0]), rel=1e-4)
    assert torch.equal(torch.as_tensor(e.doc_parts), muvera.partitions(doc.vectors, 0))


def _text_boxes(fig):
    """Every visible text of a drawn figure: its font size and its box in pixels."""
    from matplotlib.text import Text

    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    ticks = [tick for ax in fig.axes for axis in (ax.xaxis, ax.yaxis) for tick in axis.get_major_ticks()]
    ticks += [tick for ax in fig.axes for axis in (ax.xaxis, ax.yaxis) for tick in axis.get_minor_ticks()]
    drawn = {id(tick) for ax in fig.axes for axis in (ax.xaxis, ax.yaxis) for tick in axis._update_ticks()}
    undrawn = {id(label) for tick in ticks if id(tick) not in drawn for label in (tick.label1, tick.label2)}
    return [
        (t.get_text(), t.get_fontsize(), t.get_window_extent(renderer))
        for t in fig.findobj(Text)
        if t.get_visible() and t.get_text().strip() and id(t) not in undrawn
    ]


def assert_legible(fig):
    """As the page shows it (``report.prepare_figure``): fits the column, no text under 9 pt,
    and no two texts overlapping."""
    import matplotlib.pyplot as plt

    from lateint.experiments import report

    report.prepare_figure("figure", fig)
    boxes = _text_boxes(fig)
    small = [(text, size) for text, size, _ in boxes if size < 9]
    assert not small, f"text under 9 pt: {small[:5]}"
    for i, (a, _, box_a) in enumerate(boxes):
        for b, _, box_b in boxes[i + 1 :]:
            assert not box_a.overlaps(box_b), f"{a!r} collides with {b!r}"
    plt.close(fig)


def test_speed_figure_labels_never_collide():
    """Fig. 4.1 once printed "4/128" over "1/128" and "c100c100": settings at one spot."""
    from lateint.experiments import plots

    curves = {
        "index (fp16)": [(5.0, 0.74, "1/128"), (5.01, 0.7401, "4/128"), (8.0, 0.75, "4/256")],
        "MUVERA (flat)": [(6.0, 0.70, "c50"), (7.0, 0.72, "c100")],
        "MUVERA (HNSW)": [(6.0, 0.70, "c50"), (7.0, 0.72, "c100")],  # the same spots as flat's
    }
    points = {"exhaustive": (300.0, 0.745), "BM25": (0.5, 0.66)}
    fig = plots.speed_quality(curves, points, reference=(0.74, "exhaustive - 0.005"))
    placed = [t.get_text() for t in fig.axes[1].texts]
    assert "1/128" in placed and placed.count("c100") <= 2
    assert_legible(fig)


def test_chapter_figures_are_legible(colbert_style, builtin, setup):
    from lateint.experiments import plots
    from lateint.muvera import MuveraConfig

    vectors, index = setup
    queries, _ = speed.encode_one_by_one(colbert_style, builtin.query_texts[:1])
    hits = index.search(queries[0], k=5, nprobe=2, ndocs=16)
    title = "one query, nprobe=2, ndocs=256, k=10: 145.3 ms in all"  # once ran into the column header
    assert_legible(plots.funnel(speed.funnel(hits, vectors.n_docs, 16, 5), title=title))
    example = speed.muvera_example(colbert_style, builtin, vectors, MuveraConfig(), query=0)
    assert_legible(plots.muvera_partitions(example))
    grow = [{"tokens": t, "exhaustive_ms": t / 1e4, "index_ms": 2.0 + t / 1e7, "candidates": t / 100,
             "candidate_stages_ms": t / 1e6, "exact_stage_ms": 1.5} for t in (1e5, 2e5, 4e5)]  # fmt: skip
    at = speed.extrapolate(grow)
    marks = {"PLAID, 1 thread": (6e8, 185.5), "PLAID, 8 threads": (6e8, 31.5), "model": (6e8, at["model_ms"])}
    series = {"exhaustive": ([r["exhaustive_ms"] for r in grow], at["fit_exhaustive"])}
    assert_legible(plots.scaling([r["tokens"] for r in grow], series, 6e8, marks=marks))


def test_differences_pair_the_named_points_query_by_query():
    from types import SimpleNamespace

    queries = [f"q{i}" for i in range(40)]
    per = lambda values: dict(zip(queries, values))  # noqa: E731
    low, high = per([0.5] * 40), per([0.5 + 0.1 * (i % 2) for i in range(40)])
    rows = {
        "fp16": [{"nprobe": 1, "ndocs": 64, "nDCG@10": 0.55, "p50_ms": 1.0, "per_query": high}],
        "residual 2-bit": [{"nprobe": 1, "ndocs": 64, "nDCG@10": 0.5, "p50_ms": 2.0, "per_query": low}],
    }
    fastest = speed.fastest_within(rows, reference=0.55)
    result = SimpleNamespace(per_query={"nDCG@10": high})
    d = speed.differences(result, fastest, {"per_query": low}, {"bm25s": result, "dense": result}, rows)
    assert d["best_vs_exh"].mean == 0 and d["best_vs_exh"].tie
    assert d["muvera_vs_best"].b_better and d["residual_vs_fp16"].b_better
    assert d["muvera_vs_best"].mean == pytest.approx(-0.05)
