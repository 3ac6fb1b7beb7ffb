"""The two baselines late interaction is measured against, over the same collections.

- ``BM25``: full-text search with rank-bm25's ``BM25Okapi`` scoring and Lucene's idf
  (as Elasticsearch and Anserini, the BEIR baselines, compute it). Tokenization:
  lowercase, then every run of word characters (``\\w+``) is a term; no stemming, no
  stopwords. k1=0.9, b=0.4 (Anserini's defaults). ``FastBM25`` is the same with bm25s.
- ``Dense``: one vector per text, the mean of the backbone's token vectors over all
  attended tokens, L2-normalized (how all-MiniLM-L6-v2 was trained), searched
  exactly with a faiss inner-product index.

Left out: query expansion, learned sparse models, approximate dense search (the
Speed chapter measures HNSW).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

import bm25s
import faiss
import numpy as np
import torch
from rank_bm25 import BM25Okapi

if TYPE_CHECKING:
    from .encoder import Encoder

_TERM = re.compile(r"\w+")


def bm25_terms(text: str) -> list[str]:
    """BM25's tokenization.

    >>> bm25_terms("ColBERT's MaxSim, 2-bit!")
    ['colbert', 's', 'maxsim', '2', 'bit']
    """
    return _TERM.findall(text.lower())


class _LuceneIdf(BM25Okapi):
    """rank-bm25's Okapi scoring with Lucene's idf, log(1 + (N - n + 0.5) / (n + 0.5)),
    which is never negative. rank-bm25's own idf drops below zero for terms in more than
    half the documents and is floored at an arbitrary epsilon instead."""

    def _calc_idf(self, nd):
        self.idf = {term: math.log(1 + (self.corpus_size - n + 0.5) / (n + 0.5)) for term, n in nd.items()}


class BM25:
    """BM25 over a list of document texts (rank-bm25, Lucene's idf)."""

    def __init__(self, doc_texts: Sequence[str], k1: float = 0.9, b: float = 0.4):
        if not doc_texts:
            raise ValueError("BM25 needs at least one document")
        self.model = _LuceneIdf([bm25_terms(t) for t in doc_texts], k1=k1, b=b)
        self.n_docs = len(doc_texts)

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every document, shape (n_docs,)."""
        terms = bm25_terms(query)
        if not terms:
            raise ValueError(f"query {query!r} has no term BM25 can match")
        return self.model.get_scores(terms)

    def term_weights(self, query: str, doc_index: int) -> list[tuple[str, int, float]]:
        """What each query term adds to one document's score: ``(term, postings, weight)``
        per term occurrence, where postings is how many documents hold the term. The
        weights add up to ``scores(query)[doc_index]``.

        >>> bm25 = BM25(["the tide rises", "the moon", "tide tables for the moon"])
        >>> [(t, n, round(w, 3)) for t, n, w in bm25.term_weights("moon tide", 1)]
        [('moon', 2, 0.509), ('tide', 2, 0.0)]
        """
        postings = {
            term: sum(term in freqs for freqs in self.model.doc_freqs) for term in set(bm25_terms(query))
        }
        return [
            (term, postings[term], float(self.model.get_batch_scores([term], [doc_index])[0]))
            for term in bm25_terms(query)
        ]

    def search(self, queries: Sequence[str], k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` scores and document indices, each of shape (n_queries, k)."""
        k = min(k, self.n_docs)
        scores = np.stack([self.scores(q) for q in queries])  # (n_queries, n_docs)
        top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
        return np.take_along_axis(scores, top, axis=1), top

    @property
    def nbytes(self) -> int:
        """Size of the inverted index as compact postings: 4-byte doc id + 4-byte term count each."""
        return 8 * sum(len(freqs) for freqs in self.model.doc_freqs)


class FastBM25:
    """BM25 with bm25s (a sparse matrix of precomputed term scores): same terms, same k1
    and b as ``BM25``, Lucene's idf, and orders of magnitude faster on many queries."""

    def __init__(self, doc_texts: Sequence[str], k1: float = 0.9, b: float = 0.4):
        if not doc_texts:
            raise ValueError("BM25 needs at least one document")
        self.model = bm25s.BM25(k1=k1, b=b, method="lucene")
        self.model.index([bm25_terms(t) for t in doc_texts], show_progress=False)
        self.n_docs = len(doc_texts)

    def search(self, queries: Sequence[str], k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` scores and document indices, each of shape (n_queries, k)."""
        terms = [bm25_terms(q) or ["\0"] for q in queries]  # a term no document has: all scores 0
        indices, scores = self.model.retrieve(terms, k=min(k, self.n_docs), show_progress=False)
        return scores, indices

    @property
    def nbytes(self) -> int:
        return int(sum(a.nbytes for a in self.model.scores.values() if isinstance(a, np.ndarray)))


class Dense:
    """Dense retrieval: one mean-pooled, normalized vector per text, faiss inner product.

    ``hnsw=0`` searches exactly (a flat index); ``hnsw=M`` builds an HNSW graph with
    ``M`` links per node {cite}`malkov2018hnsw` and visits ``ef_search`` nodes per query.
    """

    def __init__(
        self,
        encoder: Encoder,
        doc_texts: Sequence[str],
        corpus_key: str | None = None,
        hnsw: int = 0,
        ef_search: int = 128,
    ):
        self.encoder = pooling_encoder(encoder)
        backbone = self.encoder.backbone_corpus(doc_texts, corpus_key)
        self.doc_vectors = pool(backbone["hidden"], backbone["offsets"])  # (n_docs, hidden)
        dim = self.doc_vectors.shape[1]
        if hnsw:
            self.index = faiss.IndexHNSWFlat(dim, hnsw, faiss.METRIC_INNER_PRODUCT)
            self.index.hnsw.efSearch = ef_search
        else:
            self.index = faiss.IndexFlatIP(dim)
        self.index.add(self.doc_vectors)

    def encode_queries(self, queries: Sequence[str]) -> np.ndarray:
        """One vector per query, shape (n_queries, hidden)."""
        tok = self.encoder.tokenize_queries(queries)
        hidden = self.encoder.backbone_states(
            tok["input_ids"], tok["attention_mask"], batch_size=64
        )  # (n, len, hidden)
        mask = tok["attention_mask"].unsqueeze(-1).float()
        pooled = (hidden * mask).sum(1) / mask.sum(1)
        return torch.nn.functional.normalize(pooled, dim=-1).numpy()

    def search(self, queries: Sequence[str], k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` cosine similarities and document indices, each (n_queries, k)."""
        return self.index.search(self.encode_queries(queries), min(k, self.index.ntotal))

    @property
    def nbytes(self) -> int:
        return int(faiss.serialize_index(self.index).nbytes)


def pooling_encoder(encoder: Encoder) -> Encoder:
    """The backbone as sentence-transformers runs it: no markers, no projection, every
    token kept, queries as long as documents (``doc_maxlen``)."""
    return encoder.with_config(
        dim=None,
        query_marker=None,
        doc_marker=None,
        query_augmentation=False,
        mask_punctuation=False,
        query_maxlen=encoder.config.doc_maxlen,
    )


def pool(hidden: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Mean of each document's token vectors, L2-normalized.

    Parameters
    ----------
    hidden : np.ndarray
        (n_tokens, hidden) all documents' token vectors, concatenated.
    offsets : np.ndarray
        (n_docs + 1,) document ``i`` owns rows ``offsets[i]:offsets[i+1]``.

    >>> pool(np.array([[1., 0.], [0., 1.], [3., 4.]]), np.array([0, 2, 3])).round(3)
    array([[0.707, 0.707],
           [0.6  , 0.8  ]], dtype=float32)
    """
    sums = np.add.reduceat(hidden, offsets[:-1], axis=0, dtype=np.float32)  # (n_docs, hidden)
    means = sums / np.diff(offsets)[:, None]
    return (means / np.linalg.norm(means, axis=1, keepdims=True)).astype(np.float32)
