"""A PLAID-style index: how ColBERTv2 and PLAID serve a large corpus.

The token vectors are stored as residual codes (``compress.py``), the k-means centroids
double as IVF cells, and two centroid-interaction stages prune the candidates before
exact MaxSim {cite}`santhanam2022plaid`. The exact stage scores the residual codes
without decoding them, as WARP does {cite}`scheerer2025warp`: per query, a lookup table
holds each query vector's dot product with every value a byte of code can stand for,
so a token's similarity is a sum of table rows. The index can add and delete
documents and lives on disk (``indexfile.py``); ``cached_index`` builds one once per
corpus and settings.

It searches one query at a time and takes its real vectors only, ``q`` (query_len,
dim): ``vectors.unpad(Q, Q_mask)`` gives them for a batch. ``token_index.py`` holds
ColBERT's original search, one faiss lookup per query vector.

Left out: PLAID's C++ kernels and multi-threaded batching; here each stage is a few
numpy/torch calls, timed on its own.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace

import numpy as np
import torch

from . import cache, compress, indexfile, metrics, vectors
from .compress import Compressed
from .maxsim import maxsim_packed
from .vectors import TokenVectors, check_query, offsets_from_lengths, segment_ids, segment_rows
from .workspace import Workspace


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
    docs: torch.Tensor  # (k,) positions in ``PlaidIndex.doc_ids``
    n_candidates: int  # documents with a token in a probed cell
    n_scored: int  # documents scored exactly (after centroid interaction)
    stage_ms: dict[str, float]  # each stage's wall time
    ms: float  # the whole search's wall time


class PlaidIndex:
    """A ColBERTv2/PLAID-style index: IVF cells, compressed token vectors, four stages.

    1. **Candidates**: each query vector picks its ``nprobe`` most similar centroids;
       every document with a token in one of those cells is a candidate.
    2. **Pruned centroid interaction** {cite}`santhanam2022plaid`: an approximate MaxSim
       in which a document token stands in by its centroid, over the probed cells only
       (a query vector with no probed cell in the document adds 0); the best ``ndocs``
       go on.
    3. **Centroid interaction** over all of those documents' cells; the best
       ``ndocs / 4`` (at least ``k``) go on, as in PLAID.
    4. **Exact MaxSim** over those documents' tokens: residual codes are scored through
       a lookup table, without decoding them (``scoring="codes"``); any storage can
       instead be decoded and multiplied out (``scoring="decode"``). Both give the same
       scores, up to float rounding.

    Build with :meth:`build`; :meth:`add` and :meth:`delete` change the documents
    without retraining centroids or codebooks; :meth:`save` / :meth:`load` use the
    versioned, checksummed file format of ``indexfile.py``.
    """

    def __init__(
        self,
        config: IndexConfig,
        centroids: np.ndarray,
        store: Compressed,
        token_cells: np.ndarray | None,
        offsets: np.ndarray,
        doc_ids: list[str],
    ):
        """``token_cells`` (n_tokens,): each token's cell; None for residual codes, whose
        headers hold it."""
        if (token_cells is None) == (store.headers is None):
            raise ValueError("give token_cells exactly when the codes do not hold them (all but residual)")
        cells = store.centroid_ids if token_cells is None else token_cells
        if len(offsets) != len(doc_ids) + 1 or int(offsets[-1]) != store.n or len(cells) != store.n:
            raise ValueError(
                f"inconsistent index: {len(doc_ids)} documents, {len(offsets)} offsets, {store.n} codes, "
                f"{len(cells)} cell ids"
            )
        if len(set(doc_ids)) != len(doc_ids):
            raise ValueError("document ids must be unique")
        if len(cells) and int(cells.max()) >= len(centroids):
            raise ValueError(f"a token's cell id {int(cells.max())} is beyond the {len(centroids)} centroids")
        if offsets[0] != 0 or (np.diff(offsets) < 1).any():
            raise ValueError("offsets must start at 0 and give every document at least one token")
        self.config = config
        self.centroids = np.ascontiguousarray(centroids, dtype=np.float32)  # (nlist, dim)
        self.store = store  # one code per document token
        self._cells = token_cells  # (n_tokens,) each token's cell, when the codes do not hold it
        self.offsets = np.asarray(offsets, dtype=np.int64)  # (n_docs + 1,)
        self.doc_ids = list(doc_ids)
        self.workspace = Workspace()  # used by searches that bring none
        self._derive(cells)

    @property
    def token_cells(self) -> np.ndarray:
        """(n_tokens,) the cell (centroid) of each token."""
        return self.store.centroid_ids if self._cells is None else self._cells

    # -- building -------------------------------------------------------------

    @classmethod
    def build(
        cls,
        vectors: TokenVectors,
        doc_ids: Sequence[str],
        config: IndexConfig = IndexConfig(),
        centroids: np.ndarray | None = None,
        cells: np.ndarray | None = None,
    ) -> PlaidIndex:
        """Index a corpus: k-means centroids, each token's cell, compressed codes.

        ``centroids`` ((nlist, dim)) skips k-means, e.g. to compare compressions over
        the same cells; ``cells`` ((n_tokens,), each token's nearest centroid among them,
        as another index's ``token_cells``) skips assigning the tokens too.
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
        if cells is not None and (
            centroids is None
            or cells.shape != (len(x),)
            or not 0 <= cells.min() <= cells.max() < len(centroids)
        ):
            raise ValueError(f"cells must be {len(x)} indices into the given centroids, one per token vector")
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
        if cells is None:
            cells = compress.nearest_centroid(x, centroids)
        if config.compression == "residual":
            store = compress.compress(
                vectors.vectors, "residual", bits=config.bits, centroids=centroids, centroid_ids=cells
            )
            cells = None  # the codes hold each token's cell
        else:
            store = compress.compress(vectors.vectors, config.compression)
            cells = cells.astype(_cell_dtype(config.nlist))
        return cls(config, centroids, store, cells, vectors.offsets.numpy(), list(doc_ids))

    def _derive(self, cells: np.ndarray) -> None:
        """Lookup structures computed from the stored arrays (never saved): per cell its
        documents, per document its distinct cells."""
        n_docs, nlist = len(self.doc_ids), len(self.centroids)
        self.doc_of_token = segment_ids(self.offsets)  # (n_tokens,)
        by_cell = np.unique(cells.astype(np.int64) * n_docs + self.doc_of_token)  # (cell, doc), by cell
        self.ivf_docs = (by_cell % n_docs).astype(np.int32)  # per cell, the documents with a token in it
        self.ivf_offsets = offsets_from_lengths(np.bincount(by_cell // n_docs, minlength=nlist))
        by_doc = np.unique(self.doc_of_token * nlist + cells)  # (doc, cell), by document
        self.doc_cells = (by_doc % nlist).astype(np.int64)  # per document, its distinct cells
        self.doc_cell_offsets = offsets_from_lengths(np.bincount(by_doc // nlist, minlength=n_docs))
        self._centroids_t = torch.from_numpy(self.centroids).T.contiguous()  # (dim, nlist)
        if self.store.method == "residual":
            per_byte = self.store.byte_table.shape[1]  # dimensions a code byte holds
            self._byte_values = self.store.byte_table.view(-1, 256, per_byte)  # (n_bytes, 256, per_byte)
            self._byte_rows = torch.arange(self.store.codes.shape[1], dtype=torch.int32) * 256

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
        if self._cells is not None:
            cells = compress.nearest_centroid(vectors.vectors.float().numpy(), self.centroids)
            self._cells = np.concatenate([self._cells, cells.astype(self._cells.dtype)])
        self.store = self.store.concat(new)
        self.offsets = np.concatenate([self.offsets, self.offsets[-1] + vectors.offsets[1:].numpy()])
        self.doc_ids += list(doc_ids)
        self._derive(self.token_cells)

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
        if self._cells is not None:
            self._cells = self._cells[keep_tokens]
        self.offsets = offsets_from_lengths(lengths)
        self.doc_ids = [d for d, gone in zip(self.doc_ids, drop) if not gone]
        self._derive(self.token_cells)

    # -- searching -------------------------------------------------------------

    def search(
        self,
        q: torch.Tensor,
        k: int = 10,
        nprobe: int = 4,
        ndocs: int | None = 256,
        scoring: str | None = None,
        workspace: Workspace | None = None,
    ) -> Hits:
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
        scoring : str, optional
            ``"codes"`` (residual codes only, their default): sum lookup-table rows, no
            vector decoded. ``"decode"`` (the default otherwise): decode the vectors,
            then MaxSim.
        workspace : Workspace, optional
            Buffers to reuse; by default the index's own (one per searching thread).
        """
        t0 = time.perf_counter()
        check_query(q, self.dim)
        scoring = scoring or ("codes" if self.store.method == "residual" else "decode")
        if scoring not in ("codes", "decode") or (scoring == "codes" and self.store.method != "residual"):
            raise ValueError(f"scoring={scoring!r}: 'codes' scores residual codes only; 'decode' scores any")
        ws = self.workspace if workspace is None else workspace
        q = q.float()  # (n_q, dim)
        n_q, nlist = len(q), len(self.centroids)
        S = torch.mm(q, self._centroids_t, out=ws.get("centroid_scores", (n_q, nlist)))  # (n_q, nlist)
        cells = torch.topk(S, min(nprobe, nlist), dim=1).indices.unique().numpy()
        t1 = time.perf_counter()
        rows, lengths = segment_rows(self.ivf_offsets, cells)
        docs, pair_cells = self.ivf_docs[rows], np.repeat(cells, lengths)  # every (document, probed cell)
        candidates, slot = np.unique(docs, return_inverse=True)
        if ndocs is not None and len(candidates) > ndocs:  # probed cells only: cheap, sparse
            pair_scores = S.index_select(1, torch.from_numpy(pair_cells))  # (n_q, n_pairs)
            pruned = ws.get("pruned", (n_q, len(candidates))).zero_()  # a vector with no probed cell adds 0
            pruned.scatter_reduce_(1, torch.from_numpy(slot).expand(n_q, -1), pair_scores, "amax")
            kept = candidates[np.sort(torch.topk(pruned.sum(0), ndocs).indices.numpy())]
        else:
            kept = candidates
        t2 = time.perf_counter()
        n_exact = len(kept) if ndocs is None else min(len(kept), max(k, ndocs // 4))
        if n_exact < len(kept):  # each token stands in by its centroid: PLAID's full centroid interaction
            rows, lengths = segment_rows(self.doc_cell_offsets, kept)
            cell_scores = S.index_select(1, torch.from_numpy(self.doc_cells[rows])).numpy()  # (n_q, n_cells)
            approx = np.maximum.reduceat(cell_scores, offsets_from_lengths(lengths)[:-1], axis=1).sum(0)
            scored = kept[np.sort(np.argpartition(-approx, n_exact - 1)[:n_exact])]
        else:
            scored = kept
        t3 = time.perf_counter()
        rows, lengths = segment_rows(self.offsets, scored)
        starts = offsets_from_lengths(lengths)
        if scoring == "codes":
            table = self._score_table(q, S, ws)
            t4 = time.perf_counter()
            scores = self._maxsim_codes(table, rows, starts, ws)
        else:
            vectors = compress.decompress(self.store, rows)  # (n_tokens_scored, dim)
            t4 = time.perf_counter()
            scores = maxsim_packed(q, vectors, torch.from_numpy(starts), ws)  # (n_scored,)
        top = torch.topk(scores, min(k, len(scores)))
        t5 = time.perf_counter()
        stages = {
            "centroids": t1 - t0,
            "candidates": t2 - t1,
            "interaction": t3 - t2,
            "tables" if scoring == "codes" else "decompress": t4 - t3,
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

    def _score_table(self, q: torch.Tensor, S: torch.Tensor, ws: Workspace) -> torch.Tensor:
        """One query's lookup table, (n_bytes * 256 + nlist, n_q).

        Row ``p * 256 + b``: each query vector's dot product with what byte value ``b``
        at byte position ``p`` decodes to (its 8 / bits dimensions' bucket values). Row
        ``n_bytes * 256 + c``: each query vector's dot product with centroid ``c``. A
        token's unscaled similarity, ``q . (centroid + residual)``, is the sum of the
        rows its centroid and its code bytes name.
        """
        values = self._byte_values  # (n_bytes, 256, per_byte)
        n_bytes, _, per_byte = values.shape
        n_q = len(q)
        table = ws.get("score_table", (n_bytes * 256 + len(S.T), n_q))
        q = torch.nn.functional.pad(q, (0, n_bytes * per_byte - q.shape[1]))  # dims to whole bytes
        q_by_byte = q.reshape(n_q, n_bytes, per_byte).permute(1, 2, 0)  # (n_bytes, per_byte, n_q)
        torch.bmm(values, q_by_byte, out=table[: n_bytes * 256].view(n_bytes, 256, n_q))
        table[n_bytes * 256 :].copy_(S.T)
        return table

    def table_rows(
        self, rows: np.ndarray, workspace: Workspace | None = None
    ) -> tuple[torch.Tensor, np.ndarray]:
        """Residual codes: the rows of a query's lookup table (``_score_table``) that each
        token of ``rows`` sums, (n, n_bytes + 1) int32 (row ``p * 256 + byte`` for each
        code byte, then its centroid's row), and each token's stored scale (n,)."""
        ws = self.workspace if workspace is None else workspace
        codes = torch.from_numpy(self.store.codes).index_select(0, torch.from_numpy(rows))  # (n, n_bytes)
        cells, scales = self.store.read_headers(rows)
        n_bytes = len(self._byte_rows)
        picks = ws.get("picks", (len(rows), n_bytes + 1), torch.int32)
        picks[:, :n_bytes].copy_(codes).add_(self._byte_rows)
        picks[:, n_bytes] = torch.from_numpy(cells + n_bytes * 256)
        return picks, scales

    def _maxsim_codes(
        self, table: torch.Tensor, rows: np.ndarray, starts: np.ndarray, workspace: Workspace
    ) -> torch.Tensor:
        """MaxSim of the documents whose tokens are ``rows`` (document ``i`` is
        ``rows[starts[i]:starts[i+1]]``), scored from the codes through ``table``."""
        if len(rows) == 0:
            return torch.zeros(0)
        picks, scales = self.table_rows(rows, workspace)
        sim = torch.nn.functional.embedding_bag(picks, table, mode="sum")  # (n, n_q)
        sim.mul_(torch.from_numpy(scales)[:, None])  # each token's stored length correction
        best = np.maximum.reduceat(sim.numpy(), starts[:-1], axis=0)  # (n_docs, n_q)
        return torch.from_numpy(best.sum(axis=1, dtype=np.float32))

    def search_all(
        self, queries: Sequence[torch.Tensor], k: int = 100, **settings
    ) -> tuple[np.ndarray, np.ndarray, list[Hits]]:
        """Every query of ``queries`` (each (query_len_i, dim)) searched on its own.

        Returns scores and document positions, shape (n_queries, k), padded with -inf / -1
        where fewer than k were scored, and each query's ``Hits`` (stages, timings).
        """
        all_hits = [self.search(q, k=k, **settings) for q in queries]
        scores, docs = metrics.stack_topk([(h.scores, h.docs) for h in all_hits], k)
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
        cells = 0 if self._cells is None else self._cells.nbytes
        return (self.store.nbytes + cells) / self.n_tokens

    @property
    def nbytes(self) -> int:
        """Everything a search needs in memory: codes, cell ids, offsets, centroids,
        codebooks, the cell -> documents lists and the document -> cells lists."""
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
            + self.doc_cells.nbytes
            + self.doc_cell_offsets.nbytes
        )

    def save(self, path) -> None:
        """Write the index to one file (``indexfile.py``: versioned, checksummed, no pickle).

        Arrays: ``centroids``, ``codes``, ``offsets``, ``headers`` (residual) or
        ``token_cells`` (the others), the codebook the compression needs (``scale``;
        ``cutoffs``, ``bucket_values``, ``norm_cutoffs`` and ``norm_values``), and the
        document ids as UTF-8 bytes (``doc_id_bytes``) with their ``doc_id_offsets``;
        settings as JSON in the metadata. The lookup lists are derived on load, not stored.
        """
        ids = [d.encode("utf-8") for d in self.doc_ids]
        arrays = {
            "centroids": self.centroids,
            "codes": self.store.codes,
            "offsets": self.offsets,
            "doc_id_bytes": np.frombuffer(b"".join(ids), dtype=np.uint8),
            "doc_id_offsets": offsets_from_lengths([len(b) for b in ids]),
        }
        if self._cells is None:
            arrays["headers"] = self.store.headers
        else:
            arrays["token_cells"] = self._cells
        arrays.update(
            {name: getattr(self.store, name) for name in CODEBOOK if getattr(self.store, name) is not None}
        )
        codec = {"method": self.store.method, "dim": self.store.dim, "bits": self.store.bits}
        indexfile.save(path, arrays, {"config": json.dumps(asdict(self.config)), "codec": json.dumps(codec)})

    @classmethod
    def load(cls, path) -> PlaidIndex:
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
                headers=arrays["headers"] if residual else None,
                centroids=arrays["centroids"] if residual else None,
                **{name: arrays.get(name) for name in CODEBOOK},
            )
            raw, ends = arrays["doc_id_bytes"].tobytes(), arrays["doc_id_offsets"]
            doc_ids = [raw[a:b].decode("utf-8") for a, b in zip(ends[:-1], ends[1:])]
            cells = None if residual else arrays["token_cells"]
            return cls(config, arrays["centroids"], store, cells, arrays["offsets"], doc_ids)
        except (KeyError, TypeError, ValueError) as error:
            raise indexfile.IndexFileError(f"{path} holds an inconsistent index: {error}") from None


CODEBOOK = (  # the compression's arrays an index file stores
    "scale",
    "cutoffs",
    "bucket_values",
    "norm_cutoffs",
    "norm_values",
)


def cached_index(
    token_vectors: TokenVectors,
    doc_ids: Sequence[str],
    config: IndexConfig,
    corpus_key: str,
    centroids: np.ndarray | None = None,
    cells: np.ndarray | None = None,
) -> PlaidIndex:
    """Build an index once; later calls load its file from the cache folder
    (``cache.py``). ``corpus_key`` must identify the vectors (collection and model);
    the key adds the settings, the given centroids and cells (as in :meth:`PlaidIndex.build`)
    and the source of the index code."""
    key = cache.key_for(
        kind="plaid-index",
        corpus=corpus_key,
        config=str(config),
        n_tokens=len(token_vectors.vectors),
        code=cache.source_key(compress, indexfile, vectors, sys.modules[__name__]),
        centroids=cache.array_key(centroids),
        **({"cells": cache.array_key(cells)} if cells is not None else {}),
    )
    path = cache.cache_dir() / "indexes" / f"{key}.lateint"
    if path.is_file():
        return PlaidIndex.load(path)
    built = PlaidIndex.build(token_vectors, doc_ids, config, centroids=centroids, cells=cells)
    path.parent.mkdir(parents=True, exist_ok=True)
    built.save(path)
    return built


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


def _cell_dtype(nlist: int) -> type:
    return np.uint16 if nlist <= 65536 else np.int32
