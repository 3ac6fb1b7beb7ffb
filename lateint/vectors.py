"""Ragged token vectors: many documents' vectors stored back to back, and the helpers for them.

Documents have different lengths. An index stores their token vectors concatenated,
shape (n_tokens, dim), with ``offsets`` (n_docs + 1,) saying where each document starts:
document ``i`` is ``vectors[offsets[i]:offsets[i+1]]``. MaxSim over a batch wants the
padded form instead, ``D`` (n_docs, max_len, dim) with ``D_mask`` (n_docs, max_len).
``TokenVectors`` holds the first and gives the second; the functions below are the
ragged-array arithmetic every module needs (offsets from lengths, the document of each
token, batches of similar length), written once.

Left out: memory-mapped or sharded storage; everything here lives in memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from .workspace import Workspace


def offsets_from_lengths(lengths):
    """Start of each segment, and the total at the end: shape (n + 1,), int64.

    Works on a torch tensor (returns one) or anything numpy takes (returns an array).

    >>> offsets_from_lengths([2, 0, 3]).tolist()
    [0, 2, 2, 5]
    """
    if isinstance(lengths, torch.Tensor):
        offsets = torch.zeros(len(lengths) + 1, dtype=torch.long)
        offsets[1:] = torch.cumsum(lengths, 0)
        return offsets
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum(lengths)
    return offsets


def segment_ids(offsets):
    """The segment (document) of each row, shape (offsets[-1],).

    >>> segment_ids(np.array([0, 2, 2, 5])).tolist()
    [0, 0, 2, 2, 2]
    """
    if isinstance(offsets, torch.Tensor):
        return torch.repeat_interleave(torch.arange(len(offsets) - 1), offsets[1:] - offsets[:-1])
    offsets = np.asarray(offsets)
    return np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))


def segment_rows(offsets: np.ndarray, which: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rows of the chosen segments, ``offsets[w]:offsets[w+1]`` for each ``w`` in
    ``which`` concatenated in that order, and each chosen segment's length.

    >>> rows, lengths = segment_rows(np.array([0, 2, 2, 5]), np.array([2, 0]))
    >>> rows.tolist(), lengths.tolist()
    ([2, 3, 4, 0, 1], [3, 2])
    """
    starts, lengths = offsets[which], offsets[which + 1] - offsets[which]
    # each segment's start, then counting up: no loop over segments
    return np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(lengths.sum()), lengths


def length_batches(lengths: torch.Tensor, batch_size: int, descending: bool = False) -> list[torch.Tensor]:
    """Row indices in batches of similar length, so that each batch pads only to its own longest.

    >>> [b.tolist() for b in length_batches(torch.tensor([5, 1, 4, 2]), 2)]
    [[1, 3], [2, 0]]
    """
    order = torch.argsort(lengths, descending=descending)
    return list(order.split(batch_size))


def used_widths(mask: torch.Tensor) -> torch.Tensor:
    """(n, length) bool -> (n,) each row's width up to its last True (0 if none): how far a
    padded row must be kept.

    >>> used_widths(torch.tensor([[True, False, True, False], [False] * 4]))
    tensor([3, 0])
    """
    if mask.shape[1] == 0:
        return torch.zeros(mask.shape[0], dtype=torch.long)
    return (mask * torch.arange(1, mask.shape[1] + 1)).amax(dim=1)


def unpad(Q: torch.Tensor, Q_mask: torch.Tensor) -> list[torch.Tensor]:
    """Each query's real vectors: ``Q`` (n, query_len, dim), ``Q_mask`` (n, query_len) ->
    n tensors of shape (query_len_i, dim)."""
    return [q[m] for q, m in zip(Q, Q_mask)]


