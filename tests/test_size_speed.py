import numpy as np
import pytest

from lateint import metrics
from lateint.experiments import size, speed
from lateint.index import IndexConfig, LateIndex
from lateint.maxsim import search


@pytest.fixture(scope="module")
def setup(colbert_style, builtin):
    vectors = colbert_style.encode_corpus(builtin.doc_texts)
    index = LateIndex.build(vectors, builtin.doc_ids, IndexConfig(nlist=16, compression="fp32"))
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
    assert [(r["graph"], r["candidates"]) for r in rows] == [
        ("flat", 100),
        ("flat", 100),
        ("HNSW", 100),
        ("HNSW", 100),
    ]
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
