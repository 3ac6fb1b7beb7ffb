"""Speed against quality: an index's knobs swept, and how search cost grows with the corpus.

``sweep`` runs every judged query through a ``LateIndex`` at each setting and reports
nDCG@10 with latency percentiles; each query is encoded once, timed on its own, and
its encoding time is added to each setting's search time for the end-to-end figure.
``fastest_within`` picks the fastest setting within a tolerance of exhaustive quality.
``muvera_sweep`` does the same for MUVERA encodings + exact re-ranking.
``scaling`` measures exhaustive MaxSim and the index on growing slices of a corpus,
``fit_power`` fits ``ms = a * n ** b``, and ``extrapolate`` carries both to MS MARCO's
size on paper. ``qdrant_agreement`` checks an engine's top-k against exact MaxSim.

Left out: concurrency (one query at a time, 2 threads) and memory-mapped indexes.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from tqdm.auto import tqdm

from .. import cache, compress, index, indexfile, maxsim, metrics, qdrant, timing, vectors
from ..data import Collection
from ..encoder import Encoder
from ..index import IndexConfig, LateIndex
from ..muvera import MuveraConfig, MuveraIndex
from ..vectors import TokenVectors
from .published import MSMARCO_PASSAGES, MSMARCO_TOKENS


def corpus_key(collection: Collection, encoder: Encoder) -> str:
    """Identifies a collection's token vectors: its documents and the model that encoded them."""
    return cache.key_for(corpus=collection.fingerprint(), model=encoder.fingerprint())


def cached_index(
    token_vectors: TokenVectors,
    doc_ids: Sequence[str],
    config: IndexConfig,
    corpus_key: str,
    centroids: np.ndarray | None = None,
) -> LateIndex:
    """Build an index once; later calls load its file (``indexfile.py``) from the cache
    folder. ``corpus_key`` must identify the vectors (collection and model); the key
    adds the settings, the given centroids and the source of the index code."""
    key = cache.key_for(
        kind="late-index",
        corpus=corpus_key,
        config=str(config),
        n_tokens=len(token_vectors.vectors),
        code=cache.source_key(index, compress, indexfile, vectors),
        centroids=cache.array_key(centroids),
    )
    path = cache.cache_dir() / "indexes" / f"{key}.lateint"
    if path.is_file():
        return LateIndex.load(path)
    built = LateIndex.build(token_vectors, doc_ids, config, centroids=centroids)
    path.parent.mkdir(parents=True, exist_ok=True)
    built.save(path)
    return built


def encode_one_by_one(encoder: Encoder, texts: Sequence[str]) -> tuple[list[torch.Tensor], np.ndarray]:
    """Every query encoded on its own, as a search service sees them: each query's real
    vectors, (query_len_i, dim), and each query's encoding time in ms."""

    def encode(text: str) -> torch.Tensor:
        Q, Q_mask = encoder.encode_queries([text])
        return vectors.unpad(Q, Q_mask)[0]

    return timing.time_each(encode, texts, warmup=0)


def sweep(
    late_index: LateIndex,
    queries: Sequence[torch.Tensor],
    encode_ms: np.ndarray,
    collection: Collection,
    settings: Sequence[dict],
    k: int = 100,
    progress: bool = True,
) -> list[dict]:
    """One row per setting (``nprobe``, ``ndocs``): nDCG@10, R@100, search and end-to-end
    latency percentiles, median candidates, documents scored exactly and stage times.

    ``queries`` are the collection's queries in order, each (query_len_i, dim);
    ``encode_ms`` (n_queries,) each query's encoding time.
    """
    rows = []
    for setting in tqdm(settings, desc="index settings", disable=not progress):
        scores, docs, hits = late_index.search_all(queries, k=k, **setting)
        quality = metrics.evaluate(
            metrics.run_from_topk(collection.query_ids, late_index.doc_ids, scores, docs), collection.qrels
        )
        search_ms = np.array([h.ms for h in hits])
        rows.append(
            {
                **setting,
                **quality,
                **timing.percentiles(search_ms),
                "end_to_end_p50_ms": float(np.median(search_ms + encode_ms)),
                "candidates": float(np.median([h.n_candidates for h in hits])),
                "scored": float(np.median([h.n_scored for h in hits])),
                **{
                    f"{stage}_ms": float(np.median([h.stage_ms[stage] for h in hits]))
                    for stage in hits[0].stage_ms
                },
            }
        )
    return rows


