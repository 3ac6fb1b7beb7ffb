"""Full-text search vs vector search vs late interaction, measured the same way.

For one collection, each method indexes the corpus, ranks the top 100 documents for
every judged query, and is scored with ``metrics``. Besides quality it reports the
index size and the median time of one query run on its own (encode the query,
search everything). Late interaction here is exhaustive MaxSim over all documents:
the exact reference; the Speed chapter makes it fast.
"""

from __future__ import annotations

import hashlib
import statistics
import time
from pathlib import Path
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from . import cache, metrics
from .maxsim import search as maxsim_search
from .baselines import BM25, Dense, FastBM25
from .data import Collection
from .encoder import Encoder, TokenVectors

METHODS = ("bm25", "dense", "late")  # what ``compare`` runs by default
EXTRA_METHODS = ("bm25s", "dense_hnsw")  # the same models behind faster indexes (the Speed chapter)
LABELS = {
    "bm25": "BM25 (full text)", "dense": "dense (one vector)", "late": "late interaction (MaxSim)",
    "bm25s": "BM25, bm25s (sparse matrix)", "dense_hnsw": "dense, HNSW",
}


@dataclass
class MethodResult:
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


def run_method(method: str, collection: Collection, encoder: Encoder | None = None, k: int = 100, timing_queries: int = 30) -> MethodResult:
    """Index ``collection`` with one method and evaluate it on its judged queries.

    Rankings and timings are cached on disk (``cache.py``), keyed by the method, the
    model's weights and settings, the collection, the queries and the source code of
    the modules that compute them, so chapters that show the same comparison compute
    it once; any change to that code computes it again.
    """
    if method not in METHODS + EXTRA_METHODS:
        raise ValueError(f"unknown method {method!r}: choose from {', '.join(METHODS + EXTRA_METHODS)}")
    if not method.startswith("bm25") and encoder is None:
        raise ValueError(f"method {method!r} needs an encoder")
    key = cache.key_for(
        method=method,
        model=encoder.fingerprint() if not method.startswith("bm25") else "",
        corpus=collection.fingerprint(),
        queries=cache.key_for(ids=collection.query_ids, texts=collection.query_texts),
        k=k,
        timing_queries=timing_queries,
        code=_code_version(),
    )
    stored = cache.load_or_compute("runs", key, lambda: _rank(method, collection, encoder, k, timing_queries))
    scores, indices, stats = stored["scores"], stored["indices"], stored["stats"]
    nbytes, latency, seconds, n_doc_tokens, dim = int(stats[0]), float(stats[1]), float(stats[2]), int(stats[3]), int(stats[4])
    model = "" if method.startswith("bm25") else (encoder.name if method == "late" else f"{encoder.backbone_id}, mean-pooled")
    extra = {"n_doc_tokens": n_doc_tokens, "dim": dim} if method == "late" else {}
    run = metrics.run_from_topk(collection.query_ids, collection.doc_ids, scores, indices)
    per_query = metrics.per_query(run, collection.qrels)
    means = {name: float(np.mean(list(v.values()))) for name, v in per_query.items()}
    return MethodResult(method, model, means, per_query, run, nbytes, latency, seconds, len(collection.query_ids), extra)


