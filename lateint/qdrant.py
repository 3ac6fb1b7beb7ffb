"""The same token vectors served by Qdrant, an engine with native multi-vector MaxSim.

Qdrant stores a list of vectors per point and scores with ``MAX_SIM``, the sum over
query vectors of the best dot product: ColBERT's score. ``QdrantClient(":memory:")``
(local mode) runs in this process with no server, which is how the book runs it; the
same calls go to a Qdrant server or cluster when the client is given a URL.

Left out: Qdrant's own quantization and HNSW settings for multivectors (local mode
scores every point exactly).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from .vectors import TokenVectors, check_query


def upload(client, name: str, vectors: TokenVectors, doc_ids: Sequence[str], batch_size: int = 256) -> None:
    """Create collection ``name`` (replacing one of that name) with one point per
    document: its token vectors under ``MAX_SIM`` with dot-product similarity, and its
    id in the payload. Point ids are document positions."""
    from qdrant_client import models

    if len(doc_ids) != vectors.n_docs:
        raise ValueError(f"{len(doc_ids)} document ids for {vectors.n_docs} documents")
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
        ids=list(range(vectors.n_docs)),
        batch_size=batch_size,
    )


def search(client, name: str, q: torch.Tensor, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` for one query's vectors ``q`` (query_len, dim), every row scoring.
    Returns (scores, document positions), best first."""
    check_query(q, q.shape[-1])
    points = client.query_points(name, query=q.float().numpy().tolist(), limit=k).points
    return np.array([p.score for p in points], dtype=np.float32), np.array(
        [p.id for p in points], dtype=np.int64
    )
