"""Chapter 6: late interaction over page images (the ColPali idea at small scale).

Pages are drawn from the corpus (``lateint.pages``), encoded by the patch encoder
(``lateint.patch_encoder``), and ranked by the library's exact MaxSim against the text
encoder's query vectors. Around that: fewer vectors per page by pooling neighbouring
patches (the curve set against DeepSeek-OCR's compression), Qdrant's row/column mean
pooling as a first stage, per-query-token similarity maps, and vectors and bytes per
page.
"""

from __future__ import annotations

import sys

import numpy as np
import torch

from .. import cache, compress, maxsim, metrics, pages, patch_encoder
from .. import vectors as vectors_module
from ..data import Collection
from ..encoder import Encoder
from ..patch_encoder import PatchEncoder
from ..train_patches import page_texts
from ..vectors import TokenVectors, offsets_from_lengths


def page_vectors(model: PatchEncoder, encoder: Encoder, collection: Collection) -> TokenVectors:
    """Every document drawn as a page (the text the text encoder reads) and encoded by
    patches; cached on disk by weights, pages and code."""
    weights = {k: cache.array_key(v.numpy()) for k, v in model.state_dict().items()}
    key = cache.key_for(
        weights=weights,
        config=repr(model.config),
        corpus=collection.fingerprint(),
        tokenizer=encoder.backbone_id,
        doc_maxlen=encoder.config.doc_maxlen,
        code=cache.source_key(pages, patch_encoder, vectors_module, sys.modules[__name__]),
    )

    def compute() -> cache.Entry:
        texts, _ = page_texts(encoder, collection.doc_texts)
        drawn = pages.render_all(texts, model.config.page)
        v = patch_encoder.encode_pages(model, drawn)
        arrays = {"vectors": v.vectors.numpy(), "offsets": v.offsets.numpy(), "grid": v.token_ids.numpy()}
        return cache.Entry(arrays, {"cut_pages": int(sum(p.cut_chars > 0 for p in drawn))})

    entry = cache.load_or_compute("pages", key, compute)
    a = entry.arrays
    return TokenVectors(
        torch.from_numpy(np.asarray(a["vectors"])),
        torch.from_numpy(np.asarray(a["offsets"])).long(),
        torch.from_numpy(np.asarray(a["grid"])).long(),
    )


def rank(
    Q: torch.Tensor, Q_mask: torch.Tensor, vectors: TokenVectors, collection: Collection, k: int = 100
) -> dict:
    """Exhaustive MaxSim of every query against every page: ``{"run", **metrics}``."""
    D, D_mask = vectors.padded()
    scores, indices = maxsim.search(Q, D, D_mask, k, Q_mask)
    run = metrics.run_from_topk(collection.query_ids, collection.doc_ids, scores.numpy(), indices.numpy())
    return {"run": run, **metrics.evaluate(run, collection.qrels)}


