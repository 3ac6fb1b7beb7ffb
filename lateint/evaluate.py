"""One retrieval method over one collection, measured: what ``lateint evaluate`` prints.

``run_method`` indexes the corpus with BM25, one pooled dense vector or late
interaction, ranks the top ``k`` documents for every judged query and scores the
ranking with ``metrics``. Besides quality it reports the index size and the median time
of one query run on its own (encode the query, search everything). Late interaction
here is exhaustive MaxSim over all documents: the exact reference.

Rankings and timings are cached on disk (``cache.py``), keyed by the method, the model's
weights and settings, the collection, the queries and the source of the modules that
compute them, so the chapters, the command line and training share one computation.

Left out: approximate late-interaction search (``plaid.py``), and comparing methods
side by side (the book's ``experiments.compare``).
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field

import numpy as np

from . import baselines, cache, data, maxsim, metrics, timing
from . import encoder as encoder_module
from . import vectors as vectors_module
from .baselines import BM25, Dense, FastBM25
from .data import Collection
from .encoder import Encoder
from .vectors import TokenVectors
from .workspace import Workspace

METHODS = ("bm25", "dense", "late")  # what ``lateint evaluate`` runs by default
FAST_METHODS = ("bm25s", "dense_hnsw")  # the same models behind faster indexes (the Speed chapter)


@dataclass
class Result:
    method: str
    model: str  # what produced the vectors ("" for BM25)
    metrics: dict[str, float]  # mean nDCG@10, R@100, MRR@10 over judged queries
    per_query: dict[str, dict[str, float]]  # measure -> query id -> value
    run: dict[str, dict[str, float]]  # query id -> top-k doc id -> score
    index_bytes: int
    query_ms: float  # median latency of one query on its own
    seconds: float  # indexing (encoding may come from the cache) and ranking all queries
    n_queries: int
    extra: dict = field(default_factory=dict)

    def summary(self) -> dict:
        """One flat record: what the command line prints."""
        return {
            "method": self.method,
            "model": self.model,
            **{k: round(v, 4) for k, v in self.metrics.items()},
            "queries": self.n_queries,
            "index_MB": round(self.index_bytes / 1e6, 2),
            "query_ms": round(self.query_ms, 2),
            "seconds": round(self.seconds, 1),
        }


def run_method(
    method: str,
    collection: Collection,
    encoder: Encoder | None = None,
    k: int = 100,
    timing_queries: int = 30,
) -> Result:
    """Index ``collection`` with one method and evaluate it on its judged queries.

    ``timing_queries`` single queries are timed (0: none; ``query_ms`` is then nan).
    """
    if method not in METHODS + FAST_METHODS:
        raise ValueError(f"unknown method {method!r}: choose from {', '.join(METHODS + FAST_METHODS)}")
    lexical = method.startswith("bm25")
    if not lexical and encoder is None:
        raise ValueError(f"method {method!r} needs an encoder")
    key = cache.key_for(
        method=method,
        model="" if lexical else encoder.fingerprint(),
        corpus=collection.fingerprint(),
        queries=collection.queries_fingerprint(),
        k=k,
        timing_queries=timing_queries,
        code=cache.source_key(
            baselines,
            cache,
            data,
            encoder_module,
            maxsim,
            metrics,
            timing,
            vectors_module,
            sys.modules[__name__],
        ),
    )
    stored = cache.load_or_compute("runs", key, lambda: _rank(method, collection, encoder, k, timing_queries))
    run = metrics.run_from_topk(
        collection.query_ids, collection.doc_ids, stored.arrays["scores"], stored.arrays["indices"]
    )
    per_query = metrics.per_query(run, collection.qrels)
    model = "" if lexical else (encoder.name if method == "late" else f"{encoder.backbone_id}, mean-pooled")
    meta = stored.meta
    extra = {"n_doc_tokens": meta["n_doc_tokens"], "dim": meta["dim"]} if method == "late" else {}
    return Result(
        method,
        model,
        metrics.means(per_query),
        per_query,
        run,
        meta["index_bytes"],
        meta["query_ms"],
        meta["seconds"],
        len(collection.query_ids),
        extra,
    )


def encode_collection(encoder: Encoder, collection: Collection) -> TokenVectors:
    """The collection's document token vectors (backbone pass cached by corpus hash)."""
    return encoder.encode_corpus(collection.doc_texts, corpus_key=collection.fingerprint())


def _rank(
    method: str, collection: Collection, encoder: Encoder | None, k: int, timing_queries: int
) -> cache.Entry:
    """Index, rank every query, time single queries; what ``run_method`` caches."""
    started = time.perf_counter()
    queries = collection.query_texts
    timed = queries[:timing_queries]
    meta = {"n_doc_tokens": 0, "dim": 0}
    if method == "late":
        vectors = encode_collection(encoder, collection)
        D, D_mask = vectors.padded()
        Q, Q_mask = encoder.encode_queries(queries)
        scores, indices = maxsim.search(Q, D, D_mask, k, Q_mask)
        scores, indices = scores.numpy(), indices.numpy()

        workspace = Workspace()  # buffers kept across the timed queries, as a server would

        def one_query(text: str):
            q, q_mask = encoder.encode_queries([text])
            return maxsim.search(q, D, D_mask, k, q_mask, workspace=workspace)

        latency = timing.median_ms(one_query, timed)
        meta = {"n_doc_tokens": len(vectors.vectors), "dim": encoder.dim}
        nbytes = vectors.nbytes
    else:
        if method == "bm25":
            index = BM25(collection.doc_texts)
        elif method == "bm25s":
            index = FastBM25(collection.doc_texts)
        else:
            index = Dense(
                encoder,
                collection.doc_texts,
                collection.fingerprint(),
                hnsw=32 if method == "dense_hnsw" else 0,
            )
        scores, indices = index.search(queries, k)
        latency = timing.median_ms(lambda q: index.search([q], k), timed)
        nbytes = index.nbytes
    meta.update(index_bytes=int(nbytes), query_ms=latency, seconds=time.perf_counter() - started)
    arrays = {"scores": np.asarray(scores, dtype=np.float32), "indices": np.asarray(indices, dtype=np.int64)}
    return cache.Entry(arrays, meta)
