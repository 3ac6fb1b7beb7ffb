import pytest
import torch

from lateint.maxsim import maxsim, search, token_matches
from lateint.workspace import Workspace


def reference(Q, D, D_mask, Q_mask=None):
    """MaxSim written as plain loops."""
    scores = torch.zeros(Q.shape[0], D.shape[0])
    for a in range(Q.shape[0]):
        for b in range(D.shape[0]):
            total = 0.0
            for i in range(Q.shape[1]):
                if Q_mask is not None and not Q_mask[a, i]:
                    continue
                best = max(float(Q[a, i] @ D[b, j]) for j in range(D.shape[1]) if D_mask[b, j])
                total += best
            scores[a, b] = total
    return scores


def random_case(seed, n_q=3, q_len=4, n_d=5, d_len=6, dim=8):
    g = torch.Generator().manual_seed(seed)
    Q = torch.randn(n_q, q_len, dim, generator=g)
    D = torch.randn(n_d, d_len, dim, generator=g)
    D_mask = torch.rand(n_d, d_len, generator=g) > 0.4
    D_mask[:, 0] = True
    return Q, D, D_mask


@pytest.mark.parametrize("seed", range(5))
def test_matches_loop_reference(seed):
    Q, D, D_mask = random_case(seed)
    torch.testing.assert_close(maxsim(Q, D, D_mask), reference(Q, D, D_mask), rtol=1e-5, atol=1e-5)


def test_query_mask_drops_positions():
    Q, D, D_mask = random_case(7)
    Q_mask = torch.tensor([[True, True, False, False], [True, False, True, False], [True] * 4])
    torch.testing.assert_close(
        maxsim(Q, D, D_mask, Q_mask), reference(Q, D, D_mask, Q_mask), rtol=1e-5, atol=1e-5
    )


def test_padding_never_beats_a_negative_similarity():
    # Every real similarity is negative: a pad counted as 0 would win; it must not.
    Q = torch.tensor([[[1.0, 0.0]]])
    D = torch.tensor([[[-0.5, 0.5], [0.0, 0.0], [0.0, 0.0]]])
    D_mask = torch.tensor([[True, False, False]])
    assert maxsim(Q, D, D_mask).item() == pytest.approx(-0.5)


def test_blocks_give_the_same_scores(monkeypatch):
    import lateint.maxsim as module

    Q, D, D_mask = random_case(3, n_d=11)
    whole = maxsim(Q, D, D_mask)
    monkeypatch.setattr(module, "_BLOCK_FLOATS", 1)  # one document per block
    torch.testing.assert_close(maxsim(Q, D, D_mask), whole)


def test_search_orders_by_score():
    Q, D, D_mask = random_case(1)
    values, indices = search(Q, D, D_mask, k=3)
    full = reference(Q, D, D_mask)
    for row in range(Q.shape[0]):
        assert indices[row].tolist() == torch.argsort(full[row], descending=True)[:3].tolist()
        torch.testing.assert_close(values[row], full[row][indices[row]])


def test_token_matches_sum_to_maxsim():
    Q, D, D_mask = random_case(2)
    sim, idx, best = token_matches(Q[0], D[1], D_mask[1])
    assert sim.shape == (Q.shape[1], D.shape[1])
    assert all(D_mask[1, j] for j in idx.tolist())
    assert best.sum().item() == pytest.approx(maxsim(Q[:1], D[1:2], D_mask[1:2]).item(), abs=1e-5)


def test_shape_errors_are_clear():
    Q, D, D_mask = random_case(0)
    with pytest.raises(ValueError, match="dim"):
        maxsim(Q[..., :4], D, D_mask)
    with pytest.raises(ValueError, match="D_mask"):
        maxsim(Q, D, D_mask.float())
    empty = D_mask.clone()
    empty[2] = False
    with pytest.raises(ValueError, match="at least one unmasked token"):
        maxsim(Q, D, empty)


def test_search_groups_queries_of_different_lengths():
    Q, D, D_mask = random_case(4, n_q=7, q_len=6, n_d=9)
    lengths = torch.tensor([6, 2, 4, 1, 5, 3, 6])
    Q_mask = torch.arange(6)[None, :] < lengths[:, None]
    Q[~Q_mask] = 0  # zero padding, as unaugmented queries have
    values, indices = search(Q, D, D_mask, k=4, Q_mask=Q_mask, group=2)
    full = reference(Q, D, D_mask)
    for row in range(7):
        assert indices[row].tolist() == torch.argsort(full[row], descending=True)[:4].tolist()
        torch.testing.assert_close(values[row], full[row][indices[row]], rtol=1e-5, atol=1e-5)


def test_search_groups_documents_of_different_lengths():
    Q, D, D_mask = random_case(5, n_q=3, q_len=4, n_d=11, d_len=9)
    doc_lengths = torch.tensor([9, 1, 4, 2, 9, 3, 7, 1, 5, 8, 6])
    D_mask = torch.arange(9)[None, :] < doc_lengths[:, None]  # documents padded at the end
    D[~D_mask] = 0
    values, indices = search(Q, D, D_mask, k=11, doc_group=3)
    full = reference(Q, D, D_mask)
    for row in range(3):
        assert indices[row].tolist() == torch.argsort(full[row], descending=True).tolist()
        torch.testing.assert_close(values[row], full[row][indices[row]], rtol=1e-5, atol=1e-5)


def test_packed_maxsim_equals_padded_maxsim():
    from lateint.maxsim import maxsim_packed
    from lateint.vectors import TokenVectors

    g = torch.Generator().manual_seed(3)
    lengths = torch.tensor([1, 7, 3, 12])
    offsets = torch.cat([torch.zeros(1, dtype=torch.long), torch.cumsum(lengths, 0)])
    vectors = torch.nn.functional.normalize(torch.randn(int(lengths.sum()), 8, generator=g), dim=1)
    q = torch.nn.functional.normalize(torch.randn(5, 8, generator=g), dim=1)
    D, D_mask = TokenVectors(vectors, offsets, torch.zeros(len(vectors), dtype=torch.long)).padded()
    torch.testing.assert_close(maxsim_packed(q, vectors, offsets), maxsim(q[None], D, D_mask)[0])
    # one workspace across calls of different sizes: a kept buffer never leaks into a result
    ws = Workspace()
    first = maxsim_packed(q, vectors, offsets, ws)
    smaller = maxsim_packed(q[:2], vectors[:8], offsets[:3], ws)
    torch.testing.assert_close(first, maxsim_packed(q, vectors, offsets))
    torch.testing.assert_close(smaller, maxsim(q[None, :2], D[:2], D_mask[:2])[0])
    half = maxsim_packed(q, vectors.half(), offsets, ws)  # float16 widened in the workspace
    torch.testing.assert_close(half, maxsim_packed(q, vectors.half().float(), offsets))
    # a selection written into the workspace is the selection
    selected = TokenVectors(vectors, offsets, torch.arange(len(vectors))).select([3, 1], ws)
    plain = TokenVectors(vectors, offsets, torch.arange(len(vectors))).select([3, 1])
    torch.testing.assert_close(selected.vectors, plain.vectors)
    assert selected.offsets.tolist() == plain.offsets.tolist() == [0, 12, 19]
    with pytest.raises(ValueError, match="offsets end"):
        maxsim_packed(q, vectors[:-1], offsets)
