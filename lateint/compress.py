"""Compression of stored document token vectors, written out by hand.

An index stores one vector per document token, so storage is ``n_tokens * dim *
4`` bytes in float32. Four ways to shrink it, each a ``compress`` / ``decompress``
pair over a (n_tokens, dim) tensor of L2-normalized vectors:

- ``"fp32"``: stored as they are, 4 bytes per dimension (the reference).
- ``"fp16"``: half precision, 2 bytes per dimension.
- ``"int8"``: one scale per dimension (its largest absolute value / 127), 1 byte.
- ``"residual"``: after ColBERTv2 {cite}`santhanam2022colbertv2`: the nearest of ``k``
  k-means centroids plus ``bits`` bits per dimension for what is left over. Two changes:
  each dimension's buckets are fitted to its residuals (Lloyd-Max; ColBERTv2 shares one
  set of quantile buckets across dimensions), and a 4-bit length correction per vector,
  in the spare bits of its 2-byte centroid id, replaces ColBERTv2's re-normalization
  after decoding (so that decoding is linear in the codes, and ``plaid.py`` can score
  them without decoding).
- ``"binary"``: the sign of each dimension, 1 bit; ``hamming_scores`` and
  ``hamming_maxsim`` compare such codes without decoding them (popcount of XOR).

``Compressed.nbytes`` counts the per-vector codes only: the codebooks (scales,
centroids, bucket values) are shared by the whole corpus and do not grow with it.

``Compressed.encode`` codes new vectors with an existing codebook (an index adds
documents without retraining), ``take`` and ``concat`` slice and join codes.

Left out: search and the on-disk format (``plaid.py``, ``indexfile.py``). Pass
``TokenVectors.vectors``; the offsets do not change.
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass, replace

import numpy as np
import torch

METHODS = ("fp32", "fp16", "int8", "residual", "binary")


@dataclass
class Compressed:
    """Codes for (n, dim) vectors and what ``decompress`` needs to turn them back."""

    method: str
    dim: int
    codes: (
        np.ndarray
    )  # fp32/fp16 (n, dim) float32/float16; int8 (n, dim) int8; residual, binary: (n, bytes) uint8, packed
    bits: int | None = None  # residual: bits per dimension
    headers: np.ndarray | None = (
        None  # residual: (n,) centroid id | norm code << cell bits (uint16, k <= 4096)
    )
    scale: np.ndarray | None = None  # int8: (dim,) float32, shared
    centroids: np.ndarray | None = None  # residual: (k, dim) float32, shared
    cutoffs: np.ndarray | None = (
        None  # residual: (2**bits - 1, dim) float32, shared; bucket j is [cutoffs[j-1], cutoffs[j])
    )
    bucket_values: np.ndarray | None = None  # residual: (2**bits, dim) float32, shared
    norm_cutoffs: np.ndarray | None = None  # residual: (2**NORM_BITS - 1, 1) float32, shared
    norm_values: np.ndarray | None = None  # residual: (2**NORM_BITS, 1) the scale each norm code decodes to

    @property
    def n(self) -> int:
        return len(self.codes)

    @property
    def nbytes(self) -> int:
        """Bytes of the per-vector codes (centroid ids included), not of shared codebooks."""
        return self.codes.nbytes + (0 if self.headers is None else self.headers.nbytes)

    @property
    def centroid_ids(self) -> np.ndarray | None:
        """Residual: (n,) each vector's centroid, int64."""
        return None if self.headers is None else self.read_headers()[0]

    def read_headers(self, rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Residual: each vector's centroid id (int64, the header's low bits) and the
        scale its ``centroid + residual`` decodes with (float32, about 1 / its length:
        the header's top ``NORM_BITS`` through ``norm_values``), for ``rows`` or all."""
        headers = self.headers if rows is None else self.headers[rows]
        cell_bits = _cell_bits(headers.dtype)
        ids = (headers & headers.dtype.type((1 << cell_bits) - 1)).astype(np.int64)
        return ids, self.norm_values[headers >> cell_bits, 0]

    @property
    def bytes_per_vector(self) -> float:
        return self.nbytes / self.n

    @functools.cached_property
    def byte_table(self) -> torch.Tensor:
        """Packed codes only: what each byte value decodes to at each byte position."""
        if self.method == "binary":
            return _byte_table(
                (torch.tensor([-1.0, 1.0]) / np.sqrt(self.dim)).expand(self.codes.shape[1] * 8, 2), 1
            )
        return _byte_table(torch.from_numpy(self.bucket_values).T, self.bits)

    def encode(self, vectors: torch.Tensor) -> Compressed:
        """Code more vectors, shape (m, dim), with this codebook (nothing is refitted:
        int8 clips to the stored scales, residual uses the stored centroids and buckets)."""
        x = _as_array(vectors)
        if x.shape[1] != self.dim:
            raise ValueError(f"vectors have dim {x.shape[1]}; this codebook has dim {self.dim}")
        if self.method == "residual":
            return replace(self, **_residual_codes(x, self))
        if self.method == "int8":
            return replace(self, codes=_int8_codes(x, self.scale))
        return replace(self, codes=_plain_codes(x, self.method))

    def take(self, rows: np.ndarray) -> Compressed:
        """The codes of some rows (int indices or a bool mask), same codebook."""
        headers = None if self.headers is None else self.headers[rows]
        return replace(self, codes=self.codes[rows], headers=headers)

    def concat(self, other: Compressed) -> Compressed:
        """These codes followed by ``other``'s; both must come from one codebook."""
        if other.method != self.method or other.dim != self.dim or other.bits != self.bits:
            raise ValueError(f"cannot join {other.method} codes to {self.method} codes")
        headers = None if self.headers is None else np.concatenate([self.headers, other.headers])
        return replace(self, codes=np.concatenate([self.codes, other.codes]), headers=headers)


def compress(vectors: torch.Tensor, method: str, **kw) -> Compressed:
    """Compress token vectors.

    Parameters
    ----------
    vectors : torch.Tensor
        Shape (n, dim), L2-normalized rows, n >= 1.
    method : str
        One of ``"fp32"``, ``"fp16"``, ``"int8"``, ``"residual"``, ``"binary"``.
    **kw
        For ``"residual"`` only: ``k`` (centroids, default 256, at most n), ``bits``
        (1, 2 or 4; default 2), ``niter`` (k-means iterations, default 20), ``seed``
        (default 0), or ``centroids`` ((k, dim) unit rows, e.g. an index's IVF
        centroids) to skip k-means, with ``centroid_ids`` ((n,) each row's nearest
        centroid, ``nearest_centroid(x, centroids)``) to skip the assignment too when
        coding the same vectors at several bit widths. The result is the same for the
        same seed.

    Returns
    -------
    Compressed

    >>> g = torch.Generator().manual_seed(0)
    >>> x = torch.nn.functional.normalize(torch.randn(100, 16, generator=g), dim=1)
    >>> [compress(x, m).bytes_per_vector for m in ("fp16", "int8", "binary")]
    [32.0, 16.0, 2.0]
    >>> compress(x, "residual", k=8, bits=4).bytes_per_vector  # 2-byte header + 16 * 4 bits
    10.0
    """
    if method not in METHODS:
        raise ValueError(f"unknown compression method {method!r}; expected one of {', '.join(METHODS)}")
    if method != "residual" and kw:
        raise TypeError(f"method {method!r} takes no options; got {', '.join(kw)}")
    if vectors.dim() != 2:
        raise ValueError(f"vectors must be 2-d (n, dim); got shape {tuple(vectors.shape)}")
    n, dim = vectors.shape
    if n == 0 or dim == 0:
        raise ValueError(f"nothing to compress: vectors have shape {tuple(vectors.shape)}")
    x = _as_array(vectors)  # (n, dim)
    if method == "int8":
        scale = (np.abs(x).max(axis=0) / 127).astype(np.float32)  # (dim,)
        return Compressed("int8", dim, _int8_codes(x, scale), scale=scale)
    if method == "residual":
        return _residual(x, **kw)
    return Compressed(method, dim, _plain_codes(x, method))


def _as_array(vectors: torch.Tensor) -> np.ndarray:
    return np.ascontiguousarray(vectors.detach().cpu().float().numpy())


def _plain_codes(x: np.ndarray, method: str) -> np.ndarray:
    if method == "fp32":
        return x.copy()
    if method == "fp16":
        return x.astype(np.float16)
    return np.packbits(x > 0, axis=1)  # binary


def _int8_codes(x: np.ndarray, scale: np.ndarray) -> np.ndarray:
    codes = np.rint(x / np.where(scale > 0, scale, 1))  # an all-zero dimension stays 0
    return np.clip(codes, -127, 127).astype(np.int8)


def _residual(
    x: np.ndarray,
    k: int = 256,
    bits: int = 2,
    niter: int = 20,
    seed: int = 0,
    centroids: np.ndarray | None = None,
    centroid_ids: np.ndarray | None = None,
) -> Compressed:
    n, dim = x.shape
    if bits not in (1, 2, 4):
        raise ValueError(f"bits must be 1, 2 or 4; got {bits!r}")
    if centroids is None:
        centroids = kmeans(x, k, niter=niter, seed=seed)
    elif centroids.ndim != 2 or centroids.shape[1] != dim:
        raise ValueError(f"centroids must have shape (k, {dim}); got {centroids.shape}")
    centroids = np.ascontiguousarray(centroids, dtype=np.float32)
    if centroid_ids is None:
        ids = nearest_centroid(x, centroids)
    elif centroid_ids.shape != (n,) or not 0 <= centroid_ids.min() <= centroid_ids.max() < len(centroids):
        raise ValueError(f"centroid_ids must be {n} indices into the {len(centroids)} centroids")
    else:
        ids = np.asarray(centroid_ids, dtype=np.int64)
    residuals = x - centroids[ids]  # (n, dim)
    cutoffs, values = fit_buckets(residuals, bits, seed=seed)
    buckets = _buckets(residuals, cutoffs)
    inverse = _inverse_norms(centroids, ids, values, buckets)[:, None]  # (n, 1)
    norm_cutoffs, norm_values = fit_buckets(inverse, NORM_BITS, seed=seed)
    return Compressed(
        "residual",
        dim,
        _pack(buckets, bits),
        bits=bits,
        headers=_headers(ids, _buckets(inverse, norm_cutoffs)[:, 0], len(centroids)),
        centroids=centroids.copy(),
        cutoffs=cutoffs,
        bucket_values=values,
        norm_cutoffs=norm_cutoffs,
        norm_values=norm_values,
    )


NORM_BITS = 4  # 16 levels of 1 / length: as good as exact normalization on SciFact


def _inverse_norms(centroids, ids, values, buckets, block: int = 1 << 16) -> np.ndarray:
    """(n,) 1 / |centroid + bucket values| of each coded vector, ``block`` rows at a time."""
    dims = np.arange(centroids.shape[1])
    return np.concatenate(
        [
            1 / np.linalg.norm(centroids[ids[i : i + block]] + values[buckets[i : i + block], dims], axis=1)
            for i in range(0, len(ids), block)
        ]
    ).astype(np.float32)


def _headers(ids: np.ndarray, norm_codes: np.ndarray, k: int) -> np.ndarray:
    """Centroid id in the low bits, norm code in the top ``NORM_BITS``: 2 bytes up to
    4,096 centroids (what SciFact's 1.1M tokens get), 4 beyond."""
    dtype = np.uint16 if k <= 2 ** (16 - NORM_BITS) else np.uint32
    return ids.astype(dtype) | (norm_codes.astype(dtype) << _cell_bits(dtype))


def _cell_bits(dtype) -> int:
    return 8 * np.dtype(dtype).itemsize - NORM_BITS


LLOYD_ITERATIONS = 8  # took SciFact's 2-bit codes from 0.737 nDCG@10 (quartile buckets) to 0.742
FIT_SAMPLE = 1 << 18  # residuals the buckets are fitted on: tens of thousands per bucket and dimension


def fit_buckets(
    residuals: np.ndarray, bits: int, iterations: int = LLOYD_ITERATIONS, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Per dimension, ``2**bits`` bucket values and the cutoffs between them.

    Lloyd-Max quantization, one dimension at a time (a 1-d k-means): start from
    equally full buckets (cutoffs at the quantiles), then alternate "each value is the
    mean of its bucket" and "each cutoff lies halfway between two values", which lowers
    the squared error of the decoded residuals at every step. Equally full buckets
    waste levels on the crowded middle; the fitted ones spread out to the tails.
    Fitted on a seeded sample of at most ``FIT_SAMPLE`` rows.

    Returns (cutoffs (2**bits - 1, dim), values (2**bits, dim)), float32; the values are
    the means of the buckets the cutoffs make (an empty bucket keeps its last value).
    """
    if len(residuals) > FIT_SAMPLE:
        rows = np.random.default_rng(seed).choice(len(residuals), FIT_SAMPLE, replace=False)
        residuals = residuals[np.sort(rows)]
    n, dim = residuals.shape
    levels = 2**bits
    by_dim = np.ascontiguousarray(residuals.T)  # quantiles partition rows: 1.5x faster on contiguous ones
    cutoffs = np.quantile(by_dim, np.arange(1, levels) / levels, axis=1).astype(np.float32)
    values = np.zeros((levels, dim), dtype=np.float32)
    column = np.broadcast_to(np.arange(dim), (n, dim)).ravel()
    # buffers made once: fresh 270 MB temporaries on every step cost more than the counting
    weights = residuals.astype(np.float64).ravel()  # what bincount would convert to on every step
    slot = np.empty(n * dim, dtype=np.int64)
    for step in range(iterations + 1):
        np.multiply(_buckets(residuals, cutoffs).ravel(), dim, out=slot, dtype=np.int64)
        slot += column
        sums = np.bincount(slot, weights=weights, minlength=levels * dim).reshape(levels, dim)
        counts = np.bincount(slot, minlength=levels * dim).reshape(levels, dim)
        np.divide(sums, counts, out=values, where=counts > 0, casting="unsafe")
        if step < iterations:
            cutoffs = (values[1:] + values[:-1]) / 2
    return cutoffs, values


def nearest_centroid(x: np.ndarray, centroids: np.ndarray, block_rows: int | None = None) -> np.ndarray:
    """(n,) index of each row's most similar centroid (inner product), int64.

    A plain matmul and argmax, ``block_rows`` rows at a time (default: 16 MB of scores);
    4x faster here than faiss's flat search, with the same answer.
    """
    return _assign(_tensor(x), _tensor(centroids), block_rows)[0].numpy()


def _assign(
    X: torch.Tensor, C: torch.Tensor, block_rows: int | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Each row's nearest centroid and its inner product with it."""
    ids, best = torch.empty(len(X), dtype=torch.long), torch.empty(len(X))
    rows = max(1, min(len(X), block_rows or 2**22 // max(1, len(C))))
    # one score buffer for every block: a fresh 16 MB block each time is handed back to the
    # OS and zero-filled again, which took half the time of k-means (workspace.py)
    scores = torch.empty(rows, len(C))
    for start in range(0, len(X), rows):
        block = X[start : start + rows]
        end = start + len(block)
        torch.max(torch.mm(block, C.T, out=scores[: len(block)]), 1, out=(best[start:end], ids[start:end]))
    return ids, best


MIN_POINTS_PER_CENTROID = 39  # fewer training points place centroids poorly (faiss's minimum too)


def kmeans(
    x: np.ndarray, k: int, niter: int = 20, seed: int = 0, max_points_per_centroid: int = 256
) -> np.ndarray:
    """Spherical k-means: (k, dim) unit centroids of the unit rows x (n, dim).

    Starts from k distinct seeded rows; trains on a seeded sample of at most
    ``k * max_points_per_centroid`` rows (as faiss does); a centroid left without rows
    restarts at the row its centroid fits worst, which it then holds. Warns
    when there are fewer than ``MIN_POINTS_PER_CENTROID`` rows per centroid. Written out
    because it runs about 3x faster here than faiss.Kmeans, which spends its time in the
    same assignment step.
    """
    n = len(x)
    if not 1 <= k <= n:
        raise ValueError(f"k={k} centroids need 1 <= k <= the number of vectors ({n})")
    if n < k * MIN_POINTS_PER_CENTROID:
        warnings.warn(
            f"k-means of {n} points into {k} centroids: fewer than {MIN_POINTS_PER_CENTROID} "
            "points per centroid place them poorly",
            stacklevel=2,
        )
    g = torch.Generator().manual_seed(seed)
    X = _tensor(x)
    if n > k * max_points_per_centroid:
        X = X[torch.randperm(n, generator=g)[: k * max_points_per_centroid].sort().values]
    C = X[torch.randperm(len(X), generator=g)[:k]].clone()
    for _ in range(niter):
        ids, fit = _assign(X, C)
        sums = torch.zeros_like(C).index_add_(0, ids, X)
        empty = torch.bincount(ids, minlength=k) == 0
        sums[empty] = X[fit.argsort()[: int(empty.sum())]]  # the worst-fitting rows
        C = torch.nn.functional.normalize(sums, dim=1)
    return C.numpy()


def _tensor(x: np.ndarray) -> torch.Tensor:
    """float32, C-contiguous and writable (torch warns on a read-only array), copied only if needed."""
    return torch.from_numpy(np.require(x, dtype=np.float32, requirements=["C", "W"]))


def _buckets(residuals: np.ndarray, cutoffs: np.ndarray) -> np.ndarray:
    codes = np.zeros(residuals.shape, dtype=np.uint8)
    for cutoff in cutoffs:
        codes += residuals >= cutoff  # bucket index = how many cutoffs lie at or below
    return codes


def _residual_codes(x: np.ndarray, book: Compressed) -> dict:
    """Codes and headers for more vectors, with ``book``'s centroids, buckets and norm levels."""
    ids = nearest_centroid(x, book.centroids)
    buckets = _buckets(x - book.centroids[ids], book.cutoffs)
    inverse = _inverse_norms(book.centroids, ids, book.bucket_values, buckets)[:, None]
    norm_codes = _buckets(inverse, book.norm_cutoffs)[:, 0]
    return {"codes": _pack(buckets, book.bits), "headers": _headers(ids, norm_codes, len(book.centroids))}


def decompress(c: Compressed, rows: np.ndarray | None = None) -> torch.Tensor:
    """The vectors back, shape (n, dim), float32; only ``rows`` (int indices) when given.

    ``"residual"`` decodes to (centroid + bucket values) times the vector's stored
    scale, which brings it to about unit length (linear in the codes, unlike
    normalizing after decoding, so that ``plaid.py`` can score codes without decoding
    them and get the same numbers); ``"binary"`` to
    +-1/sqrt(dim) per dimension (unit length, the input's signs). Packed codes decode
    through a table per byte position (ColBERTv2's trick): one gather turns a byte into
    its 8 / bits dimensions' values, no bit twiddling per vector.
    """
    if c.method not in METHODS:
        raise ValueError(f"unknown compression method {c.method!r}; expected one of {', '.join(METHODS)}")
    pick = slice(None) if rows is None else torch.as_tensor(rows, dtype=torch.long)
    codes = torch.from_numpy(c.codes)[pick]
    if c.method in ("fp32", "fp16"):
        return codes.float()
    if c.method == "int8":
        return codes.float() * torch.from_numpy(c.scale)
    if c.method == "binary":
        return torch.nn.functional.embedding(_table_index(codes), c.byte_table).flatten(1)[:, : c.dim]
    ids, scales = c.read_headers(None if rows is None else np.asarray(rows))
    x = torch.from_numpy(c.centroids)[torch.from_numpy(ids)]  # (n, dim)
    x += torch.nn.functional.embedding(_table_index(codes), c.byte_table).flatten(1)[
        :, : c.dim
    ]  # a row gather
    return x.mul_(torch.from_numpy(scales)[:, None])  # about unit length


def _byte_table(values: torch.Tensor, bits: int) -> torch.Tensor:
    """values (n_dims, 2**bits): each dimension's decoded value per code. Returns
    (n_bytes * 256, 8 // bits): row ``p * 256 + b`` holds the values byte ``b`` at byte
    position ``p`` decodes to (most significant bits first, as ``_pack`` writes)."""
    per_byte = 8 // bits
    n_bytes = -(-values.shape[0] // per_byte)
    values = torch.nn.functional.pad(
        values, (0, 0, 0, n_bytes * per_byte - values.shape[0])
    )  # pad dims to whole bytes
    b = torch.arange(256)
    shifts = torch.arange(per_byte - 1, -1, -1) * bits  # (per_byte,)
    code = (b[:, None] >> shifts) & (2**bits - 1)  # (256, per_byte) the code of each dimension in byte b
    dims = torch.arange(n_bytes)[:, None, None] * per_byte + torch.arange(per_byte)  # (n_bytes, 1, per_byte)
    return values[dims, code[None]].reshape(n_bytes * 256, per_byte)


def _table_index(codes: torch.Tensor) -> torch.Tensor:
    """(n, n_bytes) uint8 codes -> row numbers into ``_byte_table``."""
    return codes.long() + torch.arange(codes.shape[1]) * 256


def hamming_scores(query_bits: np.ndarray, doc_bits: np.ndarray, dim: int | None = None) -> np.ndarray:
    """How many bits each query code shares with each document code (popcount of XOR).

    Parameters
    ----------
    query_bits : np.ndarray
        Packed sign bits, uint8, shape (n_queries, n_bytes) (``compress(..., "binary").codes``).
    doc_bits : np.ndarray
        Packed sign bits, uint8, shape (n_docs, n_bytes).
    dim : int, optional
        Bits per code. Default ``8 * n_bytes``: the padding bits (zero in both) count
        as equal, the same constant for every pair.

    Returns
    -------
    np.ndarray
        Equal-bit counts ``e``, shape (n_queries, n_docs), int64. For codes of unit
        vectors, ``(2 * e - dim) / dim`` is the dot product of the decoded vectors.

    >>> q = np.packbits([[1, 0, 1, 1, 0, 0, 0, 0]], axis=1)
    >>> d = np.packbits([[1, 0, 1, 1, 0, 0, 0, 0], [0, 1, 0, 0, 1, 1, 1, 1],
    ...                  [1, 0, 1, 1, 1, 1, 1, 1]], axis=1)
    >>> hamming_scores(q, d)
    array([[8, 0, 4]])
    """
    dim = 8 * query_bits.shape[1] if dim is None else dim
    doc_words = _word_columns(query_bits, doc_bits)
    scores = np.empty((len(query_bits), len(doc_bits)), dtype=np.int64)
    for i, q in enumerate(_words(query_bits)):  # one query code at a time: (n_docs,) temporaries
        scores[i] = dim - _differing_bits(q, doc_words).astype(np.int64)
    return scores


def hamming_maxsim(
    query_bits: np.ndarray, doc_bits: np.ndarray, offsets: np.ndarray, dim: int | None = None
) -> np.ndarray:
    """MaxSim counted in bits, for one query, without decoding anything.

    Per document, the sum over query codes of the most bits shared with any of the
    document's token codes. ``query_bits`` (query_len, n_bytes) and ``doc_bits``
    (n_tokens, n_bytes) as in :func:`hamming_scores`; ``offsets`` (n_docs + 1,) as in
    ``TokenVectors``, every document non-empty. Returns shape (n_docs,), int64.

    >>> q = np.packbits([[1, 1, 0, 0, 0, 0, 0, 0]], axis=1)
    >>> d = np.packbits([[1, 1, 0, 0, 0, 0, 0, 0], [0, 0, 1, 1, 0, 0, 0, 0],
    ...                  [1, 0, 0, 0, 0, 0, 0, 0]], axis=1)
    >>> hamming_maxsim(q, d, np.array([0, 2, 3]))
    array([8, 7])
    """
    dim = 8 * query_bits.shape[1] if dim is None else dim
    doc_words = _word_columns(query_bits, doc_bits)
    offsets = np.asarray(offsets)
    if len(offsets) < 2 or offsets[0] != 0 or offsets[-1] != len(doc_bits) or (np.diff(offsets) < 1).any():
        raise ValueError("offsets must run from 0 to the number of codes, every document with at least one")
    starts = offsets[:-1]
    fewest = np.zeros(len(starts), dtype=np.int64)  # per document, summed over query codes
    for q in _words(query_bits):
        fewest += np.minimum.reduceat(_differing_bits(q, doc_words), starts)  # its best token differs least
    return len(query_bits) * dim - fewest


def _words(bits: np.ndarray) -> np.ndarray:
    """Packed codes as machine words: 8 bytes at a time where the code length allows."""
    return np.ascontiguousarray(bits).view(np.uint64 if bits.shape[1] % 8 == 0 else np.uint8)


def _word_columns(query_bits: np.ndarray, doc_bits: np.ndarray) -> list[np.ndarray]:
    """The documents' codes, one contiguous array per word (XOR and popcount then stream)."""
    if not (query_bits.dtype == doc_bits.dtype == np.uint8 and query_bits.ndim == doc_bits.ndim == 2):
        raise ValueError("query_bits and doc_bits must be 2-d uint8 arrays of packed bits")
    if query_bits.shape[1] != doc_bits.shape[1]:
        raise ValueError(f"codes differ in length: {query_bits.shape[1]} and {doc_bits.shape[1]} bytes")
    words = _words(doc_bits)
    return [np.ascontiguousarray(words[:, j]) for j in range(words.shape[1])]


def _differing_bits(q: np.ndarray, doc_words: list[np.ndarray]) -> np.ndarray:
    """(n,) how many bits each document code differs from one query code ``q`` (its words)."""
    diff = np.bitwise_count(doc_words[0] ^ q[0]).astype(np.uint16)
    for word, column in zip(q[1:], doc_words[1:]):
        diff += np.bitwise_count(column ^ word)
    return diff


def _pack(codes: np.ndarray, bits: int) -> np.ndarray:
    """(n, dim) values below 2**bits -> (n, ceil(dim * bits / 8)) uint8, most significant bit first."""
    planes = (codes[:, :, None] >> np.arange(bits - 1, -1, -1, dtype=np.uint8)) & 1  # (n, dim, bits)
    return np.packbits(planes.reshape(len(codes), -1), axis=1)
