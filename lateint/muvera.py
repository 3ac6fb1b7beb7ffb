"""MUVERA: one fixed-size vector per document whose dot product approximates MaxSim.

Dhulipala et al. (2024) turn a set of token vectors into a *fixed dimensional encoding*
(FDE) so that a single-vector index (flat or HNSW) can find candidates, and exact
MaxSim re-ranks them. For each of ``repetitions`` independent draws:

1. ``k_sim`` random hyperplanes split the space into ``2 ** k_sim`` partitions (SimHash:
   a vector's partition is the pattern of signs of its dot products with them).
2. Every vector is projected to ``d_proj`` dimensions by a random +-1 matrix (scaled by
   ``1 / sqrt(d_proj)``, so dot products are kept in expectation).
3. A query's block for a partition is the **sum** of its projected vectors that fall
   there; a document's is their **average**. A document partition that no token falls
   in takes the token whose sign pattern is nearest in Hamming distance ("fill empty").

``<fde(query), fde(doc)>`` then sums, per query token, its dot product with the average
document token of the same partition: MaxSim with "the best match" replaced by "the
tokens that hash alike". Encodings have ``repetitions * 2 ** k_sim * d_proj`` dimensions.

``MuveraIndex`` puts the document encodings in faiss (flat, or HNSW graph) and
re-ranks each query's ``candidates`` nearest encodings by exact MaxSim over the
documents' token vectors (kept as float16).

Left out: the paper's final random projection of the whole encoding, its
partition-count tuning, and compressing the re-ranking vectors.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import faiss
import numpy as np
import torch

from .maxsim import maxsim_packed
from .vectors import TokenVectors, check_query, offsets_from_lengths
from .workspace import Workspace


@dataclass(frozen=True)
class MuveraConfig:
    k_sim: int = 4  # hyperplanes per repetition: 2 ** k_sim partitions
    d_proj: int = 16  # projected dimensions per partition
    repetitions: int = 20  # independent draws, concatenated
    fill_empty: bool = True  # documents: an empty partition takes the Hamming-nearest token
    seed: int = 0

    @property
    def dim(self) -> int:
        return self.repetitions * (2**self.k_sim) * self.d_proj


class Muvera:
    """Random hyperplanes and projections for one ``dim``; encodes queries and documents."""

    def __init__(self, dim: int, config: MuveraConfig = MuveraConfig()):
        if config.k_sim < 0 or config.d_proj < 1 or config.repetitions < 1:
            raise ValueError(f"k_sim >= 0, d_proj >= 1 and repetitions >= 1 are needed; got {config}")
        self.config = config
        g = torch.Generator().manual_seed(config.seed)
        r, k, p = config.repetitions, config.k_sim, config.d_proj
        self.planes = torch.randn(r, dim, k, generator=g)  # (r, dim, k_sim)
        signs = torch.randint(0, 2, (r, dim, p), generator=g).float() * 2 - 1
        self.projections = signs / p**0.5  # (r, dim, d_proj)
        self.bits = 2 ** torch.arange(k)  # sign pattern -> partition number

    def partitions(self, x: torch.Tensor, r: int) -> torch.Tensor:
        """(n, dim) -> (n,) each vector's partition in repetition ``r`` (its sign pattern)."""
        return ((x.float() @ self.planes[r] > 0).long() * self.bits).sum(-1)

    def encode(self, vectors: TokenVectors, is_query: bool) -> np.ndarray:
        """One encoding per document (or query, one entry per query), shape (n, config.dim), float32.

        >>> m = Muvera(2, MuveraConfig(k_sim=1, d_proj=2, repetitions=1))
        >>> v = TokenVectors(torch.eye(2), torch.tensor([0, 2]), torch.zeros(2, dtype=torch.long))
        >>> m.encode(v, is_query=True).shape
        (1, 4)
        """
        c = self.config
        n_parts = 2**c.k_sim
        x = vectors.vectors.float()  # (n_tokens, dim)
        doc = vectors.doc_of_token  # (n_tokens,)
        n = vectors.n_docs
        out = torch.zeros(c.repetitions, n * n_parts, c.d_proj)
        for r in range(c.repetitions):  # one repetition at a time: memory stays O(n_tokens * d_proj)
            parts = self.partitions(x, r)  # (n_tokens,)
            projected = x @ self.projections[r]  # (n_tokens, d_proj)
            slot = doc * n_parts + parts  # (n_tokens,) which (document, partition) block
            out[r].index_add_(0, slot, projected)
            if not is_query:
                counts = torch.bincount(slot, minlength=n * n_parts).float()  # (n * P,)
                out[r] /= counts.clamp(min=1)[:, None]
                if c.fill_empty and len(x):
                    self._fill(out[r], counts, parts, projected, doc, n, n_parts)
        out = out.view(c.repetitions, n, n_parts * c.d_proj).permute(1, 0, 2)  # (n, r, parts * d_proj)
        return out.reshape(n, c.dim).numpy()

    def _fill(self, out, counts, parts, projected, doc, n, n_parts) -> None:
        """One repetition's empty document partitions take the token with the nearest
        sign pattern (ties: the earlier token). ``out`` (n * P, d_proj), ``counts`` (n * P,)."""
        codes = torch.arange(n_parts)
        bit = torch.arange(self.config.k_sim)
        hamming = ((codes[:, None] ^ codes[None, :])[..., None] >> bit & 1).sum(-1)  # (P, P)
        n_tokens = len(doc)
        # per (document, partition): the smallest (distance, token) among the document's tokens
        key = hamming[parts] * n_tokens + torch.arange(n_tokens)[:, None]  # (n_tokens, P)
        none = n_parts * n_tokens * 2
        best = torch.full((n, n_parts), none, dtype=torch.long)
        best.scatter_reduce_(0, doc[:, None].expand(-1, n_parts), key, reduce="amin")
        empty = (counts == 0).view(n, n_parts) & (best < none)
        d, p = empty.nonzero(as_tuple=True)
        out[d * n_parts + p] = projected[best[d, p] % n_tokens]


