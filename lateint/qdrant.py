"""The same token vectors served by Qdrant, an engine with native multi-vector MaxSim.

Qdrant stores a list of vectors per point and scores with ``MAX_SIM``, the sum over
query vectors of the best dot product: ColBERT's score. Two ways in, one pair of
functions (``upload``, ``search``) for both:

- an **Edge shard** (``qdrant-edge-py``, made by :func:`create_shard`): Qdrant's own Rust
  segment code, in this process, on local files: HNSW and quantization as a server
  runs them;
- a **client** (``qdrant-client``): ``QdrantClient(url=...)`` for a server or cluster, or
  ``QdrantClient(":memory:")``, a pure-Python stand-in for development.

Left out: sharding and replication (a cluster's job), sparse and hybrid queries.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from .vectors import TokenVectors, check_query

QUANTIZATIONS = (None, "int8", "binary")


def create_shard(path, dim: int, hnsw_m: int = 0, quantization: str | None = None):
    """A new Edge shard at ``path`` (a folder without segments) for multivectors of
    ``dim`` under MaxSim, dot product on normalized vectors. ``hnsw_m=0``: no graph,
    every point scored; ``quantization``: None, "int8" (scalar) or "binary"."""
    import qdrant_edge as edge

    if quantization not in QUANTIZATIONS:
        raise ValueError(f"quantization must be one of {QUANTIZATIONS}, not {quantization!r}")
    quantized = {
        None: None,
        "int8": edge.ScalarQuantizationConfig(type=edge.ScalarType.Int8, quantile=0.99, always_ram=True),
        "binary": edge.BinaryQuantizationConfig(always_ram=True),
    }[quantization]
    params = edge.EdgeVectorParams(
        size=dim,
        distance=edge.Distance.Dot,
        multivector_config=edge.MultiVectorConfig(comparator=edge.MultiVectorComparator.MaxSim),
        hnsw_config=edge.HnswIndexConfig(m=hnsw_m, ef_construct=100, full_scan_threshold=10),
        quantization_config=quantized,
    )
    # indexing_threshold (KB) 1: optimize() always builds the graph and quantized storage
    config = edge.EdgeConfig(vectors=params, optimizers=edge.EdgeOptimizersConfig(indexing_threshold=1))
    return edge.EdgeShard.create(str(path), config)


def _is_shard(target) -> bool:
    return type(target).__name__ == "EdgeShard"


def upload(
    target,
    name: str,
    vectors: TokenVectors,
    doc_ids: Sequence[str],
    batch_size: int = 256,
    point_ids: Sequence[int] | None = None,
) -> None:
    """One point per document: its token vectors under ``MAX_SIM`` with dot-product
    similarity, and its id in the payload; point ids are document positions
    (``point_ids``, default ``0 .. n_docs - 1``).

    ``target`` is an Edge shard (``name`` is unused: the shard is the collection; points
    are upserted, so an existing point id is replaced; its index and quantized storage
    are built before this returns) or a client (collection ``name`` is created,
    replacing one of that name)."""
    if len(doc_ids) != vectors.n_docs:
        raise ValueError(f"{len(doc_ids)} document ids for {vectors.n_docs} documents")
    ids = list(range(vectors.n_docs)) if point_ids is None else [int(i) for i in point_ids]
    if len(ids) != vectors.n_docs or len(set(ids)) != len(ids):
        raise ValueError(f"point_ids must be {vectors.n_docs} distinct integers")
    if _is_shard(target):
        from qdrant_edge import Point, UpdateOperation

        x = vectors.vectors.float().numpy()
        offsets = vectors.offsets.tolist()
        for start in range(0, vectors.n_docs, batch_size):
            points = [  # lists, not arrays: Point reads nested lists twice as fast
                Point(ids[i], x[offsets[i] : offsets[i + 1]].tolist(), {"doc_id": doc_ids[i]})
                for i in range(start, min(start + batch_size, vectors.n_docs))
            ]
            target.update(UpdateOperation.upsert_points(points))
        target.optimize()
        return
    _upload_client(target, name, vectors, doc_ids, batch_size, ids)


def _upload_client(
    client, name: str, vectors: TokenVectors, doc_ids: Sequence[str], batch_size: int, ids: list[int]
) -> None:
    from qdrant_client import models

    if client.collection_exists(name):
        client.delete_collection(name)
    client.create_collection(
        name,
        vectors_config=models.VectorParams(
            size=vectors.vectors.shape[1],
            # vectors are L2-normalized already; DOT keeps scores equal to lateint's
            distance=models.Distance.DOT,
            multivector_config=models.MultiVectorConfig(comparator=models.MultiVectorComparator.MAX_SIM),
        ),
    )
    x = vectors.vectors.float().numpy()
    offsets = vectors.offsets.tolist()
    client.upload_collection(
        name,
        vectors=[x[offsets[i] : offsets[i + 1]] for i in range(vectors.n_docs)],
        payload=[{"doc_id": d} for d in doc_ids],
        ids=ids,
        batch_size=batch_size,
    )


def search(
    target,
    name: str,
    q: torch.Tensor,
    k: int = 10,
    exact: bool = False,
    hnsw_ef: int | None = None,
    oversampling: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` for one query's vectors ``q`` (query_len, dim), every row scoring.
    Returns (scores, document positions), best first.

    On an Edge shard, ``exact`` scores every point with the original vectors (no graph,
    no quantization); otherwise the shard's HNSW graph (visiting ``hnsw_ef`` nodes) and
    quantized vectors find ``k * oversampling`` candidates, re-scored with the original vectors."""
    if _is_shard(target):
        import qdrant_edge as edge

        check_query(q, q.shape[-1])  # rows and zeros; the shard knows its width and checks it below
        params = edge.SearchParams(
            exact=exact,
            hnsw_ef=hnsw_ef,
            quantization=edge.QuantizationSearchParams(rescore=True, oversampling=oversampling),
        )
        request = edge.QueryRequest(limit=k, query=edge.Query.Nearest(q.float().numpy()), params=params)
        try:
            points = target.query(request)
        except Exception as error:  # the engine's own message names both widths
            if "dimension" in str(error).lower():
                raise ValueError(f"q has {q.shape[-1]} dimensions, the shard another: {error}") from error
            raise
    else:
        check_query(q, target.get_collection(name).config.params.vectors.size)
        points = target.query_points(name, query=q.float().numpy().tolist(), limit=k).points
    return np.array([p.score for p in points], dtype=np.float32), np.array(
        [p.id for p in points], dtype=np.int64
    )


def delete(target, name: str, positions: Sequence[int]) -> None:
    """Remove documents by position (their point ids)."""
    ids = [int(i) for i in positions]
    if _is_shard(target):
        from qdrant_edge import UpdateOperation

        target.update(UpdateOperation.delete_points(ids))
    else:
        from qdrant_client import models

        target.delete(name, points_selector=models.PointIdsList(points=ids))
