"""Size: what each way of storing document token vectors costs in bytes and keeps in quality.

A ``Storage`` names one way: a precision or code (``compress.py``), optionally after
token pooling (``pooling.py``), optionally with a Hamming first stage for sign bits.
``evaluate`` decodes the stored vectors and ranks every judged query exhaustively
against them, so the quality it reports is the storage's alone, with no index pruning
mixed in. Results are cached on disk like rankings (``lateint.evaluate``).

Left out: the index's own overhead (cell ids, cell lists), which ``PlaidIndex.nbytes``
counts.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import torch
from IPython.display import display

from .. import cache, compress, maxsim, metrics, pooling, timing
from .. import encoder as encoder_module
from .. import vectors as vectors_module
from ..data import Collection
from ..encoder import Encoder
from ..evaluate import run_method
from ..vectors import TokenVectors
from . import published, report, stats
from .stats import Difference


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
        ``metrics.evaluate``, each metric per judged query (``per_query``, as
        ``metrics.per_query`` gives it: ``{measure: {query_id: value}}``), and for a
        Hamming first stage its median time per query
        (``first_stage_ms``) next to exhaustive float MaxSim over the same vectors
        (``float_ms``).
    """
    if storage.method == "residual" and centroids is None:
        raise ValueError("residual codes need centroids (e.g. PlaidIndex.centroids)")
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
            "per_query": late.per_query,
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
    per_query = metrics.per_query_topk(
        collection.query_ids,
        collection.doc_ids,
        stored.arrays["scores"],
        stored.arrays["indices"],
        collection.qrels,
    )
    meta = stored.meta
    return {
        "label": storage.label,
        "bytes_per_token": meta["bytes"] / n_tokens,
        "vectors_per_token": meta["vectors"] / n_tokens,
        "MB": meta["bytes"] / 1e6,
        **metrics.means(per_query),
        "per_query": per_query,
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
    factors = sorted({s.pool_factor for s in storages if s.pool_factor > 1})
    every_pooling = functools.cache(lambda: dict(zip(factors, pooling.pool_tokens_at(vectors, factors))))
    pooled = lambda factor: every_pooling()[factor] if factor > 1 else vectors  # noqa: E731
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


def best_within(rows: list[dict], max_bytes: float, measure: str = "nDCG@10") -> dict:
    """The row with the best ``measure`` among those storing at most ``max_bytes`` per token."""
    return max((r for r in rows if r["bytes_per_token"] <= max_bytes), key=lambda r: r[measure])


def differences(rows: list[dict], reference: str = "fp32", measure: str = "nDCG@10") -> dict[str, Difference]:
    """Each storage minus the reference, per query, with its 95% paired-bootstrap interval
    (``stats.compare``), in ``measure``'s own units: ``{label: Difference}``."""
    base = next(r for r in rows if r["label"] == reference)["per_query"][measure]
    return {r["label"]: stats.compare(r["per_query"][measure], base) for r in rows if r["label"] != reference}


def in_points(d: Difference) -> Difference:
    """A difference of nDCG@10 (0 to 1) in points (0 to 100), as the page writes it."""
    return Difference(100 * d.mean, 100 * d.low, 100 * d.high, d.n_queries)


# -- the size chapter's tables, figures and glue --------------------------------------------

# Each code the chapter prices, and its options (residual codes also get centroids).
CODES = {
    "fp32": {},
    "fp16": {},
    "int8": {},
    "residual 4-bit": {"bits": 4},
    "residual 2-bit": {"bits": 2},
    "residual 1-bit": {"bits": 1},
    "binary": {},
}


def token_sample(encoder: Encoder, collection: Collection, n_docs: int = 40) -> torch.Tensor:
    """(n, dim) the kept token vectors of the collection's first ``n_docs`` documents."""
    D, D_mask = encoder.encode_documents(collection.doc_texts[:n_docs])
    return D[D_mask]


def bytes_per_vector(
    sample: torch.Tensor, centroids: np.ndarray | None = None, k: int = 256
) -> dict[str, float]:
    """Bytes per vector of each code in ``CODES``, measured by coding ``sample`` (n, dim).

    Residual codes use ``centroids`` ((k, dim), e.g. an index's) when given, else k-means
    centroids of their own, trained once: ``k``, or fewer where ``sample`` cannot give
    each ``compress.MIN_POINTS_PER_CENTROID`` training points (centroids trained on fewer
    are poorly placed). The count does not change the bytes: a centroid id takes 2 bytes
    for any count up to 65,536.
    """
    if centroids is None:
        centroids = compress.compress(
            sample, "residual", k=min(k, max(1, len(sample) // compress.MIN_POINTS_PER_CENTROID))
        ).centroids
    out = {}
    for name, options in CODES.items():
        method = name.split(" ")[0]
        extra = {"centroids": centroids} if method == "residual" else {}
        out[name] = compress.compress(sample, method, **options, **extra).bytes_per_vector
    return out


def show_bytes(
    per_vector: dict[str, float],
    per_vector_default: dict[str, float],
    encoder: Encoder,
    default: Encoder,
    n_tokens: int,
) -> None:
    """The table of bytes per vector for each code (this page's head and the default
    head), this collection's size and MS MARCO's; glue the numbers the prose cites."""
    rows = []
    for name, b in per_vector.items():
        who, gib = published.MSMARCO_INDEX_GIB.get(name, ("", None))
        rows.append(
            [
                name,
                f"{b:.0f}",
                f"{per_vector_default[name]:.0f}",
                f"{b * n_tokens / 2**20:.1f}",
                f"{b * published.MSMARCO_TOKENS / 2**30:.1f}",
                f"{gib} ({who})" if gib else "",
            ]
        )
    header = [
        "code",
        f"bytes per vector ({encoder.dim}-d, {encoder.name})",
        f"bytes per vector ({default.dim}-d, {default.name}, the default)",
        "this collection (MiB)",
        "MS MARCO, vectors only (GiB)",
        "published MS MARCO index (GiB)",
    ]
    display(report.table(header, rows))
    tokens = published.MSMARCO_TOKENS
    report.glue_all(
        {
            "msmarco_tokens_m": tokens / 1e6,
            "msmarco_fp16_gib": per_vector["fp16"] * tokens / 2**30,
            "msmarco_res2_gib": per_vector["residual 2-bit"] * tokens / 2**30,
            "msmarco_vs_here": tokens / n_tokens,
            "published_fp16_gib": published.MSMARCO_INDEX_GIB["fp16"][1],
            "published_rerank_gib": published.COLBERT_RERANK_INDEX_GIB,
            "published_res2_gib": published.MSMARCO_INDEX_GIB["residual 2-bit"][1],
            "published_ivf_gib": published.COLBERTV2_INVERTED_LISTS_GIB,
            "colbertv2_res2_bytes": published.COLBERTV2_BYTES_PER_2BIT_VECTOR,
            "res2_bytes": per_vector["residual 2-bit"],
            "default_dim": default.dim,
            "default_fp16_bytes": per_vector_default["fp16"],
            "default_fp16_ratio": per_vector_default["fp16"] / per_vector["fp16"],
            "default_res2_bytes": per_vector_default["residual 2-bit"],
        }
    )


def glue_tokens(vectors: TokenVectors) -> None:
    """Glue the collection's token counts: mean and median per document, total, dim."""
    lengths = vectors.lengths.numpy()
    report.glue_all(
        {
            "tokens_mean": float(lengths.mean()),
            "tokens_median": float(np.median(lengths)),
            "n_tokens": len(vectors.vectors),
            "dim": vectors.dim,
        }
    )


@dataclass(frozen=True)
class ResidualExample:
    """One token vector as its residual code stores it (what ``plots.residual_code`` draws)."""

    token: str  # the wordpiece
    original: np.ndarray  # (dim,) the token vector, unit length
    centroid: np.ndarray  # (dim,) its nearest centroid
    centroid_id: int
    n_centroids: int
    cutoffs: np.ndarray  # (2**bits - 1, dim) bucket boundaries of the residual, per dimension
    bucket_values: np.ndarray  # (2**bits, dim) what each bucket decodes to, per dimension
    buckets: np.ndarray  # (dim,) the stored code of each dimension, 0 .. 2**bits - 1
    decoded: np.ndarray  # (dim,) (centroid + bucket values) x its scale (``compress.decompress``)
    bits: int
    id_bytes: int  # bytes of the header: the centroid id and a 4-bit length code
    code_bytes: int  # bytes of the packed bucket codes
    cosine: float  # decoded against original
    median_cosine: float  # the same, median over every coded vector

    @property
    def residual(self) -> np.ndarray:
        return self.original - self.centroid


def residual_example(
    codes: compress.Compressed, sample: torch.Tensor, encoder: Encoder, token_ids: torch.Tensor
) -> ResidualExample:
    """A typical token of ``sample`` (n, dim) as residual ``codes`` of it store it: of the
    whole-word tokens (letters only, 4 or more), the one whose decoded cosine to its
    original is closest to the median over all ``n``. ``token_ids``: the wordpiece ids
    of ``sample``'s rows (or more, from the same start: ``TokenVectors.token_ids``)."""
    tokens = encoder.tokens(token_ids[: len(sample)])
    decoded = compress.decompress(codes).numpy()  # (n, dim)
    original = sample.float().numpy()
    cosines = (decoded * original).sum(axis=1) / np.linalg.norm(original, axis=1)
    median = float(np.median(cosines))
    words = [i for i, t in enumerate(tokens) if t.isalpha() and len(t) >= 4] or list(range(len(tokens)))
    row = min(words, key=lambda i: (abs(cosines[i] - median), i))
    bits = codes.bits
    unpacked = np.unpackbits(codes.codes[row])[: codes.dim * bits].reshape(codes.dim, bits)
    buckets = unpacked @ (2 ** np.arange(bits - 1, -1, -1))  # most significant bit first, as stored
    centroid_id = int(codes.centroid_ids[row])
    return ResidualExample(
        token=tokens[row],
        original=original[row],
        centroid=codes.centroids[centroid_id],
        centroid_id=centroid_id,
        n_centroids=len(codes.centroids),
        cutoffs=codes.cutoffs,
        bucket_values=codes.bucket_values,
        buckets=buckets,
        decoded=decoded[row],
        bits=bits,
        id_bytes=codes.headers.itemsize,
        code_bytes=codes.codes.shape[1],
        cosine=float(cosines[row]),
        median_cosine=median,
    )


def show_residual_example(example: ResidualExample) -> None:
    """Glue the residual-code figure (``fig_residual``) and the numbers its caption names."""
    from . import plots

    report.glue_figure("fig_residual", plots.residual_code(example))
    report.glue_all(
        {
            "rx_token": example.token,
            "rx_centroid": example.centroid_id,
            "rx_centroids": example.n_centroids,
            "rx_id_bytes": example.id_bytes,
            "rx_code_bytes": example.code_bytes,
            "rx_bytes": example.id_bytes + example.code_bytes,
            "rx_cosine": example.cosine,
            "rx_median_cosine": example.median_cosine,
        }
    )


STORAGE_KEYS = {  # glue names for the rows the prose cites
    "fp16": "fp16",
    "int8": "int8",
    "res4": "residual 4-bit",
    "res2": "residual 2-bit",
    "res1": "residual 1-bit",
    "bin": "binary",
    "ham": "binary, Hamming first stage",
    "pool2": "pooled x2, fp32",
    "pool3": "pooled x3, fp32",
    "pool2res2": "pooled x2, residual 2-bit",
}


def show_storages(
    rows: list[dict], diffs: dict[str, Difference], knee: dict, best20: dict, tolerance: float = 0.01
) -> None:
    """The storage table (folded), the size figure (``fig_size``), and glue: each row's
    change in nDCG@10 against float32 in points (``d_<key>``, and with its interval as
    ``di_<key>``), the knee, the best storage at 20 bytes or less, the Hamming timings."""
    from . import plots

    reference = next(r for r in rows if r["label"] == "fp32")
    table_rows = []
    for r in rows:
        d = diffs.get(r["label"])
        table_rows.append(
            [
                r["label"],
                f"{r['bytes_per_token']:.1f}",
                f"{r['vectors_per_token']:.2f}",
                f"{r['MB'] * 1e6 / 2**20:.1f}",
                f"{r['nDCG@10']:.3f}",
                f"{r['R@100']:.3f}",
                f"{in_points(d):.2f}" if d else "",
            ]
        )
    header = [
        "storage",
        "bytes per token",
        "vectors per token",
        "MiB",
        "nDCG@10",
        "R@100",
        "change in nDCG@10, points (95% interval)",
    ]
    display(
        report.table(
            header,
            table_rows,
            best={"bytes per token": "min", "nDCG@10": "max", "R@100": "max"},
            collapsed=f"The numbers behind the figure: {len(rows)} storages, each change with its interval",
        )
    )
    intervals = {label: (100 * d.low, 100 * d.high) for label, d in diffs.items()}
    report.glue_figure(
        "fig_size",
        plots.size_quality(rows, tolerance=tolerance, highlight=knee["label"], intervals=intervals),
    )
    by = {r["label"]: r for r in rows}
    ham = by["binary, Hamming first stage"]
    values = {
        "ref_ndcg": reference["nDCG@10"],
        "n_queries": len(reference["per_query"]["nDCG@10"]),
        "knee_bytes": knee["bytes_per_token"],
        "knee_ndcg": knee["nDCG@10"],
        "knee_ratio": reference["bytes_per_token"] / knee["bytes_per_token"],
        "knee_change": f"{in_points(diffs[knee['label']]):.2f}",
        "best20_bytes": best20["bytes_per_token"],
        "best20_change": f"{in_points(diffs[best20['label']]):.2f}",
        "ham_first_ms": ham["first_stage_ms"],
        "ham_float_ms": ham["float_ms"],
    }
    for key, label in STORAGE_KEYS.items():
        values[f"d_{key}"] = in_points(diffs[label]).mean
        values[f"di_{key}"] = f"{in_points(diffs[label]):.2f}"
        values[f"bytes_{key}"] = by[label]["bytes_per_token"]
    values["colbertv2_1bit_mrr_loss"] = published.COLBERTV2_1BIT_MRR_LOSS_POINTS
    report.glue_all(values)


def show_per_document(encoder: Encoder, per_vector: dict[str, float], vectors: TokenVectors) -> None:
    """What one vector per document (dense, MUVERA) costs beside the token vectors, here
    and on MS MARCO; glue the numbers the prose cites."""
    from ..muvera import MuveraConfig

    muvera = MuveraConfig()  # the speed chapter's settings
    hidden = encoder.backbone.config.hidden_size
    tokens_mean = float(vectors.lengths.float().mean())
    passages, tokens = published.MSMARCO_PASSAGES, published.MSMARCO_TOKENS
    fixed = {
        f"dense MiniLM: one {hidden}-d float32 vector": hidden * 4,
        f"MUVERA encoding: {muvera.dim:,}-d float32": muvera.dim * 4,
    }
    rows = [
        [name, f"{b / 1024:.1f}", f"{b / tokens_mean:.0f}", f"{b * passages / 2**30:.0f}"]
        for name, b in fixed.items()
    ]
    for name, code in (("token vectors, fp16", "fp16"), ("token vectors, 2-bit residual", "residual 2-bit")):
        b = per_vector[code]
        rows.append([name, f"{b * tokens_mean / 1024:.1f}", f"{b:.0f}", f"{b * tokens / 2**30:.0f}"])
    header = ["stored per document", "KiB per document (here)", "bytes per token (here)", "MS MARCO (GiB)"]
    display(report.table(header, rows))
    muvera_bytes = muvera.dim * 4
    report.glue_all(
        {
            "msmarco_passages_m": passages / 1e6,
            "msmarco_tokens_per_passage": tokens / passages,
            "muvera_dim": muvera.dim,
            "muvera_kib": muvera_bytes / 1024,
            "muvera_msmarco_gib": muvera_bytes * passages / 2**30,
            "muvera_vs_fp16_here": muvera_bytes / (per_vector["fp16"] * tokens_mean),
            "muvera_vs_fp16_msmarco": muvera_bytes / (per_vector["fp16"] * tokens / passages),
        }
    )
