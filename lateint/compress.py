"""Compression of stored document token vectors, written out by hand.

An index stores one vector per document token, so storage is ``n_tokens * dim *
4`` bytes in float32. Four ways to shrink it, each a ``compress`` / ``decompress``
pair over a (n_tokens, dim) tensor of L2-normalized vectors:

- ``"fp16"``: half precision, 2 bytes per dimension.
- ``"int8"``: one scale per dimension (its largest absolute value / 127), 1 byte.
- ``"residual"``: ColBERTv2's scheme {cite}`santhanam2022colbertv2`: the nearest of
  ``k`` k-means centroids plus ``bits`` bits per dimension for what is left over.
- ``"binary"``: the sign of each dimension, 1 bit; ``hamming_scores`` compares
  such codes without decoding them, a cheap first stage.

``Compressed.nbytes`` counts the per-vector codes only: the codebooks (scales,
centroids, bucket values) are shared by the whole corpus and do not grow with it.

Left out: PLAID's centroid interaction and any on-disk format; everything here is
in memory. Pass ``TokenVectors.vectors``; the offsets do not change.
"""

from __future__ import annotations

from dataclasses import dataclass

import faiss
import numpy as np
import torch

METHODS = ("fp16", "int8", "residual", "binary")


@dataclass
class Compressed:
    """Codes for (n, dim) vectors and what ``decompress`` needs to turn them back."""

    method: str
    dim: int
    codes: np.ndarray  # fp16 (n, dim) float16; int8 (n, dim) int8; residual, binary: (n, bytes) uint8, packed
    bits: int | None = None  # residual: bits per dimension
    centroid_ids: np.ndarray | None = None  # residual: (n,) uint16, or int32 when k > 65536
    scale: np.ndarray | None = None  # int8: (dim,) float32, shared
    centroids: np.ndarray | None = None  # residual: (k, dim) float32, shared
    cutoffs: np.ndarray | None = None  # residual: (2**bits - 1, dim) float32, shared; bucket j is [cutoffs[j-1], cutoffs[j])
    bucket_values: np.ndarray | None = None  # residual: (2**bits, dim) float32, shared

    @property
    def n(self) -> int:
        return len(self.codes)

    @property
    def nbytes(self) -> int:
        """Bytes of the per-vector codes (centroid ids included), not of shared codebooks."""
        return self.codes.nbytes + (0 if self.centroid_ids is None else self.centroid_ids.nbytes)

    @property
    def bytes_per_vector(self) -> float:
        return self.nbytes / self.n


