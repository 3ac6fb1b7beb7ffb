"""Size: what each way of storing document token vectors costs in bytes and keeps in quality.

A ``Storage`` names one way: a precision or code (``compress.py``), optionally after
token pooling (``pooling.py``), optionally with a Hamming first stage for sign bits.
``evaluate`` decodes the stored vectors and ranks every judged query exhaustively
against them, so the quality it reports is the storage's alone, with no index pruning
mixed in. Results are cached on disk like rankings (``compare.py``).

Left out: the index's own overhead (cell ids, cell lists), which ``LateIndex.nbytes``
counts.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from . import cache, metrics
from .compress import compress, decompress
from .data import Collection
from .encoder import Encoder, TokenVectors
from .maxsim import maxsim, search
from .pooling import pool_tokens


@dataclass(frozen=True)
class Storage:
    label: str
    method: str = "fp32"  # a compress.METHODS entry
    bits: int | None = None  # residual only
    pool_factor: float = 1  # token pooling before coding (1: none)
    hamming_first: bool = False  # binary only: rank by Hamming MaxSim, re-score the top ``rescore`` with the float query


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


def evaluate(storage: Storage, encoder: Encoder, collection: Collection, vectors: TokenVectors, centroids: np.ndarray | None = None, k: int = 100, rescore: int = 100) -> dict:
    """Bytes per token and retrieval quality for one way of storing ``vectors``.

    Parameters
    ----------
    vectors : TokenVectors
        The collection's token vectors from ``encoder``.
    centroids : np.ndarray, optional
        (n_centroids, dim) for residual codes (an index's IVF centroids); required then.

    Returns
    -------
    dict
        ``label``, ``bytes_per_token`` (stored bytes divided by the *original* token
        count, so pooling's saving shows), ``vectors_per_token``, ``MB`` and the
        metrics of ``metrics.evaluate``.
    """
    if storage.method == "residual" and centroids is None:
        raise ValueError("residual codes need centroids (e.g. LateIndex.centroids)")
    key = cache.key_for(
        storage=asdict(storage), model=encoder.fingerprint(), corpus=collection.fingerprint(),
        queries=cache.key_for(ids=collection.query_ids, texts=collection.query_texts), k=k, rescore=rescore,
        centroids=None if centroids is None else hashlib.sha256(np.ascontiguousarray(centroids, dtype=np.float32).tobytes()).hexdigest(),
        code=_code_version(),
    )
    stored = cache.load_or_compute("storage", key, lambda: _rank(storage, encoder, collection, vectors, centroids, k, rescore))
    n_bytes, n_vectors = float(stored["stats"][0]), float(stored["stats"][1])
    run = metrics.run_from_topk(collection.query_ids, collection.doc_ids, stored["scores"], stored["indices"])
    n_tokens = len(vectors.vectors)
    return {"label": storage.label, "bytes_per_token": n_bytes / n_tokens, "vectors_per_token": n_vectors / n_tokens,
            "MB": n_bytes / 1e6, **metrics.evaluate(run, collection.qrels)}


def _rank(storage: Storage, encoder: Encoder, collection: Collection, vectors: TokenVectors, centroids, k: int, rescore: int) -> dict[str, np.ndarray]:
    kept = pool_tokens(vectors, storage.pool_factor) if storage.pool_factor > 1 else vectors
    options = {"bits": storage.bits, "centroids": centroids} if storage.method == "residual" else {}
    codes = compress(kept.vectors, storage.method, **options)
    D, D_mask = TokenVectors(decompress(codes), kept.offsets, kept.token_ids).padded()
    Q = encoder.encode_queries(collection.query_texts)  # (n_queries, query_len, dim)
    if storage.hamming_first:
        scores, indices = _hamming_then_float(Q, D, D_mask, k, rescore)
    else:
        scores, indices = search(Q, D, D_mask, k)
    return {"scores": np.asarray(scores, dtype=np.float32), "indices": np.asarray(indices, dtype=np.int64),
            "stats": np.array([codes.nbytes, len(kept.vectors)], dtype=np.float64)}


def _hamming_then_float(Q: torch.Tensor, D: torch.Tensor, D_mask: torch.Tensor, k: int, rescore: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Rank by MaxSim between sign bits on both sides, then re-score the top ``rescore``
    with the float query. D holds decoded signs (+-1/sqrt(dim)); the binarized query is
    decoded the same way, so each dot product is (2 * equal bits - dim) / dim, Hamming
    similarity (``compress.hamming_scores`` computes the same from packed bits)."""
    real = Q.abs().sum(-1) > 0  # (n_queries, query_len)
    Q_bits = torch.zeros_like(Q)
    Q_bits[real] = decompress(compress(Q[real], "binary"))
    _, first = search(Q_bits, D, D_mask, rescore)  # (n_queries, rescore)
    scores = torch.stack([maxsim(Q[i : i + 1], D[first[i]], D_mask[first[i]])[0] for i in range(len(Q))])  # (n_queries, rescore)
    top = torch.topk(scores, min(k, scores.shape[1]), dim=1)
    return top.values, torch.gather(first, 1, top.indices)


def knee(rows: list[dict], reference: str = "fp32", tolerance: float = 0.01, measure: str = "nDCG@10") -> dict:
    """The smallest storage (bytes per token) within ``tolerance`` of the reference row."""
    best = next(r for r in rows if r["label"] == reference)[measure]
    close = [r for r in rows if r[measure] >= best - tolerance]
    return min(close, key=lambda r: r["bytes_per_token"])


def _code_version() -> str:
    here = Path(__file__).parent
    names = ("size.py", "compress.py", "pooling.py", "maxsim.py", "encoder.py", "metrics.py")
    return cache.key_for(code=[hashlib.sha256((here / n).read_bytes()).hexdigest() for n in names])
