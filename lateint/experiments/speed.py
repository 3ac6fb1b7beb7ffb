"""Speed against quality: an index's knobs swept, and how search cost grows with the corpus.

``sweep`` runs every judged query through a ``PlaidIndex`` at each setting and reports
nDCG@10 with latency percentiles; each query is encoded once, timed on its own, and
its encoding time is added to each setting's search time for the end-to-end figure.
``fastest_within`` picks the fastest setting within a tolerance of exhaustive quality.
``muvera_sweep`` does the same for MUVERA encodings + exact re-ranking.
``scaling`` measures exhaustive MaxSim and the index on growing slices of a corpus,
``fit_power`` fits ``ms = a * n ** b``, and ``extrapolate`` carries both to MS MARCO's
size on paper. ``qdrant_agreement`` checks an engine's top-k against exact MaxSim.
``differences`` gives the paired bootstrap intervals the speed chapter's sentences
state; ``funnel`` and ``muvera_example`` gather what its pictures of PLAID's stages and
MUVERA's partitions draw. The ``show_*`` and ``glue_*`` functions only display and glue
for that chapter (memory in MiB and GiB).

Left out: concurrency (one query at a time, 2 threads) and memory-mapped indexes.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from tqdm.auto import tqdm

from .. import cache, maxsim, metrics, plaid, qdrant, timing, vectors
from ..data import Collection
from ..encoder import Encoder
from ..muvera import MuveraConfig, MuveraIndex
from ..plaid import IndexConfig, PlaidIndex, cached_index
from ..vectors import TokenVectors
from .published import MSMARCO_PASSAGES, MSMARCO_TOKENS


def corpus_key(collection: Collection, encoder: Encoder) -> str:
    """Identifies a collection's token vectors: its documents and the model that encoded them."""
    return cache.key_for(corpus=collection.fingerprint(), model=encoder.fingerprint())


def encode_one_by_one(encoder: Encoder, texts: Sequence[str]) -> tuple[list[torch.Tensor], np.ndarray]:
    """Every query encoded on its own, as a search service sees them: each query's real
    vectors, (query_len_i, dim), and each query's encoding time in ms."""

    def encode(text: str) -> torch.Tensor:
        Q, Q_mask = encoder.encode_queries([text])
        return vectors.unpad(Q, Q_mask)[0]

    return timing.time_each(encode, texts, warmup=0)


