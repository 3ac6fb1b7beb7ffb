import pytest
import torch

from lateint.maxsim import maxsim
from lateint.pooling import pool_tokens, pool_tokens_at
from lateint.vectors import TokenVectors


@pytest.fixture(scope="module")
def vectors(colbert_style, builtin):
    return colbert_style.encode_corpus(builtin.doc_texts)


@pytest.mark.parametrize("factor", [2, 3])
def test_pooling_divides_every_document_by_the_factor(vectors, factor):
    pooled = pool_tokens(vectors, factor)
    assert pooled.n_docs == vectors.n_docs
    assert pooled.lengths.tolist() == [-(-n // factor) for n in vectors.lengths.tolist()]
    torch.testing.assert_close(pooled.vectors.norm(dim=1), torch.ones(len(pooled.vectors)))


def test_pooling_merges_the_most_similar_tokens():
    a, b = torch.tensor([1.0, 0.0, 0.0]), torch.tensor([0.0, 1.0, 0.0])
    near_a = torch.nn.functional.normalize(a + 0.1 * b, dim=0)
    doc = torch.stack([a, b, near_a, b])  # two near-duplicates of a, two copies of b
    pooled = pool_tokens(TokenVectors(doc, torch.tensor([0, 4]), torch.tensor([10, 11, 12, 13])), 2)
    centers = pooled.vectors
    assert len(centers) == 2
    assert sorted(int(c.argmax()) for c in centers) == [0, 1]  # one vector for the a's, one for the b's
    assert set(pooled.token_ids.tolist()) <= {10, 11, 12, 13}


def test_pooling_keeps_maxsim_close(vectors, colbert_style, builtin):
    Q, _ = colbert_style.encode_queries(builtin.query_texts[:4])
    D, D_mask = vectors.padded()
    P, P_mask = pool_tokens(vectors, 2).padded()
    full, pooled = maxsim(Q, D, D_mask), maxsim(Q, P, P_mask)
    assert (pooled <= full + 1e-4).float().mean() > 0.9  # means of unit vectors: blurrier, rarely higher
    assert torch.corrcoef(torch.stack([full.flatten(), pooled.flatten()]))[0, 1] > 0.9


def test_factor_below_one_is_refused(vectors):
    with pytest.raises(ValueError, match="factor"):
        pool_tokens(vectors, 0.5)
    assert pool_tokens(vectors, 1) is vectors


def test_several_factors_cut_one_tree_each_as_one_factor_would(vectors):
    both = pool_tokens_at(vectors, [3, 1, 2])
    assert both[1] is vectors
    for factor, pooled in zip([3, 2], [both[0], both[2]]):
        alone = pool_tokens(vectors, factor)
        assert torch.equal(pooled.vectors, alone.vectors) and torch.equal(pooled.offsets, alone.offsets)
        assert torch.equal(pooled.token_ids, alone.token_ids)
    with pytest.raises(ValueError, match="factors must be"):
        pool_tokens_at(vectors, [2, 0.5])