def check_query(q: torch.Tensor, dim: int) -> None:
    """Refuse what is not one query's real vectors, ``q`` (query_len, dim): the wrong shape,
    no rows, or an all-zero row (padding, which would probe arbitrary cells and score).

    >>> check_query(torch.zeros(2, 4), 4)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ValueError: row 0 of the query is all zeros (padding?): ...
    """
    if q.dim() != 2 or q.shape[1] != dim:
        raise ValueError(f"q must have shape (query_len, {dim}); got {tuple(q.shape)}")
    if len(q) == 0:
        raise ValueError("the query has no vectors")
    zero = (~q.any(dim=1)).nonzero()
    if len(zero):
        raise ValueError(
            f"row {int(zero[0])} of the query is all zeros (padding?): "
            "pass one query's real vectors, e.g. vectors.unpad(Q, Q_mask)"
        )


def pad(rows: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """The inverse of :func:`unpad`: ``Q`` zero-padded to the longest, and ``Q_mask``.

    >>> Q, Q_mask = pad([torch.ones(2, 3), torch.ones(1, 3)])
    >>> tuple(Q.shape), Q_mask.tolist()
    ((2, 2, 3), [[True, True], [True, False]])
    """
    Q = torch.nn.utils.rnn.pad_sequence(list(rows), batch_first=True)  # (n, longest, dim)
    lengths = torch.tensor([len(r) for r in rows])
    return Q, torch.arange(Q.shape[1])[None, :] < lengths[:, None]


@dataclass
class TokenVectors:
    """A corpus's document token vectors, concatenated (what an index stores).

    ``vectors[offsets[i]:offsets[i+1]]`` are document ``i``'s vectors, shape
    (n_tokens_i, dim); ``token_ids`` gives the wordpiece id of each.
    """

    vectors: torch.Tensor  # (n_tokens, dim)
    offsets: torch.Tensor  # (n_docs + 1,) int64
    token_ids: torch.Tensor  # (n_tokens,) int64

    @property
    def n_docs(self) -> int:
        return len(self.offsets) - 1

    @property
    def dim(self) -> int:
        return self.vectors.shape[1]

    @property
    def lengths(self) -> torch.Tensor:
        return self.offsets[1:] - self.offsets[:-1]

    @property
    def doc_of_token(self) -> torch.Tensor:
        """(n_tokens,) the document each vector belongs to."""
        return segment_ids(self.offsets)

    def doc(self, i: int) -> torch.Tensor:
        return self.vectors[self.offsets[i] : self.offsets[i + 1]]

    def select(self, doc_indices: Sequence[int], workspace: Workspace | None = None) -> TokenVectors:
        """The vectors of some documents, in the given order. With a ``workspace`` they are
        written into its kept "select" buffer, which the next such call overwrites: for a
        loop that scores one selection per query (``workspace.py`` says why)."""
        idx = torch.as_tensor(doc_indices, dtype=torch.long)
        rows, lengths = (torch.from_numpy(a) for a in segment_rows(self.offsets.numpy(), idx.numpy()))
        if workspace is None:
            chosen = self.vectors[rows]
        else:
            out = workspace.get("select", (len(rows), self.dim), self.vectors.dtype)
            chosen = torch.index_select(self.vectors, 0, rows, out=out)
        return TokenVectors(chosen, offsets_from_lengths(lengths), self.token_ids[rows])

    def padded(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``D`` (n_docs, max_len, dim) zero-padded, and ``D_mask`` (n_docs, max_len) bool."""
        lengths = self.lengths
        n, max_len = self.n_docs, int(lengths.max()) if self.n_docs else 0
        doc_of_token = self.doc_of_token  # (n_tokens,)
        position = torch.arange(len(self.vectors)) - self.offsets[doc_of_token]  # (n_tokens,)
        D = torch.zeros(n, max_len, self.dim, dtype=self.vectors.dtype)
        D[doc_of_token, position] = self.vectors
        D_mask = torch.zeros(n, max_len, dtype=torch.bool)
        D_mask[doc_of_token, position] = True
        return D, D_mask

    @property
    def nbytes(self) -> int:
        return self.vectors.element_size() * self.vectors.nelement()