def sweep(
    late_index: PlaidIndex,
    queries: Sequence[torch.Tensor],
    encode_ms: np.ndarray,
    collection: Collection,
    settings: Sequence[dict],
    k: int = 100,
    progress: bool = True,
) -> list[dict]:
    """One row per setting (``nprobe``, ``ndocs``): nDCG@10 (mean, and ``per_query``),
    R@100, search and end-to-end latency percentiles, median candidates, documents
    scored exactly and stage times.

    ``queries`` are the collection's queries in order, each (query_len_i, dim);
    ``encode_ms`` (n_queries,) each query's encoding time.
    """
    rows = []
    for setting in tqdm(settings, desc="index settings", disable=not progress):
        scores, docs, hits = late_index.search_all(queries, k=k, **setting)
        per_query = metrics.per_query_topk(
            collection.query_ids, late_index.doc_ids, scores, docs, collection.qrels
        )
        search_ms = np.array([h.ms for h in hits])
        rows.append(
            {
                **setting,
                **metrics.means(per_query),
                "per_query": per_query["nDCG@10"],  # {query_id: nDCG@10}, for paired intervals
                **timing.percentiles(search_ms),
                "end_to_end_p50_ms": float(np.median(search_ms + encode_ms)),
                "candidates": float(np.median([h.n_candidates for h in hits])),
                "scored": float(np.median([h.n_scored for h in hits])),
                **{
                    f"{stage}_ms": float(np.median([h.stage_ms.get(stage, 0.0) for h in hits]))
                    for stage in STAGES
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
    candidates), with the same columns as :func:`sweep` plus build seconds and MB.

    A row with fewer than ``k`` candidates returns them all (``k`` in the row says how
    many); its R@100 is nan when that is under 100, since recall at 100 needs 100."""
    rows = []
    for graph in graphs:
        muvera = MuveraIndex(token_vectors, collection.doc_ids, config, hnsw=graph)
        for n in candidates:
            k_here = min(n, k)  # a query cannot return more documents than its candidates
            search = functools.partial(muvera.search, k=k_here, candidates=n)
            found, ms = timing.time_each(search, list(queries), warmup=0)
            scores, docs = metrics.stack_topk(found, k_here)
            per_query = metrics.per_query_topk(
                collection.query_ids, collection.doc_ids, scores, docs, collection.qrels
            )
            quality = metrics.means(per_query)
            if k_here < 100:
                quality["R@100"] = float("nan")  # R@100 needs 100 results: not measured
            rows.append(
                {
                    "graph": "HNSW" if graph else "flat",
                    "candidates": n,
                    "k": k_here,
                    **quality,
                    "per_query": per_query["nDCG@10"],  # {query_id: nDCG@10}, for paired intervals
                    **timing.percentiles(ms),
                    "end_to_end_p50_ms": float(np.median(np.asarray(ms) + encode_ms)),
                    "build_s": muvera.build_seconds,
                    "MB": muvera.nbytes / 1e6,
                    "bytes": muvera.nbytes,
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
    full: PlaidIndex | None = None,
) -> list[dict]:
    """Exhaustive MaxSim and the index on random slices of the corpus.

    Each slice gets its own index (its own k-means, ``nlist`` growing with its tokens);
    the whole corpus (fraction 1) reuses ``full`` when given, an index already built
    over ``token_vectors`` with ``config``'s storage.
    Returns one row per fraction: documents, tokens, median ms per query for both
    (query encoding excluded), and for the index the median candidates and the median
    time of the candidate stages (centroids, candidates, interaction) and of the exact
    stage (tables or decoding, and MaxSim).
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
    part: TokenVectors, part_index: PlaidIndex, queries: list[torch.Tensor], setting: dict
) -> dict:
    """One row of :func:`scaling`: exhaustive MaxSim and the index timed on one corpus slice."""
    D, D_mask = part.padded()
    exhaustive = timing.median_ms(lambda q: maxsim.maxsim(q[None], D, D_mask), queries)
    hits, index_ms = timing.time_each(lambda q: part_index.search(q, k=10, **setting), queries)

    def stage(names: Sequence[str]) -> float:
        return float(np.median([sum(h.stage_ms.get(n, 0.0) for n in names) for h in hits]))

    return {
        "docs": part.n_docs,
        "tokens": len(part.vectors),
        "nlist": part_index.config.nlist,
        "exhaustive_ms": exhaustive,
        "index_ms": float(np.median(index_ms)),
        "candidates": float(np.median([h.n_candidates for h in hits])),
        "candidate_stages_ms": stage(("centroids", "candidates", "interaction")),
        "exact_stage_ms": stage(EXACT_STAGES),
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
    client, name: str, queries: Sequence[torch.Tensor], token_vectors: TokenVectors, k: int = 10,
    reference: torch.Tensor | None = None, **options,
) -> dict:  # fmt: skip
    """Does the engine behind ``client`` (a client's collection ``name``, or an Edge shard,
    filled by ``qdrant.upload``) return exact MaxSim's top ``k``, in order, for each of
    ``queries``? ``options`` go to ``qdrant.search`` (e.g. ``exact=True`` on a shard).

    Returns ``same`` (queries with the identical top-k), ``checked``, ``p50_ms`` and
    ``p95_ms`` of the engine's searches, and both top-k lists (``exact``, ``engine``).
    ``reference``: exact MaxSim's top ``k`` (n_queries, k), when :func:`exact_top` has
    computed it already (for several shards over the same vectors).
    """
    exact = exact_top(queries, token_vectors, k) if reference is None else reference
    if exact.shape != (len(queries), min(k, token_vectors.n_docs)):
        raise ValueError(f"reference has shape {tuple(exact.shape)}: one top {k} per query expected")
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


def exact_top(queries: Sequence[torch.Tensor], token_vectors: TokenVectors, k: int = 10) -> torch.Tensor:
    """Exhaustive MaxSim's top ``k`` document positions for each query, (n_queries, k)."""
    D, D_mask = token_vectors.padded()
    Q, Q_mask = vectors.pad(queries)
    return maxsim.search(Q, D, D_mask, k, Q_mask)[1]


def muvera_pick(rows: Sequence[dict], target: float, measure: str = "nDCG@10") -> dict:
    """MUVERA's point the page names: the fastest (search p50) row whose ``measure``
    reaches ``target``, or the best row if none does.

    >>> rows = [{"nDCG@10": n, "p50_ms": ms} for n, ms in ((0.70, 1.0), (0.74, 5.0), (0.75, 9.0))]
    >>> muvera_pick(rows, 0.73)["p50_ms"], muvera_pick(rows, 0.8)["p50_ms"]
    (5.0, 9.0)
    """
    good = [r for r in rows if r[measure] >= target]
    return min(good, key=lambda r: r["p50_ms"]) if good else max(rows, key=lambda r: r[measure])


def row_at(rows: Sequence[dict], like: dict) -> dict:
    """The sweep row with the setting (``nprobe``, ``ndocs``) of ``like`` (a setting or another row).

    >>> row_at([{"nprobe": 1, "ndocs": 64, "p50_ms": 2.0}, {"nprobe": 2, "ndocs": 64, "p50_ms": 3.0}],
    ...        {"nprobe": 2, "ndocs": 64, "p50_ms": 9.0})["p50_ms"]
    3.0
    """
    return next(r for r in rows if all(r[key] == like[key] for key in ("nprobe", "ndocs")))


def differences(
    exhaustive, fastest: Fastest, muvera: dict, baselines: dict, sweeps: dict[str, list[dict]]
) -> dict:
    """The paired nDCG@10 differences the page states, each a ``stats.Difference``:

    ``best_vs_exh`` the fastest good setting against exhaustive MaxSim; ``muvera_vs_best``
    MUVERA's named point against that setting; ``best_vs_bm25`` and ``best_vs_dense``
    that setting against BM25 and the pooled vector; ``residual_vs_fp16`` the two
    storages at that setting's ``nprobe`` and ``ndocs``.
    """
    from . import stats

    best = fastest.row["per_query"]
    return {
        "best_vs_exh": stats.compare(best, exhaustive.per_query["nDCG@10"]),
        "muvera_vs_best": stats.compare(muvera["per_query"], best),
        "best_vs_bm25": stats.compare(best, baselines["bm25s"].per_query["nDCG@10"]),
        "best_vs_dense": stats.compare(best, baselines["dense"].per_query["nDCG@10"]),
        "residual_vs_fp16": stats.compare(
            row_at(sweeps["residual 2-bit"], fastest.row)["per_query"],
            row_at(sweeps["fp16"], fastest.row)["per_query"],
        ),
    }


# -- the chapter's page: tables, glue and figures (display only) ------------------

MIB, GIB = 2**20, 2**30  # the page gives memory in binary units
# A search's stages in order; its exact stage starts with "decompress" (decoded vectors)
# or "tables" (a lookup table over the codes), never both.
STAGES = ("centroids", "candidates", "interaction", "decompress", "tables", "maxsim")
EXACT_STAGES = ("decompress", "tables", "maxsim")
SWEEP_BEST = {
    "nDCG@10": "max",
    "R@100": "max",
    "search p50 (ms)": "min",
    "search p95 (ms)": "min",
    "end to end p50 (ms)": "min",
}


def show_indexes(indexes: dict[str, PlaidIndex], exhaustive) -> None:
    """The indexes' table (cells, bytes per token, MiB in memory); glues their sizes and
    exhaustive MaxSim's quality, time and size, the reference they are measured against."""
    from IPython.display import display

    from . import report

    rows = [
        [name, f"{ix.config.nlist:,}", f"{ix.bytes_per_token:.0f}", f"{ix.nbytes / MIB:.1f}"]
        for name, ix in indexes.items()
    ]
    display(report.table(["stored as", "cells (nlist)", "bytes per token", "index in memory (MiB)"], rows))
    report.glue_all(
        {
            "nlist": next(iter(indexes.values())).config.nlist,
            "fp16_mib": indexes["fp16"].nbytes / MIB,
            "res_mib": indexes["residual 2-bit"].nbytes / MIB,
            "exh_mib": exhaustive.index_bytes / MIB,
            "exh_ndcg": exhaustive.metrics["nDCG@10"],
            "exh_ms": exhaustive.query_ms,
            "n_tokens": indexes["fp16"].n_tokens,
            "n_docs": len(indexes["fp16"].doc_ids),
        }
    )


def funnel(hits: plaid.Hits, n_docs: int, ndocs: int | None, k: int) -> list[tuple[str, int, float]]:
    """PLAID's funnel for one query's ``hits``: (stage, documents left after it, the
    stage's ms), from every document to the ``k`` returned.

    >>> h = plaid.Hits(None, None, 900, 64, dict.fromkeys(STAGES, 1.0), 5.0)
    >>> [n for _, n, _ in funnel(h, 5000, 256, 10)]
    [5000, 900, 256, 64, 10]
    """
    ms = hits.stage_ms
    kept = hits.n_candidates if ndocs is None else min(ndocs, hits.n_candidates)
    return [
        ("all documents", n_docs, 0.0),
        ("candidates: a token in a probed cell", hits.n_candidates, ms["centroids"]),
        ("pruned centroid interaction keeps", kept, ms["candidates"]),
        ("centroid interaction keeps", hits.n_scored, ms["interaction"]),
        ("exact MaxSim returns", min(k, hits.n_scored), sum(ms.get(s, 0.0) for s in EXACT_STAGES)),
    ]


def show_trace(
    hits: plaid.Hits, q: torch.Tensor, text: str, n_docs: int, nprobe: int, ndocs: int, k: int
) -> None:
    """Glue one query's trace through the index (``trace_*``) and its funnel (``fig_funnel``)."""
    from . import plots, report

    stages = funnel(hits, n_docs, ndocs, k)
    report.glue_all(
        {
            "trace_query": text,
            "trace_vectors": len(q),
            "trace_cells": nprobe * len(q),
            "trace_nprobe": nprobe,
            "trace_ndocs": ndocs,
            "trace_candidates": hits.n_candidates,
            "trace_kept": stages[2][1],
            "trace_scored": hits.n_scored,
            "trace_k": k,
            "trace_ms": hits.ms,
            "trace_exact_ms": stages[-1][2],
        }
    )
    title = f"one query, nprobe={nprobe}, ndocs={ndocs}, k={k}: {hits.ms:.1f} ms in all"
    report.glue_figure("fig_funnel", plots.funnel(stages, title=title))


def _sweep_table_rows(rows_by_storage: dict[str, list[dict]]) -> list[list]:
    return [
        [
            name,
            r["nprobe"],
            r["ndocs"],
            f"{r['nDCG@10']:.3f}",
            f"{r['R@100']:.3f}",
            f"{r['p50_ms']:.1f}",
            f"{r['p95_ms']:.1f}",
            f"{r['end_to_end_p50_ms']:.1f}",
            f"{r['candidates']:,.0f}",
            f"{r['scored']:.0f}",
        ]
        for name, rows in rows_by_storage.items()
        for r in rows
    ]


def show_sweep(sweeps: dict[str, list[dict]]) -> None:
    """The Pareto front of each storage's sweep, then every setting (folded)."""
    from IPython.display import display

    from . import report

    header = ["stored as", "nprobe", "ndocs", "nDCG@10", "R@100", "search p50 (ms)", "search p95 (ms)",
              "end to end p50 (ms)", "candidates", "scored"]  # fmt: skip
    front = {
        name: [p[2] for p in pareto_front([(r["p50_ms"], r["nDCG@10"], r) for r in rows])]
        for name, rows in sweeps.items()
    }
    title = (
        "The Pareto front of each index: settings that no other setting of the same index beats on both "
        "search p50 and nDCG@10."
    )
    display(report.table(header, _sweep_table_rows(front), best=SWEEP_BEST, title=title))
    n = sum(map(len, sweeps.values()))
    display(report.table(header, _sweep_table_rows(sweeps), best=SWEEP_BEST, collapsed=f"All {n} settings"))


def muvera_table(rows: Sequence[dict]):
    """MUVERA's table: R@100 shows "-" where fewer than 100 candidates were re-ranked."""
    from . import report

    header = ["MUVERA", "candidates", "nDCG@10", "R@100", "search p50 (ms)", "search p95 (ms)",
              "end to end p50 (ms)", "MiB in memory"]  # fmt: skip
    cells = [
        [
            f"{r['graph']}, {r['fde_dim']:,}-d",
            r["candidates"],
            f"{r['nDCG@10']:.3f}",
            "-" if np.isnan(r["R@100"]) else f"{r['R@100']:.3f}",
            f"{r['p50_ms']:.1f}",
            f"{r['p95_ms']:.1f}",
            f"{r['end_to_end_p50_ms']:.1f}",
            f"{r['bytes'] / MIB:.0f}",
        ]
        for r in rows
    ]
    title = (
        "MUVERA encodings in faiss, then exact MaxSim over the candidates. R@100 needs 100 results: "
        "it shows - where fewer than 100 candidates were re-ranked."
    )
    return report.table(header, cells, best={"nDCG@10": "max", "search p50 (ms)": "min"}, title=title)


def show_muvera(rows: Sequence[dict]) -> None:
    """Display :func:`muvera_table`."""
    from IPython.display import display

    display(muvera_table(rows))


def glue_speed(
    exhaustive,
    fastest: Fastest,
    muvera: dict,
    baselines: dict,
    indexes: dict,
    encode_ms: np.ndarray,
    diffs: dict,
) -> None:
    """The values the latency section's prose names, and its differences as text."""
    from . import report

    best = fastest.row
    report.glue_all(
        {
            "best_name": fastest.name or "none",
            "best_nprobe": best["nprobe"],
            "best_ndocs": best["ndocs"],
            "best_ndcg": best["nDCG@10"],
            "best_p50": best["p50_ms"],
            "best_p95": best["p95_ms"],
            "best_e2e": best["end_to_end_p50_ms"],
            "best_margin": 100 * (best["nDCG@10"] - fastest.target),
            "target": fastest.target,
            "speedup": exhaustive.query_ms / best["end_to_end_p50_ms"],
            "encode_p50": float(np.median(encode_ms)),
            "threads": torch.get_num_threads(),
            "n_close": len(fastest.close),
            **{f"{m}_ms": r.query_ms for m, r in baselines.items()},
            **{f"{m}_ndcg": r.metrics["nDCG@10"] for m, r in baselines.items()},
            "muvera_ndcg": muvera["nDCG@10"],
            "muvera_p50": muvera["p50_ms"],
            "muvera_candidates": muvera["candidates"],
            "muvera_graph": muvera["graph"],
            "muvera_dim": muvera["fde_dim"],
            "muvera_mib": muvera["bytes"] / MIB,
            "muvera_vs_index": muvera["p50_ms"] / best["p50_ms"],
            **{f"d_{name}": f"{d:.3f}" for name, d in diffs.items()},
        }
    )


def speed_figure(
    sweeps: dict[str, list[dict]], muvera_rows: Sequence[dict], exhaustive, baselines: dict, target: float
):
    """Fig. ``fig-speed``: every system's median end-to-end ms against nDCG@10."""
    from . import plots
    from .compare import LABELS

    curves = {
        f"late, index ({name})": [
            (r["end_to_end_p50_ms"], r["nDCG@10"], f"{r['nprobe']}/{r['ndocs']}") for r in rows
        ]
        for name, rows in sweeps.items()
    }
    for graph in ("flat", "HNSW"):
        curves[f"MUVERA + re-rank ({graph})"] = [
            (r["end_to_end_p50_ms"], r["nDCG@10"], f"c{r['candidates']}")
            for r in muvera_rows
            if r["graph"] == graph
        ]
    points = {"late, exhaustive": (exhaustive.query_ms, exhaustive.metrics["nDCG@10"])}
    points |= {LABELS[m]: (r.query_ms, r.metrics["nDCG@10"]) for m, r in baselines.items()}
    return plots.speed_quality(curves, points, reference=(target, "exhaustive - 0.005"))


def stage_rows(sweeps: dict[str, list[dict]], decoded: dict, row: dict) -> dict[str, dict]:
    """Each storage's sweep row at the setting of ``row``, with the residual index also
    as ``decoded`` scored it (the same setting, ``scoring="decode"``)."""
    return {
        "residual, codes scored": row_at(sweeps["residual 2-bit"], row),
        "residual, decoded": decoded,
        "fp16, decoded": row_at(sweeps["fp16"], row),
    }


def show_stages(rows: dict[str, dict], residual: PlaidIndex) -> None:
    """Median ms per stage of each row of :func:`stage_rows` (table and ``fig_stages``);
    ``residual`` the index whose codes were scored."""
    from IPython.display import display

    from . import plots, report

    cells = [
        [name, *(f"{r[s + '_ms']:.2f}" if r[s + "_ms"] else "-" for s in STAGES)] for name, r in rows.items()
    ]
    display(report.table(["index, exact stage", *STAGES], cells))
    report.glue_figure(
        "fig_stages", plots.stage_bars({n: {s: r[s + "_ms"] for s in STAGES} for n, r in rows.items()})
    )
    codes, decoded, fp16 = rows.values()
    report.glue_all(
        {
            # one row per code byte, and one for the centroid
            "table_rows_per_token": residual.store.codes.shape[1] + 1,
            "codes_exact_ms": sum(codes[s + "_ms"] for s in EXACT_STAGES),
            "decoded_exact_ms": sum(decoded[s + "_ms"] for s in EXACT_STAGES),
            "fp16_exact_ms": sum(fp16[s + "_ms"] for s in EXACT_STAGES),
            "res_p50_same": codes["p50_ms"],
            "decoded_p50_same": decoded["p50_ms"],
            "fp16_p50_same": fp16["p50_ms"],
            "res_ndcg_same": codes["nDCG@10"],
            "fp16_ndcg_same": fp16["nDCG@10"],
        }
    )


def show_published(ours: dict[str, dict], collection_name: str, n_docs: int) -> None:
    """lateint's index at k=10 (``ours``: {threads label: sweep row}) beside published
    single-query CPU times of other engines, each with its collection and hardware."""
    from IPython.display import display

    from . import published, report

    rows = [
        [f"lateint, residual 2-bit ({r['nprobe']}/{r['ndocs']})", f"{collection_name} ({n_docs:,})",
         "this machine", label, f"{r['p50_ms']:.1f}", f"{r['nDCG@10']:.3f}"]
        for label, r in ours.items()
    ]  # fmt: skip
    warp, fast_plaid = published.SCIFACT_ENGINES_QPS.values()
    scifact, ryzen = f"SciFact ({published.SCIFACT_DOCS:,})", "AMD Ryzen 9950"
    rows += [
        ["xtr-warp-rs (WARP in Rust), published", scifact, ryzen, "1", f"{1e3 / warp:.1f}", "0.73"],
        ["fast-plaid (PLAID), published", scifact, ryzen, "as published", f"{1e3 / fast_plaid:.1f}", "0.74"],
        ["WARP (XTR), published", f"LoTTE pooled ({published.LOTTE_POOLED_PASSAGES:,})", "the paper's CPU",
         "1", f"{published.WARP_LOTTE_POOLED_MS:g}", "-"],
        ["PLAID, published", f"MS MARCO ({published.MSMARCO_PASSAGES:,})", "28-core Xeon", "1",
         f"{published.PLAID_MS['PLAID, 1 thread']:.1f}", "-"],
    ]  # fmt: skip
    headers = ["engine", "collection (documents)", "hardware", "threads", "ms per query (k=10)", "nDCG@10"]
    display(report.table(headers, rows))
    stages = [s for s in STAGES if any(r[s + "_ms"] for r in ours.values())]
    per_stage = [[label, *(f"{r[s + '_ms']:.2f}" for s in stages)] for label, r in ours.items()]
    display(report.table(["lateint, threads", *(f"{s} (ms)" for s in stages)], per_stage))
    first = next(iter(ours.values()))  # quality does not depend on the threads
    report.glue_all(
        {
            "ours_k10_ndcg": first["nDCG@10"],
            "ours_k10_scored": first["scored"],  # documents scored exactly, median
            "msmarco_vs_collection": published.MSMARCO_PASSAGES / n_docs,
            "lotte_vs_collection": published.LOTTE_POOLED_PASSAGES / n_docs,
            "warp_paper_ms": published.WARP_LOTTE_POOLED_MS,
        }
    )


def show_engines(record: dict) -> None:
    """The ``engines`` record (``make bench-peers``): each engine at its best nDCG@10 on
    this machine, beside lateint's fastest setting at least as good; glues its provenance."""
    from IPython.display import display

    from . import records, report, stats

    def setting(r: dict) -> str:
        return ", ".join(f"{k}={v}" for k, v in r["setting"].items())

    rows = [
        [r["system"], str(r["threads"]), setting(r), f"{r['nDCG@10']:.3f}", f"{r['p50_ms']:.1f}",
         "-" if r["build_s"] is None else f"{r['build_s']:,.0f}"]
        for r in record["rows"]
    ]  # fmt: skip
    headers = ["engine", "threads", "setting", "nDCG@10", "search p50 (ms)", "build (s)"]
    display(report.table(headers, rows))
    said = records.provenance(record).replace("`", "")  # glued as plain text, inside a sentence
    values = {"engines_provenance": said[0].lower() + said[1:].rstrip(".")}
    for target in record["targets"]:  # one per engine and thread count
        if target["target"].endswith(", 1 thread(s)"):
            warp = "xtr-warp-rs" in target["target"]
            system, name = ("xtr-warp-rs", "warp") if warp else ("fast-plaid", "fastplaid")
            # the table's row, unrounded (the target keeps 4 decimals)
            peer = next(r for r in record["rows"] if r["system"] == system and r["threads"] == 1)
            values |= {
                f"{name}_here_ms": target["peer_best"]["p50_ms"],
                f"{name}_here_ndcg": peer["nDCG@10"],
                f"ours_vs_{name}_ms": target["lateint"]["p50_ms"],
                f"ours_vs_{name}_ndcg": target["lateint"]["nDCG@10"],
                f"{name}_vs_ours": target["peer_best"]["p50_ms"] / target["lateint"]["p50_ms"],
                f"d_{name}": stats.interval_text(
                    *(target["lateint_minus_peer"][k] for k in ("mean", "low", "high"))
                ),
            }
    report.glue_all(values)


def show_scaling(grow: list[dict], at: dict, timing_queries: int) -> None:
    """The corpus-slices table (folded), its glue and Fig. ``fig-scaling``."""
    from IPython.display import display

    from . import plots, published, report

    header = ["documents", "token vectors", "nlist", "exhaustive ms", "index ms (fp16)", "candidates",
              "candidate stages ms", "exact stage ms"]  # fmt: skip
    rows = [
        [f"{r['docs']:,}", f"{r['tokens']:,}", f"{r['nlist']:,}", f"{r['exhaustive_ms']:.1f}",
         f"{r['index_ms']:.2f}", f"{r['candidates']:,.0f}", f"{r['candidate_stages_ms']:.2f}",
         f"{r['exact_stage_ms']:.2f}"]
        for r in grow
    ]  # fmt: skip
    n = min(timing_queries, 30)
    display(
        report.table(header, rows, collapsed=f"Time per query on each slice (k=10, the first {n} queries)")
    )
    last = max(grow, key=lambda r: r["tokens"])
    report.glue_all(
        {
            "scaling_queries": n,
            "scaling_full_ms": last["index_ms"],
            "scaling_full_exact_ms": last["exact_stage_ms"],
            "scaling_full_candidate_ms": last["candidate_stages_ms"],
            "exp_exh": at["fit_exhaustive"][1],
            "exp_idx": at["fit_index"][1],
            "exp_cand": at["fit_candidates"][1],
            "msmarco_candidates_m": at["candidates"] / 1e6,
            "msmarco_model_ms": at["model_ms"],
            "msmarco_passages": published.MSMARCO_PASSAGES,
            "msmarco_tokens_m": published.MSMARCO_TOKENS / 1e6,
            "msmarco_exh_s": at["exhaustive_ms"] / 1e3,
            "msmarco_idx_ms": at["index_ms"],
            "plaid_1": published.PLAID_MS["PLAID, 1 thread"],
            "plaid_8": published.PLAID_MS["PLAID, 8 threads"],
            "extrapolation_factor": at["factor"],
            "n_sizes": len(grow),
        }
    )
    marks = {label: (published.MSMARCO_TOKENS, ms) for label, ms in published.PLAID_MS.items()}
    marks["lateint index, per-candidate model"] = (published.MSMARCO_TOKENS, at["model_ms"])
    series = {
        "exhaustive MaxSim": ([r["exhaustive_ms"] for r in grow], at["fit_exhaustive"]),
        "index, fp16": ([r["index_ms"] for r in grow], at["fit_index"]),
    }
    fig = plots.scaling([r["tokens"] for r in grow], series, published.MSMARCO_TOKENS, marks=marks)
    report.glue_figure("fig_scaling", fig)


EDGE_SHARDS = {  # label: (quantization, every point scored exactly)
    "float32, every point scored": (None, True),
    "int8 scan, re-scored": ("int8", False),
    "binary scan, re-scored": ("binary", False),
}


def edge_shard(
    folder, token_vectors: TokenVectors, doc_ids: Sequence[str], queries: Sequence[torch.Tensor],
    quantization: str | None = None, oversampling: float | None = None, reference: torch.Tensor | None = None,
) -> dict:  # fmt: skip
    """One Qdrant Edge shard: upload every document, then check its top 10 against
    exact MaxSim (``qdrant_agreement``). A quantized shard scans its int8 or 1-bit
    copies and re-scores ``oversampling`` x 10 points with the originals. ``reference``:
    exact MaxSim's top 10 for ``queries``, when computed already (:func:`exact_top`)."""
    import time

    started = time.perf_counter()
    shard = qdrant.create_shard(folder, token_vectors.dim, quantization=quantization)
    qdrant.upload(shard, "", token_vectors, doc_ids)
    upload_s = time.perf_counter() - started
    exact = quantization is None
    check = qdrant_agreement(
        shard, "", queries, token_vectors, reference=reference, exact=exact,
        oversampling=None if exact else oversampling,
    )  # fmt: skip
    shard.close()
    return {**check, "upload_s": upload_s}


def edge_shards(
    token_vectors: TokenVectors, doc_ids: Sequence[str], queries: Sequence[torch.Tensor], oversampling: float
) -> dict[str, dict]:
    """:func:`edge_shard` for each of ``EDGE_SHARDS``, in a temporary folder."""
    import tempfile
    from pathlib import Path

    out, reference = {}, exact_top(queries, token_vectors)  # one exact search for every shard
    with tempfile.TemporaryDirectory() as folder:
        for i, (label, (quantization, _)) in enumerate(EDGE_SHARDS.items()):
            out[label] = edge_shard(
                Path(folder) / str(i), token_vectors, doc_ids, queries, quantization, oversampling, reference
            )
    return out


def show_edge(edge: dict[str, dict], oversampling: float, dim: int, index_p50: float) -> None:
    """The shards' table and the values the Qdrant section names (sizes in GiB)."""
    from IPython.display import display

    from . import report

    rows = [
        [
            label,
            f"{e['upload_s']:.0f}",
            f"{e['same']} of {e['checked']}",
            f"{e['p50_ms']:.0f}",
            f"{e['p95_ms']:.0f}",
        ]
        for label, e in edge.items()
    ]
    header = ["Qdrant Edge shard", "upload + build (s)", "top-10 identical to exact MaxSim",
              "search p50 (ms)", "search p95 (ms)"]  # fmt: skip
    display(
        report.table(header, rows, best={"search p50 (ms)": "min"}, collapsed="The three shards, measured")
    )
    f32, int8, binary = (edge[label] for label in EDGE_SHARDS)
    report.glue_all(
        {
            "edge_oversampling": oversampling,
            "qdrant_same": f32["same"],
            "qdrant_checked": f32["checked"],
            "qdrant_ms": f32["p50_ms"],
            "qdrant_upload_s": f32["upload_s"],
            "qdrant_int8_same": int8["same"],
            "qdrant_int8_ms": int8["p50_ms"],
            "qdrant_binary_same": binary["same"],
            "qdrant_binary_ms": binary["p50_ms"],
            "qdrant_vs_index": f32["p50_ms"] / index_p50,
            "msmarco_fp32_gib": MSMARCO_TOKENS * dim * 4 / GIB,
            "msmarco_int8_gib": MSMARCO_TOKENS * dim / GIB,
            "msmarco_binary_gib": MSMARCO_TOKENS * dim / 8 / GIB,
        }
    )


@dataclass
class MuveraExample:
    """One query and one document through MUVERA: what the picture of its partitions shows."""

    query_tokens: list[str]  # (query_len,)
    doc_tokens: list[str]  # (doc_len,)
    query_parts: np.ndarray  # (query_len,) each query token's partition in repetition 0
    doc_parts: np.ndarray  # (doc_len,) each document token's partition in repetition 0
    per_partition: (
        np.ndarray
    )  # (2 ** k_sim,) repetition 0: <query block (a sum), document block (an average)>
    per_repetition: np.ndarray  # (repetitions,) each repetition's dot product of the two encodings' blocks
    fde_dot: float  # <fde(query), fde(document)>: the sum of ``per_repetition``
    maxsim: float  # exact MaxSim of the pair
    doc_id: str
    k_sim: int  # hyperplanes per repetition
    d_proj: int  # dimensions of each block


def muvera_example(
    encoder: Encoder,
    collection: Collection,
    token_vectors: TokenVectors,
    config: MuveraConfig,
    query: int = 0,
) -> MuveraExample:
    """Query number ``query`` of ``collection`` and its first relevant document, encoded by
    MUVERA with ``config``: the partitions of repetition 0 and every repetition's share of
    the encodings' dot product."""
    from ..muvera import Muvera, query_vectors

    text = collection.query_texts[query]
    tokens = encoder.tokenize_queries([text])
    Q, Q_mask = encoder.encode_queries([text])
    q = Q[0][Q_mask[0]]  # (query_len, dim)
    query_tokens = [
        t for t, keep in zip(encoder.tokens(tokens["input_ids"][0]), tokens["Q_mask"][0].tolist()) if keep
    ]
    judged = collection.qrels[collection.query_ids[query]]
    doc_id = max(
        (d for d in judged if d in collection.doc_ids), key=lambda d: (judged[d], d)
    )  # the best grade
    doc = token_vectors.select([collection.doc_ids.index(doc_id)])
    muvera = Muvera(token_vectors.dim, config)
    shape = (config.repetitions, 2**config.k_sim, config.d_proj)
    fq = muvera.encode(query_vectors(q[None], torch.ones(1, len(q), dtype=torch.bool)), True).reshape(shape)
    fd = muvera.encode(doc, is_query=False).reshape(shape)
    blocks = (fq * fd).sum(-1)  # (repetitions, partitions)
    return MuveraExample(
        query_tokens=query_tokens,
        doc_tokens=encoder.tokens(doc.token_ids),
        query_parts=muvera.partitions(q, 0).numpy(),
        doc_parts=muvera.partitions(doc.vectors, 0).numpy(),
        per_partition=blocks[0],
        per_repetition=blocks.sum(1),
        fde_dot=float(blocks.sum()),
        maxsim=float(maxsim.maxsim_packed(q.float(), doc.vectors.float(), doc.offsets)[0]),
        doc_id=doc_id,
        k_sim=config.k_sim,
        d_proj=config.d_proj,
    )


def show_muvera_example(example: MuveraExample) -> None:
    """Glue the MUVERA picture (``fig_muvera``) and the numbers its caption names."""
    from . import plots, report

    n_reps = len(example.per_repetition)
    report.glue_all(
        {
            "mv_doc_id": example.doc_id,
            "mv_query_tokens": len(example.query_tokens),
            "mv_doc_tokens": len(example.doc_tokens),
            "mv_partitions": 2**example.k_sim,
            "mv_k_sim": example.k_sim,
            "mv_d_proj": example.d_proj,
            "mv_empty": int(2**example.k_sim - len(set(example.doc_parts.tolist()))),
            "mv_repetitions": n_reps,
            "mv_rep0": float(example.per_repetition[0]),
            "mv_fde_dot": example.fde_dot,
            "mv_fde_mean": example.fde_dot / n_reps,
            "mv_maxsim": example.maxsim,
        }
    )
    report.glue_figure("fig_muvera", plots.muvera_partitions(example))
