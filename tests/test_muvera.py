"""MUVERA's encodings: their dot product tracks MaxSim, and re-ranking recovers exhaustive."""

import numpy as np
import pytest
import torch

from lateint import evaluate, maxsim
from lateint.muvera import Muvera, MuveraConfig, MuveraIndex, query_vectors
from lateint.vectors import TokenVectors


def test_query_blocks_sum_and_document_blocks_average():
    m = Muvera(2, MuveraConfig(k_sim=1, d_proj=4, repetitions=1, fill_empty=False))
    x = torch.tensor([[1.0, 0.0], [0.8, 0.6]])
    v = TokenVectors(x, torch.tensor([0, 2]), torch.zeros(2, dtype=torch.long))
    parts = m.partitions(x, 0)
    projected = (x @ m.projections[0]).numpy()  # (2, d_proj)
    q, d = m.encode(v, is_query=True)[0], m.encode(v, is_query=False)[0]
    if parts[0] == parts[1]:  # both in one partition: sum for queries, mean for documents
        block = slice(int(parts[0]) * 4, int(parts[0]) * 4 + 4)
        np.testing.assert_allclose(q[block], projected.sum(0), atol=1e-6)
        np.testing.assert_allclose(d[block], projected.mean(0), atol=1e-6)
    assert q.shape == (2 * 4,)


def test_empty_document_partitions_take_the_nearest_token():
    m = Muvera(4, MuveraConfig(k_sim=3, d_proj=4, repetitions=2))
    x = torch.nn.functional.normalize(torch.randn(1, 4, generator=torch.Generator().manual_seed(0)), dim=1)
    v = TokenVectors(x, torch.tensor([0, 1]), torch.zeros(1, dtype=torch.long))
    filled = m.encode(v, is_query=False).reshape(2, 8, 4)
    projected = torch.einsum("d,rdp->rp", x[0], m.projections).numpy()
    for r in range(2):  # one token: every partition holds it
        np.testing.assert_allclose(filled[r], np.broadcast_to(projected[r], (8, 4)), atol=1e-6)
    empty = Muvera(4, MuveraConfig(k_sim=3, d_proj=4, repetitions=2, fill_empty=False)).encode(v, False)
    assert (empty.reshape(2, 8, 4) == 0).all(axis=2).sum() == 2 * 7


def test_encodings_track_maxsim_and_rerank_recovers_exhaustive(shipped, builtin):
    vectors = evaluate.encode_collection(shipped, builtin)
    Q, Q_mask = shipped.encode_queries(builtin.query_texts)
    D, D_mask = vectors.padded()
    exact = maxsim.maxsim(Q, D, D_mask, Q_mask).numpy()  # (n_q, n_docs)
    m = Muvera(vectors.dim, MuveraConfig(k_sim=4, d_proj=32, repetitions=40))
    approx = m.encode(query_vectors(Q, Q_mask), True) @ m.encode(vectors, False).T
    correlations = [np.corrcoef(exact[i], approx[i])[0, 1] for i in range(len(exact))]
    assert np.median(correlations) > 0.9
    # generous candidates: the re-ranked top-10 is the exhaustive top-10
    candidates = np.argsort(-approx, axis=1)[:, :30]  # of 36 documents
    for i in range(len(exact)):
        top = candidates[i][np.argsort(-exact[i][candidates[i]], kind="stable")][:10]
        assert set(top) == set(np.argsort(-exact[i], kind="stable")[:10])


def test_index_with_every_document_as_candidate_is_exact(shipped, builtin):
    vectors = evaluate.encode_collection(shipped, builtin)
    Q, Q_mask = shipped.encode_queries(builtin.query_texts)
    D, D_mask = vectors.padded()
    exact_scores, exact_docs = maxsim.search(Q, D, D_mask, 5, Q_mask)
    for hnsw in (0, 8):
        index = MuveraIndex(
            vectors, builtin.doc_ids, MuveraConfig(k_sim=3, d_proj=8, repetitions=4), hnsw=hnsw
        )
        for i in range(len(Q)):
            scores, docs = index.search(Q[i][Q_mask[i]], k=5, candidates=vectors.n_docs)
            assert docs.tolist() == exact_docs[i].tolist()
            np.testing.assert_allclose(scores.numpy(), exact_scores[i].numpy(), atol=2e-3)  # float16 re-rank
    assert index.nbytes > vectors.vectors.numel() * 2


def test_same_encodings_as_fastembeds_muvera_given_the_same_random_draws():
    """Cross-check against an independent implementation (fastembed's post-processor):
    with its hyperplanes and projections copied in, queries and documents encode alike.
    Only the choice among equally near tokens for an empty partition may differ (ours:
    the earliest such token, as the paper's reference code; fastembed: the first token of
    the lowest-numbered such partition), so filled blocks are checked for distance."""
    fastembed = pytest.importorskip("fastembed.postprocess.muvera")
    dim, k_sim, d_proj, reps = 16, 3, 8, 4
    theirs = fastembed.Muvera(dim, k_sim=k_sim, dim_proj=d_proj, r_reps=reps, random_seed=7)
    ours = Muvera(dim, MuveraConfig(k_sim=k_sim, d_proj=d_proj, repetitions=reps))
    ours.planes = torch.from_numpy(np.stack([s.simhash_vectors for s in theirs.simhash_projections])).float()
    ours.projections = torch.from_numpy(theirs.dim_reduction_projections).float() / d_proj**0.5
    unfilled = Muvera(dim, MuveraConfig(k_sim=k_sim, d_proj=d_proj, repetitions=reps, fill_empty=False))
    unfilled.planes, unfilled.projections = ours.planes, ours.projections
    g = torch.Generator().manual_seed(3)
    n_parts = 2**k_sim
    checked_fills = 0
    for n_tokens in (1, 3, 6, 40):
        x = torch.nn.functional.normalize(torch.randn(n_tokens, dim, generator=g), dim=1)
        one = TokenVectors(x, torch.tensor([0, n_tokens]), torch.zeros(n_tokens, dtype=torch.long))
        xs = x.double().numpy()
        np.testing.assert_allclose(ours.encode(one, is_query=True)[0], theirs.process_query(xs), atol=1e-5)
        np.testing.assert_allclose(
            unfilled.encode(one, is_query=False)[0],
            theirs.process(xs, fill_empty_clusters=False, normalize_by_count=True),
            atol=1e-5,
        )
        a = ours.encode(one, is_query=False)[0].reshape(reps, n_parts, d_proj)
        b = theirs.process_document(xs).reshape(reps, n_parts, d_proj)
        for r in range(reps):
            parts = ours.partitions(x, r)
            projected = (x @ ours.projections[r]).numpy()  # (n_tokens, d_proj)
            for p in range(n_parts):
                if (parts == p).any():
                    np.testing.assert_allclose(a[r, p], b[r, p], atol=1e-5)
                    continue
                distance = [bin(int(t) ^ p).count("1") for t in parts]
                nearest = [i for i, d in enumerate(distance) if d == min(distance)]
                for block in (a[r, p], b[r, p]):  # each took one of the nearest tokens
                    assert any(np.allclose(block, projected[i], atol=1e-5) for i in nearest)
                checked_fills += 1
    assert checked_fills > 0
