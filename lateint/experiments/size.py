"""Size: what each way of storing document token vectors costs in bytes and keeps in quality.

A ``Storage`` names one way: a precision or code (``compress.py``), optionally after
token pooling (``pooling.py``), optionally with a Hamming first stage for sign bits.
``evaluate`` decodes the stored vectors and ranks every judged query exhaustively
against them, so the quality it reports is the storage's alone, with no index pruning
mixed in. Results are cached on disk like rankings (``lateint.evaluate``).

Left out: the index's own overhead (cell ids, cell lists), which ``LateIndex.nbytes``
counts.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import torch

from .. import cache, compress, maxsim, metrics, pooling, timing
from .. import encoder as encoder_module
from .. import vectors as vectors_module
from ..data import Collection
from ..encoder import Encoder
from ..evaluate import run_method
from ..vectors import TokenVectors


@dataclass(frozen=True)
class Storage:
    label: str
    method: str = "fp32"  # a compress.METHODS entry
    bits: int | None = None  # residual only
    pool_factor: float = 1  # token pooling before coding (1: none)
    hamming_first: bool = (
        False  # binary only: rank by Hamming MaxSim, re-score the top ``rescore`` with the float query
    )


STORAGES = (
    Storage("fp32"),
    Storage("fp16", "fp16"),
    Storage("int8", "int8"),
    Storage("residual 4-bit", "residual", 4),
    Storage("residual 2-bit", "residual", 2),
    Storage("residual 1-bit", "residual", 1),
    Storage("binary", "binary"),
    Storage("binary, Hamming first stage", "binary", hamming_first=True),
    Storage("pooled x2, fp32", pool_factor=2),
    Storage("pooled x3, fp32", pool_factor=3),
    Storage("pooled x2, residual 2-bit", "residual", 2, pool_factor=2),
)


def evaluate(
    storage: Storage,
    encoder: Encoder,
    collection: Collection,
    vectors: TokenVectors,
    centroids: np.ndarray | None = None,
    k: int = 100,
    rescore: int = 100,
    queries: Callable[[], tuple[torch.Tensor, torch.Tensor]] | None = None,
    pooled: Callable[[float], TokenVectors] | None = None,
    assigned: Callable[[float], np.ndarray] | None = None,
) -> dict:
    """Bytes per token and retrieval quality for one way of storing ``vectors``.

    Parameters
    ----------
    vectors : TokenVectors
        The collection's token vectors from ``encoder``.
    centroids : np.ndarray, optional
        (n_centroids, dim) for residual codes (an index's IVF centroids); required then.
    queries : callable, optional
        Returns the collection's ``Q, Q_mask`` from ``encoder`` (to encode them once for
        many storages, see :func:`evaluate_all`); by default they are encoded here.
    pooled : callable, optional
        Returns ``vectors`` pooled by a factor, ``vectors`` itself for 1 (to pool once
        for many storages); by default pooling runs here.
    assigned : callable, optional
        Returns each vector's nearest centroid for ``vectors`` pooled by a factor (to
        assign once for residual codes of several bit widths); by default it runs here.

    Returns
    -------
    dict
        ``label``, ``bytes_per_token`` (stored bytes divided by the *original* token
        count, so pooling's saving shows), ``vectors_per_token``, ``MB``, the metrics of
        ``metrics.evaluate``, and for a Hamming first stage its median time per query
        (``first_stage_ms``) next to exhaustive float MaxSim over the same vectors
        (``float_ms``).
    """
    if storage.method == "residual" and centroids is None:
        raise ValueError("residual codes need centroids (e.g. LateIndex.centroids)")
    n_tokens = len(vectors.vectors)
    if storage.method == "fp32" and storage.pool_factor == 1:
        # the vectors as they are: exhaustive MaxSim, the ranking ``run_method`` caches
        # (the comparison chapter's), so it is not computed a second time
        late = run_method("late", collection, encoder, k=k)
        nbytes = 4 * vectors.dim * n_tokens
        return {
            "label": storage.label,
            "bytes_per_token": nbytes / n_tokens,
            "vectors_per_token": 1.0,
            "MB": nbytes / 1e6,
            **late.metrics,
        }
    key = cache.key_for(
        storage=asdict(storage),
        model=encoder.fingerprint(),
        corpus=collection.fingerprint(),
        queries=collection.queries_fingerprint(),
        k=k,
        rescore=rescore,
        centroids=cache.array_key(centroids),
        code=cache.source_key(
            compress, pooling, maxsim, metrics, encoder_module, vectors_module, sys.modules[__name__]
        ),
    )
    if queries is None:
        queries = lambda: encoder.encode_queries(collection.query_texts)  # noqa: E731
    if pooled is None:
        pooled = lambda factor: pooling.pool_tokens(vectors, factor) if factor > 1 else vectors  # noqa: E731
    if assigned is None:
        assigned = lambda factor: _assign(pooled, factor, centroids)  # noqa: E731
    stored = cache.load_or_compute(
        "storage",
        key,
        lambda: _rank(storage, collection, vectors, centroids, k, rescore, queries, pooled, assigned),
    )
    run = metrics.run_from_topk(
        collection.query_ids, collection.doc_ids, stored.arrays["scores"], stored.arrays["indices"]
    )
    meta = stored.meta
    return {
        "label": storage.label,
        "bytes_per_token": meta["bytes"] / n_tokens,
        "vectors_per_token": meta["vectors"] / n_tokens,
        "MB": meta["bytes"] / 1e6,
        **metrics.evaluate(run, collection.qrels),
        **{name: meta[name] for name in ("first_stage_ms", "float_ms") if name in meta},
    }


def evaluate_all(
    storages,
    encoder: Encoder,
    collection: Collection,
    vectors: TokenVectors,
    centroids: np.ndarray | None = None,
    **kw,
) -> list[dict]:
    """:func:`evaluate` for each storage, the queries encoded, each pooling run and each
    centroid assignment made at most once."""
    encoded = functools.cache(lambda: encoder.encode_queries(collection.query_texts))
    pooled = functools.cache(lambda factor: pooling.pool_tokens(vectors, factor) if factor > 1 else vectors)
    assigned = functools.cache(lambda factor: _assign(pooled, factor, centroids))
    return [
        evaluate(
            s,
            encoder,
            collection,
            vectors,
            centroids,
            queries=encoded,
            pooled=pooled,
            assigned=assigned,
            **kw,
        )
        for s in storages
    ]


def _assign(pooled: Callable[[float], TokenVectors], factor: float, centroids: np.ndarray) -> np.ndarray:
    return compress.nearest_centroid(pooled(factor).vectors.float().numpy(), centroids)


def _rank(
    storage: Storage,
    collection: Collection,
    vectors: TokenVectors,
    centroids,
    k: int,
    rescore: int,
    queries: Callable[[], tuple[torch.Tensor, torch.Tensor]],
    pooled: Callable[[float], TokenVectors],
    assigned: Callable[[float], np.ndarray],
) -> cache.Entry:
    kept = pooled(storage.pool_factor)
    options = (
        {"bits": storage.bits, "centroids": centroids, "centroid_ids": assigned(storage.pool_factor)}
        if storage.method == "residual"
        else {}
    )
    codes = compress.compress(kept.vectors, storage.method, **options)
    D, D_mask = TokenVectors(compress.decompress(codes), kept.offsets, kept.token_ids).padded()
    Q, Q_mask = queries()  # (n_queries, query_len, dim), (n_queries, query_len)
    meta = {"bytes": codes.nbytes, "vectors": len(kept.vectors)}
    if storage.hamming_first:
        scores, indices, times = _hamming_then_float(
            Q, Q_mask, codes.codes, kept.offsets.numpy(), D, D_mask, k, rescore
        )
        meta.update(times)
    else:
        scores, indices = maxsim.search(Q, D, D_mask, k, Q_mask)
    arrays = {"scores": np.asarray(scores, dtype=np.float32), "indices": np.asarray(indices, dtype=np.int64)}
    return cache.Entry(arrays, meta)


def _hamming_then_float(
    Q: torch.Tensor,
    Q_mask: torch.Tensor,
    doc_bits: np.ndarray,
    offsets: np.ndarray,
    D: torch.Tensor,
    D_mask: torch.Tensor,
    k: int,
    rescore: int,
    timing_queries: int = 30,
):
    """Rank every document by MaxSim in bits (``compress.hamming_maxsim``: popcount, nothing
    decoded), query binarized too; re-score the top ``rescore`` with the float query
    against the decoded signs. Also times the bit-only stage against float MaxSim over
    all documents, per query."""
    query_bits = [compress.compress(q, "binary").codes for q in vectors_module.unpad(Q, Q_mask)]
    first_scores, first_ms = timing.time_each(
        lambda bits: compress.hamming_maxsim(bits, doc_bits, offsets), query_bits
    )
    first = torch.stack(
        [torch.from_numpy(np.argsort(-s, kind="stable")[:rescore]) for s in first_scores]
    )  # ties: lower index first
    scores = torch.stack(
        [
            maxsim.maxsim(Q[i : i + 1], D[first[i]], D_mask[first[i]], Q_mask[i : i + 1])[0]
            for i in range(len(Q))
        ]
    )
    top = torch.topk(scores, min(k, scores.shape[1]), dim=1)
    float_ms = timing.median_ms(
        lambda i: maxsim.maxsim(Q[i : i + 1], D, D_mask, Q_mask[i : i + 1]),
        range(min(timing_queries, len(Q))),
    )
    return (
        top.values,
        torch.gather(first, 1, top.indices),
        {"first_stage_ms": float(np.median(first_ms)), "float_ms": float_ms},
    )


def knee(
    rows: list[dict], reference: str = "fp32", tolerance: float = 0.01, measure: str = "nDCG@10"
) -> dict:
    """The smallest storage (bytes per token) within ``tolerance`` of the reference row."""
    best = next(r for r in rows if r["label"] == reference)[measure]
    close = [r for r in rows if r[measure] >= best - tolerance]
    return min(close, key=lambda r: r["bytes_per_token"])