def muvera_sweep(
    token_vectors: TokenVectors,
    queries: Sequence[torch.Tensor],
    encode_ms: np.ndarray,
    collection: Collection,
    config: MuveraConfig,
    candidates: Sequence[int],
    graphs: Sequence[int] = (0, 32),
    k: int = 100,
) -> list[dict]:
    """MUVERA encodings in faiss (``graphs``: 0 flat, M > 0 HNSW with M links), each
    query's ``candidates`` nearest re-ranked by exact MaxSim. One row per (graph,
    candidates), with the same columns as :func:`sweep` plus build seconds and MB."""
    rows = []
    for graph in graphs:
        muvera = MuveraIndex(token_vectors, collection.doc_ids, config, hnsw=graph)
        for n in candidates:
            search = functools.partial(muvera.search, k=k, candidates=max(n, k))
            found, ms = timing.time_each(search, list(queries), warmup=0)
            scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
            docs = np.full((len(queries), k), -1, dtype=np.int64)
            for i, (s, d) in enumerate(found):
                scores[i, : len(d)], docs[i, : len(d)] = s.numpy(), d.numpy()
            quality = metrics.evaluate(
                metrics.run_from_topk(collection.query_ids, collection.doc_ids, scores, docs),
                collection.qrels,
            )
            rows.append(
                {
                    "graph": "HNSW" if graph else "flat",
                    "candidates": max(n, k),
                    **quality,
                    **timing.percentiles(ms),
                    "end_to_end_p50_ms": float(np.median(np.asarray(ms) + encode_ms)),
                    "build_s": muvera.build_seconds,
                    "MB": muvera.nbytes / 1e6,
                    "fde_dim": config.dim,
                }
            )
    return rows


@dataclass
class Fastest:
    """The outcome of :func:`fastest_within`."""

    name: str | None  # the storage of the fastest good setting; None if no setting is good enough
    row: dict  # that setting's sweep row (if none is good enough: the best-quality row)
    per_storage: dict[str, dict]  # each storage's fastest good row (its best-quality row if none is good)
    target: float  # the quality a setting needed
    close: list[tuple[str, dict]]  # the other good settings within ``noise`` of its p50: a tie in practice


def fastest_within(
    sweeps: dict[str, list[dict]],
    reference: float,
    tolerance: float = 0.005,
    measure: str = "nDCG@10",
    noise: float = 0.2,
) -> Fastest:
    """The fastest setting (search p50) whose ``measure`` is at least ``reference - tolerance``.

    Timings are noisy: the other good settings whose p50 is within ``noise`` (a fraction)
    of the fastest are listed in ``close``, so a page can say which settings tie with it.

    >>> rows = {"a": [{"nDCG@10": 0.70, "p50_ms": 1.0}, {"nDCG@10": 0.74, "p50_ms": 5.0}],
    ...         "b": [{"nDCG@10": 0.745, "p50_ms": 3.0}, {"nDCG@10": 0.75, "p50_ms": 3.3}]}
    >>> f = fastest_within(rows, reference=0.745)
    >>> f.name, f.row["p50_ms"], f.per_storage["a"]["p50_ms"], [r["p50_ms"] for _, r in f.close]
    ('b', 3.0, 5.0, [3.3])
    """
    target = reference - tolerance
    per_storage, good = {}, {}
    for name, rows in sweeps.items():
        passing = [r for r in rows if r[measure] >= target]
        if passing:
            good[name] = min(passing, key=lambda r: r["p50_ms"])
        per_storage[name] = good.get(name) or max(rows, key=lambda r: r[measure])
    if not good:
        best = max((r for rows in sweeps.values() for r in rows), key=lambda r: r[measure])
        return Fastest(None, best, per_storage, target, [])
    name = min(good, key=lambda n: good[n]["p50_ms"])
    limit = good[name]["p50_ms"] * (1 + noise)
    close = sorted(
        (
            (n, r)
            for n, rows in sweeps.items()
            for r in rows
            if r[measure] >= target and r["p50_ms"] <= limit and r is not good[name]
        ),
        key=lambda pair: pair[1]["p50_ms"],
    )
    return Fastest(name, good[name], per_storage, target, close)


