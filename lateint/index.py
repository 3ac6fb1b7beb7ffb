"""Indexes for late interaction: candidates from per-token lookups, then exact MaxSim.

``TokenIndex`` is ColBERT's original end-to-end search {cite}`khattab2020colbert`: every
document token vector goes into a faiss index, each row remembering its document. A
query runs one lookup per query vector (its ``k`` nearest document token vectors); the
documents owning those tokens are the candidates; exact MaxSim over the candidates'
full token vectors ranks them. With ``nlist > 0`` the token index is an IVF: faiss
k-means centroids, each lookup probing ``nprobe`` cells instead of scanning every
vector. It keeps every vector in float32.

``LateIndex`` is how ColBERTv2 and PLAID serve a large corpus: the token vectors are
stored compressed (``compress.py``), the k-means centroids double as IVF cells, and a
centroid-interaction stage prunes candidates before exact MaxSim. It can add and delete
documents and lives on disk (``indexfile.py``).

Both search one query at a time and take its real vectors only, ``q`` (query_len, dim):
``vectors.unpad(Q, Q_mask)`` gives them for a batch.

Left out: PLAID's C++ kernels and multi-threaded batching; here each stage is a few
numpy/torch calls, timed on its own.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace

import faiss
import numpy as np
import torch

from . import compress, indexfile
from .compress import Compressed
from .maxsim import maxsim, maxsim_packed
from .vectors import TokenVectors, check_query, offsets_from_lengths, segment_ids


@dataclass
class Lookup:
    """One query's candidate generation, for inspection."""

    token_scores: np.ndarray  # (n_query_vectors, k) similarity of each hit
    token_docs: np.ndarray  # (n_query_vectors, k) document of each hit (-1: none)
    candidates: np.ndarray  # sorted unique documents hit by any query vector


class TokenIndex:
    """Document token vectors in a faiss inner-product index.

    Parameters
    ----------
    vectors : TokenVectors
        The corpus, as ``Encoder.encode_corpus`` returns it.
    nlist : int
        0 for an exact flat index; else the number of IVF cells (k-means centroids).
    nprobe : int
        IVF cells each lookup visits.
    seed : int
        For k-means.
    """

    def __init__(self, vectors: TokenVectors, nlist: int = 0, nprobe: int = 8, seed: int = 0):
        if vectors.n_docs == 0:
            raise ValueError("cannot index an empty corpus")
        self.vectors = vectors
        self.doc_of_token = vectors.doc_of_token.numpy()  # (n_tokens,)
        data = np.ascontiguousarray(vectors.vectors.float().numpy())
        dim = data.shape[1]
        if nlist:
            quantizer = faiss.IndexFlatIP(dim)
            self.faiss = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
            kmeans_sample = data[
                np.random.default_rng(seed).choice(len(data), size=min(len(data), 256 * nlist), replace=False)
            ]
            self.faiss.cp.seed = seed
            self.faiss.train(kmeans_sample)
            self.faiss.nprobe = nprobe
        else:
            self.faiss = faiss.IndexFlatIP(dim)
        self.faiss.add(data)

    def lookup(self, q: torch.Tensor, k: int) -> Lookup:
        """One lookup per vector of one query, ``q`` (query_len, dim)."""
        check_query(q, self.faiss.d)
        scores, rows = self.faiss.search(np.ascontiguousarray(q.float().numpy()), k)
        docs = np.where(rows >= 0, self.doc_of_token[np.maximum(rows, 0)], -1)
        return Lookup(scores, docs, np.unique(docs[docs >= 0]))

    def search(
        self, q: torch.Tensor, k: int = 10, k_tokens: int = 32
    ) -> tuple[torch.Tensor, torch.Tensor, Lookup]:
        """Top-``k`` documents for one query ``q`` (query_len, dim): candidates from
        ``k_tokens`` lookups per query vector, then exact MaxSim. Returns (scores, doc
        indices, the lookup)."""
        hit = self.lookup(q, k_tokens)
        D, D_mask = self.vectors.select(hit.candidates.tolist()).padded()
        scores = maxsim(q[None], D, D_mask)[0]  # (n_candidates,)
        top = torch.topk(scores, k=min(k, len(scores)))
        return top.values, torch.as_tensor(hit.candidates)[top.indices], hit