def query_vectors(Q: torch.Tensor, Q_mask: torch.Tensor) -> TokenVectors:
    """``Q, Q_mask`` as TokenVectors (one entry per query), for :meth:`Muvera.encode`."""
    lengths = Q_mask.sum(1)
    return TokenVectors(
        Q[Q_mask], offsets_from_lengths(lengths), torch.zeros(int(lengths.sum()), dtype=torch.long)
    )


class MuveraIndex:
    """Single-vector candidates (MUVERA encodings in faiss), then exact MaxSim.

    Parameters
    ----------
    vectors : TokenVectors
        The corpus's token vectors (L2-normalized).
    doc_ids : sequence of str
    config : MuveraConfig
    hnsw : int
        0: exact inner-product search over all encodings (faiss flat); M > 0: an HNSW
        graph with M links per node, visiting ``ef_search`` nodes per query.
    """

    def __init__(
        self,
        vectors: TokenVectors,
        doc_ids: Sequence[str],
        config: MuveraConfig = MuveraConfig(),
        hnsw: int = 0,
        ef_search: int = 256,
    ):
        if len(doc_ids) != vectors.n_docs:
            raise ValueError(f"{len(doc_ids)} document ids for {vectors.n_docs} documents")
        if vectors.n_docs == 0:
            raise ValueError("cannot index an empty corpus")
        started = time.perf_counter()
        self.muvera = Muvera(vectors.dim, config)
        encodings = np.ascontiguousarray(self.muvera.encode(vectors, is_query=False))  # (n_docs, fde dim)
        if hnsw:
            self.index = faiss.IndexHNSWFlat(config.dim, hnsw, faiss.METRIC_INNER_PRODUCT)
            self.index.hnsw.efSearch = ef_search
        else:
            self.index = faiss.IndexFlatIP(config.dim)
        self.index.add(encodings)
        # the token vectors, in float16, for re-ranking
        self.tokens = TokenVectors(vectors.vectors.to(torch.float16), vectors.offsets, vectors.token_ids)
        self.doc_ids = list(doc_ids)
        self.workspace = Workspace()  # the re-ranking's buffers, kept across queries
        self.build_seconds = time.perf_counter() - started

    def search(
        self, q: torch.Tensor, k: int = 10, candidates: int = 100, workspace: Workspace | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Top-``k`` (scores, document positions) for one query ``q`` (query_len, dim):
        the ``candidates`` nearest encodings, re-ranked by exact MaxSim. ``workspace``:
        buffers to reuse; by default the index's own (one per searching thread)."""
        check_query(q, self.tokens.dim)
        fde = self.muvera.encode(query_vectors(q[None], torch.ones(1, len(q), dtype=torch.bool)), True)
        _, found = self.index.search(fde, min(candidates, self.index.ntotal))
        docs = torch.from_numpy(found[0][found[0] >= 0])
        ws = self.workspace if workspace is None else workspace
        found = self.tokens.select(docs.tolist(), ws)
        scores = maxsim_packed(q, found.vectors, found.offsets, ws)
        top = torch.topk(scores, k=min(k, len(scores)))
        return top.values, docs[top.indices]

    @property
    def nbytes(self) -> int:
        """The encodings' index plus the float16 token vectors kept for re-ranking."""
        return int(faiss.serialize_index(self.index).nbytes + self.tokens.nbytes + self.tokens.offsets.nbytes)