def pareto_front(points: Sequence[tuple]) -> list[tuple]:
    """The points (cost, quality, ...) that no other point beats on both: cheaper and at
    least as good, or as cheap and better. Sorted by cost; of equal points, the first.

    >>> pareto_front([(1, 0.5, "a"), (2, 0.4, "b"), (3, 0.7, "c"), (3, 0.6, "d")])
    [(1, 0.5, 'a'), (3, 0.7, 'c')]
    """
    front, best = [], float("-inf")
    for point in sorted(points, key=lambda p: (p[0], -p[1])):
        if point[1] > best:
            front.append(point)
            best = point[1]
    return front


def scaling(
    token_vectors: TokenVectors,
    doc_ids: Sequence[str],
    queries: Sequence[torch.Tensor],
    fractions: Sequence[float],
    setting: dict,
    config: IndexConfig,
    corpus_key: str,
    timing_queries: int = 30,
    seed: int = 0,
    full: LateIndex | None = None,
) -> list[dict]:
    """Exhaustive MaxSim and the index on random slices of the corpus.

    Each slice gets its own index (its own k-means, ``nlist`` growing with its tokens);
    the whole corpus (fraction 1) reuses ``full`` when given, an index already built
    over ``token_vectors`` with ``config``'s storage.
    Returns one row per fraction: documents, tokens, median ms per query for both
    (query encoding excluded), and for the index the median candidates and the median
    time of the candidate stages (centroids, candidates, interaction) and of the exact
    stage (decompress, MaxSim).
    """
    order = np.random.default_rng(seed).permutation(token_vectors.n_docs)
    timed = list(queries[:timing_queries])
    rows = []
    for fraction in tqdm(fractions, desc="corpus sizes"):
        chosen = np.sort(order[: max(1, int(round(fraction * token_vectors.n_docs)))])
        part = token_vectors.select(chosen.tolist())
        if full is not None and len(chosen) == token_vectors.n_docs:
            part_index = full
        else:
            key = cache.key_for(corpus=corpus_key, docs=chosen.tolist())
            part_index = cached_index(part, [doc_ids[i] for i in chosen], config, key)
        rows.append({"fraction": fraction, **_time_slice(part, part_index, timed, setting)})
    return rows


def _time_slice(
    part: TokenVectors, part_index: LateIndex, queries: list[torch.Tensor], setting: dict
) -> dict:
    """One row of :func:`scaling`: exhaustive MaxSim and the index timed on one corpus slice."""
    D, D_mask = part.padded()
    exhaustive = timing.median_ms(lambda q: maxsim.maxsim(q[None], D, D_mask), queries)
    hits, index_ms = timing.time_each(lambda q: part_index.search(q, k=10, **setting), queries)

    def stage(names: Sequence[str]) -> float:
        return float(np.median([sum(h.stage_ms[n] for n in names) for h in hits]))

    return {
        "docs": part.n_docs,
        "tokens": len(part.vectors),
        "nlist": part_index.config.nlist,
        "exhaustive_ms": exhaustive,
        "index_ms": float(np.median(index_ms)),
        "candidates": float(np.median([h.n_candidates for h in hits])),
        "candidate_stages_ms": stage(("centroids", "candidates", "interaction")),
        "exact_stage_ms": stage(("decompress", "maxsim")),
    }