@dataclass(frozen=True)
class IndexConfig:
    nlist: int | None = (
        None  # IVF cells (k-means centroids); None: 4 * sqrt(n_tokens) rounded down to a power of 2
    )
    compression: str = "residual"  # how token vectors are stored: fp32, fp16, int8, residual, binary
    bits: int = 2  # residual only: bits per dimension (1, 2 or 4)
    kmeans_points_per_centroid: int = 40  # k-means trains on a sample of this many vectors per centroid
    niter: int = 20  # k-means iterations
    seed: int = 0


@dataclass
class Hits:
    """One query's result, and what each stage did."""

    scores: torch.Tensor  # (k,) exact MaxSim, best first
    docs: torch.Tensor  # (k,) positions in ``LateIndex.doc_ids``
    n_candidates: int  # documents with a token in a probed cell
    n_scored: int  # documents scored exactly (after centroid interaction)
    stage_ms: dict[str, float]  # each stage's wall time
    ms: float  # the whole search's wall time


class LateIndex:
    """A ColBERTv2/PLAID-style index: IVF cells, compressed token vectors, four stages.

    1. **Candidates**: each query vector picks its ``nprobe`` most similar centroids;
       every document with a token in one of those cells is a candidate.
    2. **Pruned centroid interaction** {cite}`santhanam2022plaid`: an approximate MaxSim
       in which a document token stands in by its centroid, over the probed cells only
       (a query vector with no probed cell in the document adds 0); the best ``ndocs``
       go on.
    3. **Centroid interaction** over all of those documents' tokens; the best
       ``ndocs / 4`` (at least ``k``) go on, as in PLAID.
    4. **Exact MaxSim** over those documents' decompressed token vectors.

    Build with :meth:`build`; :meth:`add` and :meth:`delete` change the documents
    without retraining centroids or codebooks; :meth:`save` / :meth:`load` use the
    versioned, checksummed file format of ``indexfile.py``.
    """

    def __init__(
        self,
        config: IndexConfig,
        centroids: np.ndarray,
        store: Compressed,
        token_cells: np.ndarray,
        offsets: np.ndarray,
        doc_ids: list[str],
    ):
        if len(offsets) != len(doc_ids) + 1 or int(offsets[-1]) != store.n or len(token_cells) != store.n:
            raise ValueError(
                f"inconsistent index: {len(doc_ids)} documents, {len(offsets)} offsets, {store.n} codes, "
                f"{len(token_cells)} cell ids"
            )
        if len(set(doc_ids)) != len(doc_ids):
            raise ValueError("document ids must be unique")
        if len(token_cells) and int(token_cells.max()) >= len(centroids):
            raise ValueError(
                f"a token's cell id {int(token_cells.max())} is beyond the {len(centroids)} centroids"
            )
        if offsets[0] != 0 or (np.diff(offsets) < 1).any():
            raise ValueError("offsets must start at 0 and give every document at least one token")
        self.config = config
        self.centroids = np.ascontiguousarray(centroids, dtype=np.float32)  # (nlist, dim)
        self.store = store  # one code per document token
        self.token_cells = token_cells  # (n_tokens,) the cell (centroid) of each token
        self.offsets = np.asarray(offsets, dtype=np.int64)  # (n_docs + 1,)
        self.doc_ids = list(doc_ids)
        self._derive()

    # -- building -------------------------------------------------------------

    @classmethod
    def build(
        cls,
        vectors: TokenVectors,
        doc_ids: Sequence[str],
        config: IndexConfig = IndexConfig(),
        centroids: np.ndarray | None = None,
    ) -> LateIndex:
        """Index a corpus: k-means centroids, each token's cell, compressed codes.

        ``centroids`` ((nlist, dim)) skips k-means, e.g. to compare compressions over
        the same cells.
        """
        if vectors.n_docs == 0:
            raise ValueError("cannot index an empty corpus")
        if len(doc_ids) != vectors.n_docs:
            raise ValueError(f"{len(doc_ids)} document ids for {vectors.n_docs} documents")
        if config.compression not in compress.METHODS:
            raise ValueError(
                f"unknown compression {config.compression!r}; expected one of {', '.join(compress.METHODS)}"
            )
        if int(vectors.lengths.min()) < 1:
            raise ValueError("every document needs at least one token vector")
        x = np.ascontiguousarray(vectors.vectors.float().numpy())  # (n_tokens, dim)
        if config.nlist is None:
            config = replace(config, nlist=default_nlist(len(x)) if centroids is None else len(centroids))
        if centroids is None:
            if not 1 <= config.nlist <= len(x):  # k-means needs a vector per centroid at least
                raise ValueError(
                    f"nlist={config.nlist} needs 1 <= nlist <= the number of token vectors ({len(x)})"
                )
            centroids = train_centroids(x, config)
        elif centroids.shape != (config.nlist, x.shape[1]):
            raise ValueError(
                f"centroids must have shape ({config.nlist}, {x.shape[1]}); got {centroids.shape}"
            )
        if config.compression == "residual":
            store = compress.compress(vectors.vectors, "residual", bits=config.bits, centroids=centroids)
            cells = store.centroid_ids
        else:
            store = compress.compress(vectors.vectors, config.compression)
            cells = compress.nearest_centroid(x, centroids).astype(_cell_dtype(config.nlist))
        return cls(config, centroids, store, cells, vectors.offsets.numpy(), list(doc_ids))

    def _derive(self) -> None:
        """Lookup structures computed from the stored arrays (never saved)."""
        n_docs = len(self.doc_ids)
        self.doc_of_token = segment_ids(self.offsets)  # (n_tokens,)
        pairs = np.unique(
            self.token_cells.astype(np.int64) * max(n_docs, 1) + self.doc_of_token
        )  # (cell, doc), sorted by cell
        self.ivf_docs = (pairs % max(n_docs, 1)).astype(
            np.int32
        )  # per cell, the documents with a token in it
        self.ivf_offsets = offsets_from_lengths(
            np.bincount(pairs // max(n_docs, 1), minlength=len(self.centroids))
        )
        lengths = np.diff(self.offsets)
        position = np.arange(self.n_tokens) - self.offsets[self.doc_of_token]
        self.doc_cells = np.full(
            (n_docs, lengths.max(initial=0)), len(self.centroids), dtype=np.int32
        )  # padded with nlist
        self.doc_cells[self.doc_of_token, position] = self.token_cells

    # -- changing the documents ---------------------------------------------

    def add(self, vectors: TokenVectors, doc_ids: Sequence[str]) -> None:
        """Append documents, coded with the existing centroids and codebook (no retraining:
        after adding much unlike what was indexed, rebuild)."""
        if len(doc_ids) != vectors.n_docs:
            raise ValueError(f"{len(doc_ids)} document ids for {vectors.n_docs} documents")
        if vectors.n_docs == 0:
            return
        clash = sorted(set(doc_ids) & set(self.doc_ids)) or sorted(
            {d for d in doc_ids if list(doc_ids).count(d) > 1}
        )
        if clash:
            raise ValueError(f"document ids already present or repeated: {clash[:5]}")
        if int(vectors.lengths.min()) < 1:
            raise ValueError("every document needs at least one token vector")
        new = self.store.encode(vectors.vectors)
        cells = (
            new.centroid_ids
            if new.centroid_ids is not None
            else compress.nearest_centroid(vectors.vectors.float().numpy(), self.centroids).astype(
                self.token_cells.dtype
            )
        )
        self.store = self.store.concat(new)
        self.token_cells = np.concatenate([self.token_cells, cells])
        self.offsets = np.concatenate([self.offsets, self.offsets[-1] + vectors.offsets[1:].numpy()])
        self.doc_ids += list(doc_ids)
        self._derive()

    def delete(self, doc_ids: Sequence[str]) -> None:
        """Remove documents by id; the others keep their order."""
        position = {d: i for i, d in enumerate(self.doc_ids)}
        missing = [d for d in doc_ids if d not in position]
        if missing:
            raise KeyError(f"not in the index: {missing[:5]}")
        drop = np.zeros(len(self.doc_ids), dtype=bool)
        drop[[position[d] for d in doc_ids]] = True
        if drop.all():
            raise ValueError("cannot delete every document; build a new index instead")
        keep_tokens = ~drop[self.doc_of_token]
        lengths = np.diff(self.offsets)[~drop]
        self.store = self.store.take(keep_tokens)
        self.token_cells = self.token_cells[keep_tokens]
        self.offsets = offsets_from_lengths(lengths)
        self.doc_ids = [d for d, gone in zip(self.doc_ids, drop) if not gone]
        self._derive()

    # -- searching -------------------------------------------------------------

    def search(self, q: torch.Tensor, k: int = 10, nprobe: int = 4, ndocs: int | None = 256) -> Hits:
        """Top-``k`` documents for one query.

        Parameters
        ----------
        q : torch.Tensor
            One query's token vectors, shape (query_len, dim); every row scores.
        k : int
            Documents returned.
        nprobe : int
            Cells each query vector probes.
        ndocs : int or None
            Candidates kept by the pruned centroid interaction; a quarter of them (at
            least ``k``) are scored exactly. None scores every candidate exactly.
        """
        t0 = time.perf_counter()
        check_query(q, self.dim)
        q = q.float()  # (n_q, dim)
        S = q @ torch.from_numpy(self.centroids).T  # (n_q, nlist)
        cells = torch.topk(S, min(nprobe, S.shape[1]), dim=1).indices.unique().numpy()
        t1 = time.perf_counter()
        docs, pair_cells = _ranges(
            self.ivf_offsets, cells, self.ivf_docs
        )  # every (document, probed cell) pair
        candidates, slot = np.unique(docs, return_inverse=True)
        if ndocs is not None and len(candidates) > ndocs:  # probed cells only: cheap, sparse
            pruned = torch.zeros(
                len(q), len(candidates)
            )  # (n_q, n_candidates); a vector with no probed cell adds 0
            index = torch.from_numpy(slot).expand(len(q), -1)
            pruned.scatter_reduce_(1, index, S[:, torch.from_numpy(pair_cells)], "amax")
            kept = candidates[np.sort(torch.topk(pruned.sum(0), ndocs).indices.numpy())]
        else:
            kept = candidates
        t2 = time.perf_counter()
        n_exact = len(kept) if ndocs is None else min(len(kept), max(k, ndocs // 4))
        if n_exact < len(kept):  # every token stands in by its centroid: PLAID's full centroid interaction
            S_pad = torch.cat([S, torch.full((len(q), 1), -torch.inf)], dim=1)  # column nlist: padding
            cells_of = torch.from_numpy(self.doc_cells[kept].astype(np.int64))  # (n_kept, max_len)
            approx = S_pad[:, cells_of].amax(dim=2).sum(0)  # (n_kept,)
            scored = kept[np.sort(torch.topk(approx, n_exact).indices.numpy())]
        else:
            scored = kept
        t3 = time.perf_counter()
        token_rows, lengths = _ranges(self.offsets, scored)
        vectors = compress.decompress(self.store, token_rows)  # (n_tokens_scored, dim)
        t4 = time.perf_counter()
        scores = maxsim_packed(q, vectors, torch.from_numpy(offsets_from_lengths(lengths)))  # (n_scored,)
        top = torch.topk(scores, min(k, len(scores)))
        t5 = time.perf_counter()
        stages = {
            "centroids": t1 - t0,
            "candidates": t2 - t1,
            "interaction": t3 - t2,
            "decompress": t4 - t3,
            "maxsim": t5 - t4,
        }
        return Hits(
            top.values,
            torch.from_numpy(scored)[top.indices],
            len(candidates),
            len(scored),
            {s: v * 1e3 for s, v in stages.items()},
            (t5 - t0) * 1e3,
        )

    def search_all(
        self, queries: Sequence[torch.Tensor], k: int = 100, **settings
    ) -> tuple[np.ndarray, np.ndarray, list[Hits]]:
        """Every query of ``queries`` (each (query_len_i, dim)) searched on its own.

        Returns scores and document positions, shape (n_queries, k), padded with -inf / -1
        where fewer than k were scored, and each query's ``Hits`` (stages, timings).
        """
        scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
        docs = np.full((len(queries), k), -1, dtype=np.int64)
        all_hits = []
        for i, q in enumerate(queries):
            hits = self.search(q, k=k, **settings)
            scores[i, : len(hits.docs)], docs[i, : len(hits.docs)] = hits.scores.numpy(), hits.docs.numpy()
            all_hits.append(hits)
        return scores, docs, all_hits

    # -- facts -----------------------------------------------------------------

    @property
    def dim(self) -> int:
        return self.centroids.shape[1]

    @property
    def n_tokens(self) -> int:
        return self.store.n

    @property
    def bytes_per_token(self) -> float:
        """Stored bytes per token vector: its code, plus its cell id where the code
        does not hold one (residual codes do)."""
        cells = 0 if self.store.centroid_ids is not None else self.token_cells.nbytes
        return (self.store.nbytes + cells) / self.n_tokens

    @property
    def nbytes(self) -> int:
        """Everything a search needs in memory: codes, cell ids, offsets, centroids,
        codebooks and the cell -> documents lists."""
        codebook = sum(
            getattr(self.store, name).nbytes for name in CODEBOOK if getattr(self.store, name) is not None
        )
        return int(
            self.bytes_per_token * self.n_tokens
            + self.offsets.nbytes
            + self.centroids.nbytes
            + codebook
            + self.ivf_docs.nbytes
            + self.ivf_offsets.nbytes
        )

    def save(self, path) -> None:
        """Write the index to one file (``indexfile.py``: versioned, checksummed, no pickle).

        Arrays: ``centroids``, ``codes``, ``token_cells``, ``offsets``, the codebook the
        compression needs (``scale``; ``cutoffs`` and ``bucket_values``), and the document
        ids as UTF-8 bytes (``doc_id_bytes``) with their ``doc_id_offsets``; settings as
        JSON in the metadata. The cell -> documents lists are derived on load, not stored.
        """
        ids = [d.encode("utf-8") for d in self.doc_ids]
        arrays = {
            "centroids": self.centroids,
            "codes": self.store.codes,
            "token_cells": self.token_cells,
            "offsets": self.offsets,
            "doc_id_bytes": np.frombuffer(b"".join(ids), dtype=np.uint8),
            "doc_id_offsets": offsets_from_lengths([len(b) for b in ids]),
        }
        arrays.update(
            {name: getattr(self.store, name) for name in CODEBOOK if getattr(self.store, name) is not None}
        )
        codec = {"method": self.store.method, "dim": self.store.dim, "bits": self.store.bits}
        indexfile.save(path, arrays, {"config": json.dumps(asdict(self.config)), "codec": json.dumps(codec)})

    @classmethod
    def load(cls, path) -> LateIndex:
        """Read an index written by :meth:`save`; a truncated, corrupt or foreign file
        raises ``indexfile.IndexFileError``."""
        arrays, metadata = indexfile.load(path)
        try:
            config, codec = IndexConfig(**json.loads(metadata["config"])), json.loads(metadata["codec"])
            residual = codec["method"] == "residual"
            store = Compressed(
                codec["method"],
                codec["dim"],
                arrays["codes"],
                bits=codec["bits"],
                centroid_ids=arrays["token_cells"] if residual else None,
                centroids=arrays["centroids"] if residual else None,
                **{name: arrays.get(name) for name in CODEBOOK},
            )
            raw, ends = arrays["doc_id_bytes"].tobytes(), arrays["doc_id_offsets"]
            doc_ids = [raw[a:b].decode("utf-8") for a, b in zip(ends[:-1], ends[1:])]
            return cls(config, arrays["centroids"], store, arrays["token_cells"], arrays["offsets"], doc_ids)
        except (KeyError, TypeError, ValueError) as error:
            raise indexfile.IndexFileError(f"{path} holds an inconsistent index: {error}") from None


CODEBOOK = ("scale", "cutoffs", "bucket_values")  # the compression's arrays an index file stores


def default_nlist(n_tokens: int) -> int:
    """4 * sqrt(n_tokens), rounded down to a power of two (PLAID uses 16 * sqrt on
    corpora of hundreds of millions of tokens; fewer cells keep k-means cheap here).

    >>> default_nlist(1_095_734), default_nlist(5_000)
    (4096, 256)
    """
    return 2 ** int(np.floor(np.log2(max(1.0, 4 * np.sqrt(n_tokens)))))


def train_centroids(x: np.ndarray, config: IndexConfig) -> np.ndarray:
    """Spherical k-means over a seeded sample of token vectors x (n, dim)."""
    return compress.kmeans(
        x,
        config.nlist,
        niter=config.niter,
        seed=config.seed,
        max_points_per_centroid=config.kmeans_points_per_centroid,
    )


def _ranges(offsets: np.ndarray, which: np.ndarray, values: np.ndarray | None = None):
    """Concatenate the ranges ``offsets[w]:offsets[w+1]`` for each ``w`` in ``which``.

    Returns (the rows, or ``values`` at those rows; and per row the ``w`` it came
    from), or (rows, range lengths) when ``values`` is None.
    """
    starts, lengths = offsets[which], offsets[which + 1] - offsets[which]
    rows = np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(lengths.sum())
    if values is None:
        return rows, lengths
    return values[rows], np.repeat(which, lengths)


def _cell_dtype(nlist: int) -> type:
    return np.uint16 if nlist <= 65536 else np.int32