def grid_pool(vectors: TokenVectors, columns: int, rows_per_cell: int, columns_per_cell: int) -> TokenVectors:
    """Merge neighbouring patches: the mean of each ``rows_per_cell`` x ``columns_per_cell``
    block of a page's grid (its inked patches), re-normalized; fewer, coarser vectors.

    ``token_ids`` holds grid indices (row * columns + column), as from ``encode_pages``;
    the result's grid has ``columns // columns_per_cell`` columns per row.

    >>> v = TokenVectors(torch.eye(3), torch.tensor([0, 3]), torch.tensor([0, 1, 2]))
    >>> pooled = grid_pool(v, columns=4, rows_per_cell=1, columns_per_cell=2)
    >>> pooled.lengths.tolist(), pooled.token_ids.tolist()
    ([2], [0, 1])
    """
    row, col = vectors.token_ids // columns, vectors.token_ids % columns
    new_columns = -(-columns // columns_per_cell)
    cell = (row // rows_per_cell) * new_columns + col // columns_per_cell  # (n,)
    page = vectors.doc_of_token
    key = page * (int(cell.max()) + 1 if len(cell) else 1) + cell
    unique, group = torch.unique(key, return_inverse=True)  # sorted: pages stay in order
    pooled = torch.zeros(len(unique), vectors.dim).index_add_(0, group, vectors.vectors.float())
    n_cells = int(cell.max()) + 1 if len(cell) else 1
    lengths = torch.bincount(unique // n_cells, minlength=vectors.n_docs)
    return TokenVectors(
        torch.nn.functional.normalize(pooled, dim=-1), offsets_from_lengths(lengths), unique % n_cells
    )


def line_pool(vectors: TokenVectors, columns: int, by: str = "row") -> TokenVectors:
    """Qdrant's first stage for ColPali {cite}`qdrant2024colpali`: one mean vector per row of
    patches (``by="row"``) or per column (``by="column"``), re-normalized; a page of 32
    rows keeps 32 vectors instead of up to 1,024."""
    if by == "row":
        return grid_pool(vectors, columns, 1, columns)
    if by != "column":
        raise ValueError(f"by must be 'row' or 'column', not {by!r}")
    rows = int(vectors.token_ids.max()) // columns + 1 if len(vectors.token_ids) else 1
    row, col = vectors.token_ids // columns, vectors.token_ids % columns
    transposed = TokenVectors(vectors.vectors, vectors.offsets, col * rows + row)  # columns become rows
    return grid_pool(transposed, rows, 1, rows)


def two_stage(
    Q: torch.Tensor,
    Q_mask: torch.Tensor,
    first: TokenVectors,
    full: TokenVectors,
    collection: Collection,
    candidates: int = 100,
    k: int = 100,
) -> dict:
    """Rank by MaxSim over ``first`` (e.g. row/column means), re-rank the top
    ``candidates`` of each query by exact MaxSim over ``full``."""
    D1, D1_mask = first.padded()
    _, cand = maxsim.search(Q, D1, D1_mask, candidates, Q_mask)  # (n_q, candidates)
    scores = torch.full((len(Q), min(k, candidates)), float("-inf"))
    indices = torch.zeros(len(Q), min(k, candidates), dtype=torch.long)
    for i in range(len(Q)):
        docs = cand[i]
        q = Q[i][Q_mask[i]]
        s = maxsim.maxsim_packed(q, *_packed(full, docs))
        top = torch.topk(s, k=min(k, len(docs)))
        scores[i, : len(top.values)], indices[i, : len(top.values)] = top.values, docs[top.indices]
    run = metrics.run_from_topk(collection.query_ids, collection.doc_ids, scores.numpy(), indices.numpy())
    return {"run": run, **metrics.evaluate(run, collection.qrels)}


def _packed(vectors: TokenVectors, docs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    sub = vectors.select(docs.tolist())
    return sub.vectors, sub.offsets


def similarity_map(q: torch.Tensor, page: TokenVectors, rows: int, columns: int) -> np.ndarray:
    """Each query token's cosine with each patch of one page, on the page's grid.

    Parameters
    ----------
    q : (query_len, dim) the query's real token vectors.
    page : the page's patch vectors (one document), ``token_ids`` = grid indices.

    Returns
    -------
    np.ndarray
        (query_len, rows, columns), NaN where a patch is blank (it has no vector).
    """
    out = np.full((len(q), rows * columns), np.nan, dtype=np.float32)
    out[:, page.token_ids.numpy()] = (q.float() @ page.vectors.float().T).numpy()
    return out.reshape(len(q), rows, columns)


def patch_counts(drawn: list[pages.Page], config: pages.PageConfig, sizes=(8, 16, 32)) -> dict[int, float]:
    """Mean inked patches per page if the same pages were cut at other patch sizes."""
    out = {}
    for size in sizes:
        counts = []
        for page in drawn:
            h = -(-page.image.shape[0] // size) * size
            image = np.zeros((h, config.width), dtype=np.uint8)
            image[: page.image.shape[0]] = page.image
            cells = image.reshape(h // size, size, config.width // size, size).max(axis=(1, 3))
            counts.append(int((cells > 0).sum()))
        out[size] = float(np.mean(counts))
    return out


def bytes_per_vector(sample: torch.Tensor) -> dict[str, float]:
    """Bytes of one stored vector at each of chapter 4's codes, measured by compressing
    ``sample`` (n, dim) unit rows (residual codes: 16 centroids, a 2-byte id each)."""
    out = {method: compress.compress(sample, method).bytes_per_vector for method in ("fp32", "fp16", "int8")}
    for bits in (4, 2, 1):
        out[f"residual {bits}-bit"] = compress.compress(sample, "residual", k=16, bits=bits).bytes_per_vector
    out["binary"] = compress.compress(sample, "binary").bytes_per_vector
    return out