def fit_power(x: Sequence[float], y: Sequence[float]) -> tuple[float, float]:
    """Least-squares fit of ``y = a * x ** b`` in log-log space; returns (a, b).

    >>> a, b = fit_power([1, 2, 4, 8], [3, 6, 12, 24])
    >>> round(a, 6), round(b, 6)
    (3.0, 1.0)
    """
    b, log_a = np.polyfit(np.log(np.asarray(x, dtype=float)), np.log(np.asarray(y, dtype=float)), 1)
    return float(np.exp(log_a)), float(b)


def extrapolate(grow: list[dict], tokens: float = MSMARCO_TOKENS, passages: float = MSMARCO_PASSAGES) -> dict:
    """Carry the ``scaling`` rows to a corpus of ``tokens`` token vectors and ``passages`` documents.

    Two estimates for the index: its fitted power law (``index_ms``), and a model of how
    the work grows (``model_ms``): candidates follow their own power law (capped at every
    passage), the candidate stages cost what they cost per candidate at the largest
    size, and the exact stage stays the same size. Returns the fits (``fit_*``: (a, b))
    and the estimates.

    >>> grow = [{"tokens": t, "exhaustive_ms": t / 100, "index_ms": 2.0, "candidates": t / 10,
    ...          "candidate_stages_ms": t / 1000, "exact_stage_ms": 1.0} for t in (100, 200, 400)]
    >>> e = extrapolate(grow, tokens=4000, passages=10**6)
    >>> round(e["exhaustive_ms"], 3), round(e["candidates"]), round(e["model_ms"], 3)
    (40.0, 400, 5.0)
    """
    x = [r["tokens"] for r in grow]
    fits = {
        name: fit_power(x, [r[name] for r in grow]) for name in ("exhaustive_ms", "index_ms", "candidates")
    }
    at = {name: a * tokens**b for name, (a, b) in fits.items()}
    candidates = min(passages, at["candidates"])
    last = max(grow, key=lambda r: r["tokens"])  # the largest size measured
    model_ms = last["candidate_stages_ms"] * candidates / max(last["candidates"], 1) + last["exact_stage_ms"]
    return {
        "fit_exhaustive": fits["exhaustive_ms"],
        "fit_index": fits["index_ms"],
        "fit_candidates": fits["candidates"],
        "exhaustive_ms": at["exhaustive_ms"],
        "index_ms": at["index_ms"],
        "candidates": candidates,
        "model_ms": model_ms,
        "factor": tokens / max(x),
    }


def qdrant_agreement(
    client, name: str, queries: Sequence[torch.Tensor], token_vectors: TokenVectors, k: int = 10, **options
) -> dict:
    """Does the engine behind ``client`` (a client's collection ``name``, or an Edge shard,
    filled by ``qdrant.upload``) return exact MaxSim's top ``k``, in order, for each of
    ``queries``? ``options`` go to ``qdrant.search`` (e.g. ``exact=True`` on a shard).

    Returns ``same`` (queries with the identical top-k), ``checked``, ``p50_ms`` and
    ``p95_ms`` of the engine's searches, and both top-k lists (``exact``, ``engine``).
    """
    D, D_mask = token_vectors.padded()
    Q, Q_mask = vectors.pad(queries)
    _, exact = maxsim.search(Q, D, D_mask, k, Q_mask)
    found, ms = timing.time_each(
        lambda q: qdrant.search(client, name, q, k=k, **options)[1], list(queries), warmup=0
    )
    same = sum(f.tolist() == e.tolist() for f, e in zip(found, exact))
    return {
        "same": same,
        "checked": len(queries),
        **timing.percentiles(ms),
        "exact": exact.numpy(),
        "engine": np.stack(found),
    }