def compress(vectors: torch.Tensor, method: str, **kw) -> Compressed:
    """Compress token vectors.

    Parameters
    ----------
    vectors : torch.Tensor
        Shape (n, dim), L2-normalized rows, n >= 1.
    method : str
        One of ``"fp16"``, ``"int8"``, ``"residual"``, ``"binary"``.
    **kw
        For ``"residual"`` only: ``k`` (centroids, default 256, at most n), ``bits``
        (1, 2 or 4; default 2), ``niter`` (k-means iterations, default 20), ``seed``
        (default 0). The result is the same for the same seed.

    Returns
    -------
    Compressed

    >>> x = torch.nn.functional.normalize(torch.randn(100, 16, generator=torch.Generator().manual_seed(0)), dim=1)
    >>> [compress(x, m).bytes_per_vector for m in ("fp16", "int8", "binary")]
    [32.0, 16.0, 2.0]
    >>> compress(x, "residual", k=8, bits=4).bytes_per_vector  # 2-byte centroid id + 16 * 4 bits
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
    x = np.ascontiguousarray(vectors.detach().cpu().float().numpy())  # (n, dim)
    if method == "fp16":
        return Compressed("fp16", dim, x.astype(np.float16))
    if method == "int8":
        scale = (np.abs(x).max(axis=0) / 127).astype(np.float32)  # (dim,)
        codes = np.rint(x / np.where(scale > 0, scale, 1))  # an all-zero dimension stays 0
        return Compressed("int8", dim, np.clip(codes, -127, 127).astype(np.int8), scale=scale)
    if method == "binary":
        return Compressed("binary", dim, np.packbits(x > 0, axis=1))
    return _residual(x, **kw)


def _residual(x: np.ndarray, k: int = 256, bits: int = 2, niter: int = 20, seed: int = 0) -> Compressed:
    n, dim = x.shape
    if bits not in (1, 2, 4):
        raise ValueError(f"bits must be 1, 2 or 4; got {bits!r}")
    if not 1 <= k <= n:
        raise ValueError(f"k={k} centroids need 1 <= k <= the number of vectors ({n})")
    kmeans = faiss.Kmeans(dim, k, niter=niter, seed=seed, spherical=True)
    kmeans.train(x)
    _, ids = kmeans.index.search(x, 1)  # unit-norm centroids: nearest in L2 is largest inner product
    ids = ids[:, 0]
    residuals = x - kmeans.centroids[ids]  # (n, dim)
    # 2**bits equally full buckets per dimension: cutoffs at the residuals' quantiles.
    cutoffs = np.quantile(residuals, np.arange(1, 2**bits) / 2**bits, axis=0).astype(np.float32)
    codes = np.zeros((n, dim), dtype=np.uint8)
    for cutoff in cutoffs:
        codes += residuals >= cutoff  # bucket index = how many cutoffs lie at or below
    values = np.zeros((2**bits, dim), dtype=np.float32)  # an empty bucket's 0 is never decoded
    for j in range(2**bits):
        inside = codes == j
        count = inside.sum(axis=0)
        np.divide(np.where(inside, residuals, 0).sum(axis=0), count, out=values[j], where=count > 0)
    return Compressed(
        "residual", dim, _pack(codes, bits), bits=bits, centroid_ids=ids.astype(_id_dtype(k)),
        centroids=kmeans.centroids.copy(), cutoffs=cutoffs, bucket_values=values,
    )


def decompress(c: Compressed) -> torch.Tensor:
    """The vectors back, shape (n, dim), float32.

    ``"residual"`` decodes to centroid + bucket values, L2-normalized; ``"binary"`` to
    +-1/sqrt(dim) per dimension (unit length, the input's signs).
    """
    if c.method == "fp16":
        x = c.codes.astype(np.float32)
    elif c.method == "int8":
        x = c.codes.astype(np.float32) * c.scale
    elif c.method == "binary":
        signs = np.unpackbits(c.codes, axis=1, count=c.dim).astype(np.float32) * 2 - 1
        x = signs / np.sqrt(c.dim, dtype=np.float32)
    elif c.method == "residual":
        codes = _unpack(c.codes, c.bits, c.dim)  # (n, dim) bucket indices
        x = c.centroids[c.centroid_ids] + np.take_along_axis(c.bucket_values, codes.astype(np.intp), axis=0)
        x /= np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    else:
        raise ValueError(f"unknown compression method {c.method!r}; expected one of {', '.join(METHODS)}")
    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))


def hamming_scores(query_bits: np.ndarray, doc_bits: np.ndarray, dim: int | None = None) -> np.ndarray:
    """How many bits each query code shares with each document code.

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
    >>> d = np.packbits([[1, 0, 1, 1, 0, 0, 0, 0], [0, 1, 0, 0, 1, 1, 1, 1], [1, 0, 1, 1, 1, 1, 1, 1]], axis=1)
    >>> hamming_scores(q, d)
    array([[8, 0, 4]])
    """
    if query_bits.dtype != np.uint8 or doc_bits.dtype != np.uint8 or query_bits.ndim != 2 or doc_bits.ndim != 2:
        raise ValueError("query_bits and doc_bits must be 2-d uint8 arrays of packed bits")
    if query_bits.shape[1] != doc_bits.shape[1]:
        raise ValueError(f"codes differ in length: {query_bits.shape[1]} and {doc_bits.shape[1]} bytes")
    dim = 8 * query_bits.shape[1] if dim is None else dim
    scores = np.empty((len(query_bits), len(doc_bits)), dtype=np.int64)
    for i, q in enumerate(query_bits):  # one query at a time: (n_docs, n_bytes) temporaries, not n_queries times that
        scores[i] = dim - _POPCOUNT[doc_bits ^ q].sum(axis=1, dtype=np.int64)
    return scores


_POPCOUNT = np.unpackbits(np.arange(256, dtype=np.uint8)[:, None], axis=1).sum(axis=1).astype(np.uint8)  # set bits per byte value


def _id_dtype(k: int) -> type:
    return np.uint16 if k <= 65536 else np.int32


def _pack(codes: np.ndarray, bits: int) -> np.ndarray:
    """(n, dim) values below 2**bits -> (n, ceil(dim * bits / 8)) uint8, most significant bit first."""
    planes = (codes[:, :, None] >> np.arange(bits - 1, -1, -1, dtype=np.uint8)) & 1  # (n, dim, bits)
    return np.packbits(planes.reshape(len(codes), -1), axis=1)


def _unpack(packed: np.ndarray, bits: int, dim: int) -> np.ndarray:
    planes = np.unpackbits(packed, axis=1, count=dim * bits).reshape(len(packed), dim, bits)
    return (planes << np.arange(bits - 1, -1, -1, dtype=np.uint8)).sum(axis=2, dtype=np.uint8)
