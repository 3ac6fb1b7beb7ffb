import pytest
import torch

from lateint import qdrant
from lateint.maxsim import search

qdrant_client = pytest.importorskip("qdrant_client")


def test_qdrant_max_sim_returns_lateints_top_10(colbert_style, builtin):
    vectors = colbert_style.encode_corpus(builtin.doc_texts)
    client = qdrant_client.QdrantClient(":memory:")
    qdrant.upload(client, "builtin", vectors, builtin.doc_ids)
    Q = colbert_style.encode_queries(builtin.query_texts)
    D, D_mask = vectors.padded()
    scores, top = search(Q, D, D_mask, k=10)
    for row in range(len(Q)):
        q_scores, q_docs = qdrant.search(client, "builtin", Q[row], k=10)
        assert q_docs.tolist() == top[row].tolist()
        torch.testing.assert_close(torch.from_numpy(q_scores), scores[row], atol=1e-4, rtol=0)
    with pytest.raises(ValueError, match="no vectors"):
        qdrant.search(client, "builtin", torch.zeros(3, vectors.vectors.shape[1]))
