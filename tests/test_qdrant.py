import pytest
import torch

from lateint import qdrant
from lateint.maxsim import search
from lateint.vectors import unpad

qdrant_client = pytest.importorskip("qdrant_client")


def test_qdrant_max_sim_returns_lateints_top_10(colbert_style, builtin):
    vectors = colbert_style.encode_corpus(builtin.doc_texts)
    client = qdrant_client.QdrantClient(":memory:")
    qdrant.upload(client, "builtin", vectors, builtin.doc_ids)
    Q, Q_mask = colbert_style.encode_queries(builtin.query_texts)
    D, D_mask = vectors.padded()
    scores, top = search(Q, D, D_mask, k=10, Q_mask=Q_mask)
    for row, q in enumerate(unpad(Q, Q_mask)):
        q_scores, q_docs = qdrant.search(client, "builtin", q, k=10)
        assert q_docs.tolist() == top[row].tolist()
        torch.testing.assert_close(torch.from_numpy(q_scores), scores[row], atol=1e-4, rtol=0)
    with pytest.raises(ValueError, match="no vectors"):
        qdrant.search(client, "builtin", torch.zeros(0, vectors.dim))
    with pytest.raises(ValueError, match="all zeros"):
        qdrant.search(client, "builtin", torch.zeros(3, vectors.dim))


def test_agreement_check_counts_identical_top_10s(colbert_style, builtin):
    from lateint.experiments import speed

    vectors = colbert_style.encode_corpus(builtin.doc_texts)
    client = qdrant_client.QdrantClient(":memory:")
    qdrant.upload(client, "builtin", vectors, builtin.doc_ids)
    queries, _ = speed.encode_one_by_one(colbert_style, builtin.query_texts[:5])
    check = speed.qdrant_agreement(client, "builtin", queries, vectors)
    assert check["same"] == check["checked"] == 5 and check["engine"].shape == (5, 10)
    # a collection holding other vectors disagrees: the check can fail
    qdrant.upload(client, "other", vectors.select(list(reversed(range(vectors.n_docs)))), builtin.doc_ids)
    assert speed.qdrant_agreement(client, "other", queries, vectors)["same"] < 5


@pytest.mark.parametrize("hnsw_m, quantization", [(0, None), (16, None), (16, "int8"), (0, "binary")])
def test_edge_shard_exact_search_returns_lateints_top_10(
    colbert_style, builtin, tmp_path, hnsw_m, quantization
):
    pytest.importorskip("qdrant_edge")
    vectors = colbert_style.encode_corpus(builtin.doc_texts)
    shard = qdrant.create_shard(tmp_path / "shard", vectors.dim, hnsw_m=hnsw_m, quantization=quantization)
    qdrant.upload(shard, "", vectors, builtin.doc_ids)
    Q, Q_mask = colbert_style.encode_queries(builtin.query_texts)
    D, D_mask = vectors.padded()
    scores, top = search(Q, D, D_mask, k=10, Q_mask=Q_mask)
    for row, q in enumerate(unpad(Q, Q_mask)):
        q_scores, q_docs = qdrant.search(shard, "", q, k=10, exact=True)
        assert q_docs.tolist() == top[row].tolist()
        torch.testing.assert_close(torch.from_numpy(q_scores), scores[row], atol=1e-4, rtol=0)
        approx_scores, approx_docs = qdrant.search(shard, "", q, k=10, hnsw_ef=512)
        assert len(approx_docs) == 10 and approx_docs[0] in top[row].tolist()  # re-scored with the originals
    shard.close()


def test_edge_shard_deletes_and_survives_a_reload(colbert_style, builtin, tmp_path):
    qdrant_edge = pytest.importorskip("qdrant_edge")
    vectors = colbert_style.encode_corpus(builtin.doc_texts)
    shard = qdrant.create_shard(tmp_path / "shard", vectors.dim)
    qdrant.upload(shard, "", vectors, builtin.doc_ids)
    Q, Q_mask = colbert_style.encode_queries(builtin.query_texts[:1])
    q = unpad(Q, Q_mask)[0]
    _, before = qdrant.search(shard, "", q, k=5, exact=True)
    qdrant.delete(shard, "", before[:2])
    _, after = qdrant.search(shard, "", q, k=3, exact=True)
    assert after.tolist() == before[2:5].tolist()
    shard.flush()
    shard.close()
    reopened = qdrant_edge.EdgeShard.load(str(tmp_path / "shard"))
    assert qdrant.search(reopened, "", q, k=3, exact=True)[1].tolist() == after.tolist()
    with pytest.raises(ValueError, match="quantization"):
        qdrant.create_shard(tmp_path / "other", vectors.dim, quantization="int4")


def test_a_qdrant_server_returns_lateints_top_10(colbert_style, builtin):
    import os

    url = os.environ.get("QDRANT_URL")
    if not url:
        pytest.skip("no Qdrant server: set QDRANT_URL (e.g. docker run -p 6333:6333 qdrant/qdrant)")
    client = qdrant_client.QdrantClient(url=url)
    vectors = colbert_style.encode_corpus(builtin.doc_texts)
    qdrant.upload(client, "lateint-test", vectors, builtin.doc_ids)
    Q, Q_mask = colbert_style.encode_queries(builtin.query_texts)
    D, D_mask = vectors.padded()
    _, top = search(Q, D, D_mask, k=10, Q_mask=Q_mask)
    for row, q in enumerate(unpad(Q, Q_mask)):
        assert qdrant.search(client, "lateint-test", q, k=10)[1].tolist() == top[row].tolist()
    client.delete_collection("lateint-test")


def test_a_query_of_another_width_is_refused_by_client_and_shard(colbert_style, builtin, tmp_path):
    vectors = colbert_style.encode_corpus(builtin.doc_texts[:4])
    narrow = torch.nn.functional.normalize(torch.randn(3, vectors.dim // 2), dim=-1)
    client = qdrant_client.QdrantClient(":memory:")
    qdrant.upload(client, "builtin", vectors, builtin.doc_ids[:4])
    with pytest.raises(ValueError, match=f"shape \\(query_len, {vectors.dim}\\)"):
        qdrant.search(client, "builtin", narrow)
    shard = qdrant.create_shard(tmp_path / "shard", vectors.dim)
    qdrant.upload(shard, "builtin", vectors, builtin.doc_ids[:4])
    with pytest.raises(ValueError, match="dimensions"):
        qdrant.search(shard, "builtin", narrow)
