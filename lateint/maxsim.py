"""Exact MaxSim: the late-interaction score.

``score(q, d) = sum_i max_j <q_i, d_j>`` over the query's token vectors ``q_i`` and
the document's token vectors ``d_j``. Padded document positions are set to ``-inf``
before the max, never multiplied by 0: a zeroed pad would beat a real negative
similarity. Padded query positions (only when a ``Q_mask`` is given) add nothing.

Left out: candidate generation and compression (``plaid.py``, ``compress.py``);
everything here is exhaustive and exact, the reference the fast paths are tested
against.
"""

from __future__ import annotations

import numpy as np
import torch

from .vectors import length_batches, used_widths
from .workspace import Workspace

# Keep each block's similarity tensor under about 1M floats (4 MB): small enough to stay
# in cache between the GEMM that writes it and the max that reads it. With query groups
# of 32 this ranks SciFact 2x faster on 2 cores than 256 MB blocks and groups of 64.
_BLOCK_FLOATS = 1 << 20


def maxsim(
    Q: torch.Tensor,
    D: torch.Tensor,
    D_mask: torch.Tensor,
    Q_mask: torch.Tensor | None = None,
    workspace: Workspace | None = None,
) -> torch.Tensor:
    """MaxSim scores of every query against every document.

    Parameters
    ----------
    Q : torch.Tensor
        Query token vectors, shape (n_queries, query_len, dim).
    D : torch.Tensor
        Document token vectors, shape (n_docs, doc_len, dim), padded.
    D_mask : torch.Tensor
        Bool, shape (n_docs, doc_len): True where a real document token is.
    Q_mask : torch.Tensor, optional
        Bool, shape (n_queries, query_len): True where a query token counts. Default:
        all count (queries padded with [MASK] are attended to and all score).
    workspace : Workspace, optional
        Where the similarity blocks are written; pass the same one to every call of a
        loop so that no call allocates them again (``workspace.py`` says why).

    Returns
    -------
    torch.Tensor
        Scores, shape (n_queries, n_docs), float32.

    >>> Q = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]])              # 1 query, 2 tokens
    >>> D = torch.tensor([[[1.0, 0.0], [0.6, 0.8]], [[-1.0, 0.0], [0.0, 0.0]]])
    >>> D_mask = torch.tensor([[True, True], [True, False]])     # doc 1 has one real token
    >>> maxsim(Q, D, D_mask)
    tensor([[ 1.8000, -1.0000]])
    """
    _check_shapes(Q, D, D_mask, Q_mask)
    n_q, q_len, dim = Q.shape
    n_d, d_len, _ = D.shape
    scores = torch.empty(n_q, n_d, dtype=torch.float32)
    if n_d == 0 or n_q == 0:
        return scores
    ws = Workspace() if workspace is None else workspace
    Q_flat = Q.reshape(n_q * q_len, dim).float()  # (n_q*q_len, dim)
    block = max(1, _BLOCK_FLOATS // max(1, n_q * q_len * d_len))
    for start in range(0, n_d, block):
        D_block = D[start : start + block].float()  # (b, d_len, dim)
        b = D_block.shape[0]
        pads = ws.get("pads", (b * d_len,)).fill_(0)
        pads.masked_fill_(~D_mask[start : start + b].reshape(-1), float("-inf"))  # (b*d_len,)
        # -inf at padded positions, added inside the GEMM (beta=1): one pass fewer than masked_fill after
        sim = torch.addmm(
            pads, Q_flat, D_block.reshape(b * d_len, dim).T, out=ws.get("sim", (n_q * q_len, b * d_len))
        ).view(n_q, q_len, b, d_len)
        best = torch.amax(sim, dim=3, out=ws.get("best", (n_q, q_len, b)))  # (n_q, q_len, b)
        if Q_mask is not None:
            best.masked_fill_(~Q_mask.view(n_q, q_len, 1), 0.0)
        scores[:, start : start + b] = best.sum(dim=1)
    return scores


def search(
    Q: torch.Tensor,
    D: torch.Tensor,
    D_mask: torch.Tensor,
    k: int,
    Q_mask: torch.Tensor | None = None,
    group: int = 32,
    doc_group: int = 1024,
    workspace: Workspace | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Exhaustive top-``k`` by MaxSim. Shapes as in :func:`maxsim`.

    Queries are scored in groups of ``group`` with similar lengths, each group cut to
    its longest query by ``Q_mask`` (without one, every row counts and nothing is cut);
    documents likewise in groups of ``doc_group`` with similar lengths, each cut to its
    longest document. Skipping padding changes no score and saves most of the work when
    lengths vary. One ``workspace`` serves every block (a new one when None).

    Returns
    -------
    (scores, doc_indices), each of shape (n_queries, min(k, n_docs)), best first.
    """
    if Q_mask is None:
        Q_mask = torch.ones(Q.shape[:2], dtype=torch.bool)
    lengths = used_widths(Q_mask).clamp(min=1)  # (n_queries,)
    doc_lengths = used_widths(D_mask).clamp(min=1)  # (n_docs,)
    query_groups = [(rows, int(lengths[rows].max())) for rows in length_batches(lengths, group)]
    scores = torch.empty(Q.shape[0], D.shape[0])
    ws = Workspace() if workspace is None else workspace
    for docs in length_batches(doc_lengths, doc_group):
        d_width = int(doc_lengths[docs].max())
        # one gather per block, into a kept buffer: a block of SciFact is ~150 MB, and a fresh
        # one per call would be zero-filled page by page every query (workspace.py)
        D_block = torch.index_select(
            D[:, :d_width], 0, docs, out=ws.get("doc_block", (len(docs), d_width, D.shape[2]), D.dtype)
        )
        D_block_mask = D_mask[docs, :d_width]
        for rows, width in query_groups:
            block = maxsim(Q[rows, :width], D_block, D_block_mask, Q_mask[rows, :width], ws)
            scores[rows[:, None], docs[None, :]] = block
    top = torch.topk(scores, k=min(k, scores.shape[1]), dim=1)
    return top.values, top.indices


def maxsim_packed(
    q: torch.Tensor, vectors: torch.Tensor, offsets: torch.Tensor, workspace: Workspace | None = None
) -> torch.Tensor:
    """MaxSim of one query against documents stored back to back, without padding.

    Parameters
    ----------
    q : torch.Tensor
        One query's token vectors, shape (query_len, dim); every row scores.
    vectors : torch.Tensor
        Documents' token vectors concatenated, shape (n_tokens, dim).
    offsets : torch.Tensor
        Shape (n_docs + 1,): document ``i`` is ``vectors[offsets[i]:offsets[i+1]]``;
        every document has at least one vector.
    workspace : Workspace, optional
        Where the similarity matrix is written, as in :func:`maxsim`.

    Returns
    -------
    torch.Tensor
        Scores, shape (n_docs,), float32; equal to :func:`maxsim` on the padded form.

    >>> q = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    >>> vectors = torch.tensor([[1.0, 0.0], [0.6, 0.8], [-1.0, 0.0]])
    >>> maxsim_packed(q, vectors, torch.tensor([0, 2, 3]))
    tensor([ 1.8000, -1.0000])
    """
    lengths = offsets[1:] - offsets[:-1]
    if len(lengths) and int(lengths.min()) < 1:
        raise ValueError("every document needs at least one vector")
    if int(offsets[-1]) != len(vectors):
        raise ValueError(f"offsets end at {int(offsets[-1])} but there are {len(vectors)} vectors")
    ws = Workspace() if workspace is None else workspace
    if vectors.dtype != torch.float32:  # e.g. float16 storage: widened into a kept buffer
        vectors = ws.get("packed_vectors", tuple(vectors.shape)).copy_(vectors)
    sim = torch.mm(q.float(), vectors.T, out=ws.get("packed_sim", (len(q), len(vectors)))).numpy()
    if len(lengths) == 0:
        return torch.zeros(0)
    best = np.maximum.reduceat(
        sim, offsets[:-1].numpy(), axis=1
    )  # (query_len, n_docs): max per document segment
    return torch.from_numpy(best.sum(axis=0, dtype=np.float32))


def token_matches(
    q: torch.Tensor,
    d: torch.Tensor,
    d_mask: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Which document token each query token matched, for one query-document pair.

    Parameters
    ----------
    q : torch.Tensor
        One query's token vectors, shape (query_len, dim).
    d : torch.Tensor
        One document's token vectors, shape (doc_len, dim).
    d_mask : torch.Tensor
        Bool, shape (doc_len,).

    Returns
    -------
    (sim, best_index, best_score)
        ``sim``: (query_len, doc_len) similarities, ``-inf`` at padded positions;
        ``best_index``: (query_len,) the matched document position per query token;
        ``best_score``: (query_len,) its similarity. ``best_score.sum()`` is MaxSim.

    >>> q = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    >>> d = torch.tensor([[0.6, 0.8], [1.0, 0.0], [0.0, 1.0]])
    >>> _, idx, val = token_matches(q, d, torch.tensor([True, True, False]))
    >>> idx.tolist(), val.tolist()
    ([1, 0], [1.0, 0.800000011920929])
    """
    if not bool(d_mask.any()):
        raise ValueError("the document has no unmasked token to match")
    sim = (q.float() @ d.float().T).masked_fill(~d_mask.view(1, -1), float("-inf"))  # (query_len, doc_len)
    best_score, best_index = sim.max(dim=1)
    return sim, best_index, best_score


def _check_shapes(Q, D, D_mask, Q_mask) -> None:
    if Q.dim() != 3 or D.dim() != 3:
        raise ValueError(f"Q and D must be 3-d (n, len, dim); got {tuple(Q.shape)} and {tuple(D.shape)}")
    if Q.shape[2] != D.shape[2]:
        raise ValueError(f"query dim {Q.shape[2]} != document dim {D.shape[2]}")
    if D_mask.shape != D.shape[:2] or D_mask.dtype != torch.bool:
        raise ValueError(
            f"D_mask must be bool of shape {tuple(D.shape[:2])}; got {D_mask.dtype} {tuple(D_mask.shape)}"
        )
    if D.shape[0] and not bool(D_mask.any(dim=1).all()):
        raise ValueError("every document needs at least one unmasked token")
    if Q_mask is not None and (Q_mask.shape != Q.shape[:2] or Q_mask.dtype != torch.bool):
        raise ValueError(f"Q_mask must be bool of shape {tuple(Q.shape[:2])}")
