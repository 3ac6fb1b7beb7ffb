"""Speed against quality: an index's knobs swept, and how search cost grows with the corpus.

``sweep`` runs every judged query through a ``LateIndex`` at each setting and reports
nDCG@10 with latency percentiles; each query is encoded once, timed on its own, and
its encoding time is added to each setting's search time for the end-to-end figure.
``scaling`` measures exhaustive MaxSim and the index on growing slices of a corpus, and
``fit_power`` fits ``ms = a * n ** b`` to extrapolate on paper.

Left out: concurrency (one query at a time, 2 threads) and memory-mapped indexes.
"""

from __future__ import annotations

import hashlib
import statistics
import time
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from . import cache, metrics
from .data import Collection
from .encoder import Encoder, TokenVectors
from .index import IndexConfig, LateIndex
from .maxsim import maxsim


def cached_index(vectors: TokenVectors, doc_ids: Sequence[str], config: IndexConfig, corpus_key: str, centroids: np.ndarray | None = None) -> LateIndex:
    """Build an index once; later calls load its file (``indexfile.py``) from the cache
    folder. ``corpus_key`` must identify the vectors (collection and model); the key
    adds the settings, the given centroids and the source of the index code."""
    source = [hashlib.sha256((Path(__file__).parent / name).read_bytes()).hexdigest() for name in ("index.py", "compress.py")]
    key = cache.key_for(kind="late-index", corpus=corpus_key, config=str(config), n_tokens=len(vectors.vectors), code=cache.key_for(source=source),
                        centroids=None if centroids is None else hashlib.sha256(np.ascontiguousarray(centroids, dtype=np.float32).tobytes()).hexdigest())
    path = cache.cache_dir() / "indexes" / f"{key}.lateint"
    if path.is_file():
        return LateIndex.load(path)
    index = LateIndex.build(vectors, doc_ids, config, centroids=centroids)
    path.parent.mkdir(parents=True, exist_ok=True)
    index.save(path)
    return index


def encode_one_by_one(encoder: Encoder, texts: Sequence[str]) -> tuple[torch.Tensor, np.ndarray]:
    """Every query encoded on its own, as a search service sees them: Q (n, query_len,
    dim) zero-padded to the longest, and each query's encoding time in ms."""
    rows, ms = [], []
    for text in texts:
        start = time.perf_counter()
        rows.append(encoder.encode_queries([text])[0])
        ms.append((time.perf_counter() - start) * 1e3)
    Q = torch.nn.utils.rnn.pad_sequence(rows, batch_first=True)  # zero rows add 0 to MaxSim
    return Q, np.array(ms)


def sweep(index: LateIndex, Q: torch.Tensor, encode_ms: np.ndarray, collection: Collection, settings: Sequence[dict], k: int = 100, progress: bool = True) -> list[dict]:
    """One row per setting (``nprobe``, ``ndocs``): nDCG@10, R@100, search and end-to-end
    latency percentiles, median candidates, documents scored exactly and stage times.

    Parameters
    ----------
    Q : torch.Tensor
        (n_queries, query_len, dim) the collection's queries in order.
    encode_ms : np.ndarray
        (n_queries,) each query's encoding time.
    """
    rows = []
    for setting in tqdm(settings, desc="index settings", disable=not progress):
        scores = np.full((len(Q), k), -np.inf, dtype=np.float32)
        docs = np.full((len(Q), k), -1, dtype=np.int64)
        search_ms, candidates, scored, stages = [], [], [], []
        for i in range(len(Q)):
            start = time.perf_counter()
            hits = index.search(Q[i], k=k, **setting)
            search_ms.append((time.perf_counter() - start) * 1e3)
            scores[i, : len(hits.docs)], docs[i, : len(hits.docs)] = hits.scores.numpy(), hits.docs.numpy()
            candidates.append(hits.n_candidates)
            scored.append(hits.n_scored)
            stages.append(hits.stage_ms)
        quality = metrics.evaluate(metrics.run_from_topk(collection.query_ids, index.doc_ids, scores, docs), collection.qrels)
        search_ms = np.array(search_ms)
        rows.append({
            **setting, **quality,
            "p50_ms": float(np.median(search_ms)), "p95_ms": float(np.percentile(search_ms, 95)),
            "end_to_end_p50_ms": float(np.median(search_ms + encode_ms)),
            "candidates": float(np.median(candidates)), "scored": float(np.median(scored)),
            **{f"{stage}_ms": float(np.median([s[stage] for s in stages])) for stage in stages[0]},
        })
    return rows


def scaling(vectors: TokenVectors, doc_ids: Sequence[str], Q: torch.Tensor, fractions: Sequence[float], setting: dict, config: IndexConfig, corpus_key: str, timing_queries: int = 30, seed: int = 0) -> list[dict]:
    """Exhaustive MaxSim and the index on random slices of the corpus.

    Each slice gets its own index (its own k-means, ``nlist`` growing with its tokens).
    Returns one row per fraction: documents, tokens, median ms per query for both
    (query encoding excluded), and for the index the median candidates and the median
    time of the candidate stages (centroids, candidates, interaction) and of the exact
    stage (decompress, MaxSim).
    """
    order = np.random.default_rng(seed).permutation(vectors.n_docs)
    queries = [q[q.abs().sum(-1) > 0] for q in Q[:timing_queries]]  # real rows only: padding rows would cost time, not change scores
    rows = []
    for fraction in tqdm(fractions, desc="corpus sizes"):
        chosen = np.sort(order[: max(1, int(round(fraction * vectors.n_docs)))])
        part = vectors.select(chosen.tolist())
        index = cached_index(part, [doc_ids[i] for i in chosen], config, cache.key_for(corpus=corpus_key, docs=chosen.tolist()))
        D, D_mask = part.padded()
        exhaustive = _median_ms(lambda q: maxsim(q[None], D, D_mask), queries)
        indexed = _median_ms(lambda q: index.search(q, k=10, **setting), queries)
        hits = [index.search(q, k=10, **setting) for q in queries]
        stage = lambda names: float(np.median([sum(h.stage_ms[n] for n in names) for h in hits]))
        rows.append({"fraction": fraction, "docs": part.n_docs, "tokens": len(part.vectors), "nlist": index.config.nlist,
                     "exhaustive_ms": exhaustive, "index_ms": indexed, "candidates": float(np.median([h.n_candidates for h in hits])),
                     "candidate_stages_ms": stage(("centroids", "candidates", "interaction")), "exact_stage_ms": stage(("decompress", "maxsim"))})
    return rows


def fit_power(x: Sequence[float], y: Sequence[float]) -> tuple[float, float]:
    """Least-squares fit of ``y = a * x ** b`` in log-log space; returns (a, b).

    >>> a, b = fit_power([1, 2, 4, 8], [3, 6, 12, 24])
    >>> round(a, 6), round(b, 6)
    (3.0, 1.0)
    """
    b, log_a = np.polyfit(np.log(np.asarray(x, dtype=float)), np.log(np.asarray(y, dtype=float)), 1)
    return float(np.exp(log_a)), float(b)


def _median_ms(fn, items) -> float:
    for item in items[:2]:
        fn(item)  # warm-up
    times = []
    for item in items:
        start = time.perf_counter()
        fn(item)
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)