def _rank(method: str, collection: Collection, encoder: Encoder | None, k: int, timing_queries: int) -> dict[str, np.ndarray]:
    """Index, rank every query, time single queries; the arrays ``run_method`` caches."""
    started = time.perf_counter()
    queries = collection.query_texts
    timed = queries[:timing_queries]
    n_doc_tokens, dim = 0, 0
    if method == "bm25":
        index = BM25(collection.doc_texts)
        scores, indices = index.search(queries, k)
        latency = _median_ms(lambda q: index.search([q], k), timed)
        nbytes = index.nbytes
    elif method == "bm25s":
        index = FastBM25(collection.doc_texts)
        scores, indices = index.search(queries, k)
        latency = _median_ms(lambda q: index.search([q], k), timed)
        nbytes = index.nbytes
    elif method in ("dense", "dense_hnsw"):
        index = Dense(encoder, collection.doc_texts, collection.fingerprint(), hnsw=32 if method == "dense_hnsw" else 0)
        scores, indices = index.search(queries, k)
        latency = _median_ms(lambda q: index.search([q], k), timed)
        nbytes = index.nbytes
    else:
        vectors = encode_collection(encoder, collection)
        D, D_mask = vectors.padded()
        Q = encoder.encode_queries(queries)
        scores, indices = maxsim_search(Q, D, D_mask, k)
        scores, indices = scores.numpy(), indices.numpy()
        latency = _median_ms(lambda q: maxsim_search(encoder.encode_queries([q]), D, D_mask, k), timed)
        nbytes, n_doc_tokens, dim = vectors.nbytes, len(vectors.vectors), encoder.dim
    stats = [nbytes, latency, time.perf_counter() - started, n_doc_tokens, dim]
    return {"scores": np.asarray(scores, dtype=np.float32), "indices": np.asarray(indices, dtype=np.int64), "stats": np.asarray(stats, dtype=np.float64)}


def _code_version() -> str:
    """A hash of the source of every module a ranking depends on."""
    here = Path(__file__).parent
    names = ("compare.py", "baselines.py", "encoder.py", "maxsim.py", "metrics.py", "data.py", "cache.py")
    return cache.key_for(code=[hashlib.sha256((here / n).read_bytes()).hexdigest() for n in names])


def compare(collection: Collection, encoder: Encoder | None, methods: Sequence[str] = METHODS, **kwargs) -> dict[str, MethodResult]:
    """Run several methods on one collection."""
    return {m: run_method(m, collection, encoder, **kwargs) for m in methods}


def encode_collection(encoder: Encoder, collection: Collection) -> TokenVectors:
    """The collection's document token vectors (backbone pass cached by corpus hash)."""
    return encoder.encode_corpus(collection.doc_texts, corpus_key=collection.fingerprint())


def first_relevant_rank(run: dict[str, dict[str, float]], qrels: dict[str, dict[str, int]]) -> dict[str, int | None]:
    """Rank (1-based) of the first relevant document per judged query; None if not retrieved.

    >>> first_relevant_rank({"q": {"x": 3.0, "a": 2.0}}, {"q": {"a": 1}})
    {'q': 2}
    """
    ranks: dict[str, int | None] = {}
    for q, judged in qrels.items():
        ranked = sorted(run.get(q, {}).items(), key=lambda kv: -kv[1])
        ranks[q] = next((i + 1 for i, (d, _) in enumerate(ranked) if judged.get(d, 0) > 0), None)
    return ranks


def failure_cases(results: dict[str, MethodResult], qrels: dict[str, dict[str, int]]) -> list[dict]:
    """For every ordered pair of methods (winner, loser): the query where the winner
    ranks a relevant document first and the loser ranks its first relevant document
    lowest (or not at all in the top k). One example per pair, where one exists."""
    ranks = {m: first_relevant_rank(r.run, qrels) for m, r in results.items()}
    cases = []
    for winner in results:
        for loser in results:
            if winner == loser:
                continue
            best = None
            for q in qrels:
                if ranks[winner][q] != 1:
                    continue
                loser_rank = ranks[loser][q] or 10**9  # not retrieved at all: the worst case
                if loser_rank > 10 and (best is None or loser_rank > best[1]):
                    best = (q, loser_rank)
            if best is not None:
                q, loser_rank = best
                cases.append({
                    "winner": winner,
                    "loser": loser,
                    "query_id": q,
                    "winner_rank": 1,
                    "loser_rank": None if loser_rank == 10**9 else loser_rank,
                    "relevant_doc_id": max(results[winner].run[q], key=results[winner].run[q].get),  # the winner's top hit
                })
    return cases


def _median_ms(fn, items) -> float:
    times = []
    for item in items:
        t = time.perf_counter()
        fn(item)
        times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times) if times else float("nan")
