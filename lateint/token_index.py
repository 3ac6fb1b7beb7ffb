"""ColBERT's original end-to-end search {cite}`khattab2020colbert`: a token index.

Every document token vector goes into a faiss index, each row remembering its
document. A query runs one lookup per query vector (its ``k`` nearest document token
vectors); the documents owning those tokens are the candidates; exact MaxSim over the
candidates' full token vectors ranks them. With ``nlist > 0`` the token index is an
IVF: faiss k-means centroids, each lookup probing ``nprobe`` cells instead of scanning
every vector. It keeps every vector in float32.

Left out: compression and pruning, which ``plaid.py`` adds. Searches one query at a
time, ``q`` (query_len, dim): ``vectors.unpad(Q, Q_mask)`` gives them for a batch.
"""

from __future__ import annotations

from dataclasses import dataclass

import faiss
import numpy as np
import torch

from .maxsim import maxsim
from .vectors import TokenVectors, check_query


@dataclass
class Lookup:
    """One query's candidate generation, for inspection."""

    token_scores: np.ndarray  # (n_query_vectors, k) similarity of each hit
    token_docs: np.ndarray  # (n_query_vectors, k) document of each hit (-1: none)
    candidates: np.ndarray  # sorted unique documents hit by any query vector


class TokenIndex:
    """Document token vectors in a faiss inner-product index.

    Parameters
    ----------
    vectors : TokenVectors
        The corpus, as ``Encoder.encode_corpus`` returns it.
    nlist : int
        0 for an exact flat index; else the number of IVF cells (k-means centroids).
    nprobe : int
        IVF cells each lookup visits.
    seed : int
        For k-means.
    """

    def __init__(self, vectors: TokenVectors, nlist: int = 0, nprobe: int = 8, seed: int = 0):
        if vectors.n_docs == 0:
            raise ValueError("cannot index an empty corpus")
        self.vectors = vectors
        self.doc_of_token = vectors.doc_of_token.numpy()  # (n_tokens,)
        data = np.ascontiguousarray(vectors.vectors.float().numpy())
        dim = data.shape[1]
        if nlist:
            quantizer = faiss.IndexFlatIP(dim)
            self.faiss = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
            kmeans_sample = data[
                np.random.default_rng(seed).choice(len(data), size=min(len(data), 256 * nlist), replace=False)
            ]
            self.faiss.cp.seed = seed
            self.faiss.train(kmeans_sample)
            self.faiss.nprobe = nprobe
        else:
            self.faiss = faiss.IndexFlatIP(dim)
        self.faiss.add(data)

    def lookup(self, q: torch.Tensor, k: int) -> Lookup:
        """One lookup per vector of one query, ``q`` (query_len, dim)."""
        check_query(q, self.faiss.d)
        scores, rows = self.faiss.search(np.ascontiguousarray(q.float().numpy()), k)
        docs = np.where(rows >= 0, self.doc_of_token[np.maximum(rows, 0)], -1)
        return Lookup(scores, docs, np.unique(docs[docs >= 0]))

    def search(
        self, q: torch.Tensor, k: int = 10, k_tokens: int = 32
    ) -> tuple[torch.Tensor, torch.Tensor, Lookup]:
        """Top-``k`` documents for one query ``q`` (query_len, dim): candidates from
        ``k_tokens`` lookups per query vector, then exact MaxSim. Returns (scores, doc
        indices, the lookup)."""
        hit = self.lookup(q, k_tokens)
        D, D_mask = self.vectors.select(hit.candidates.tolist()).padded()
        scores = maxsim(q[None], D, D_mask)[0]  # (n_candidates,)
        top = torch.topk(scores, k=min(k, len(scores)))
        return top.values, torch.as_tensor(hit.candidates)[top.indices], hit
