"""Token pooling: fewer vectors per document by merging similar ones.

Answer.AI's recipe {cite}`clavie2024pooling`: within each document, cluster the token
vectors hierarchically (Ward linkage), cut the tree into ``length / factor`` clusters,
and store each cluster's mean, re-normalized. Queries are untouched; MaxSim sees fewer,
blurrier document vectors. ``factor=2`` halves the index before any compression.

Left out: pooling at query time, and protecting special tokens from merging.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from scipy.cluster.hierarchy import fcluster, linkage
from tqdm.auto import tqdm

from .vectors import TokenVectors, offsets_from_lengths


def pool_tokens(vectors: TokenVectors, factor: float = 2, progress: bool | None = None) -> TokenVectors:
    """Pool each document's token vectors down to ``ceil(length / factor)`` vectors.

    Parameters
    ----------
    vectors : TokenVectors
        A corpus's L2-normalized token vectors.
    factor : float
        At least 1; 1 returns the vectors unchanged.
    progress : bool, optional
        A progress bar over documents (default: for more than 1000 documents).

    Returns
    -------
    TokenVectors
        Pooled vectors, L2-normalized, in the same document order. Each pooled vector
        keeps the token id of its cluster's member closest to the mean (for display).

    >>> v = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
    >>> v = torch.nn.functional.normalize(v, dim=1)
    >>> pooled = pool_tokens(TokenVectors(v, torch.tensor([0, 4]), torch.arange(4)))
    >>> pooled.lengths.tolist(), [round(float(x), 2) for x in pooled.vectors[:, 0]]
    ([2], [1.0, 0.06])
    """
    return pool_tokens_at(vectors, [factor], progress)[0]


def pool_tokens_at(
    vectors: TokenVectors, factors: Sequence[float], progress: bool | None = None
) -> list[TokenVectors]:
    """:func:`pool_tokens` for several factors: each document's tree is built once and
    cut once per factor (the tree is most of the time)."""
    if any(f < 1 for f in factors):
        raise ValueError(f"factors must be >= 1; got {list(factors)}")
    cut = sorted({f for f in factors if f > 1})  # factor 1 is the vectors themselves
    if not cut:
        return [vectors for _ in factors]
    x = vectors.vectors.float().numpy()  # (n_tokens, dim)
    offsets = vectors.offsets.tolist()
    show = vectors.n_docs > 1000 if progress is None else progress
    pooled = [([], [], []) for _ in cut]  # per factor: means, token ids, lengths
    desc = f"pooling tokens (factor {', '.join(f'{f:g}' for f in cut)})"
    for i in tqdm(range(vectors.n_docs), desc=desc, unit="doc", disable=not show):
        doc = x[offsets[i] : offsets[i + 1]]  # (length, dim)
        ids = vectors.token_ids[offsets[i] : offsets[i + 1]]
        tree = linkage(doc, method="ward") if len(doc) > 1 else None
        for factor, (means, token_ids, lengths) in zip(cut, pooled):
            n_clusters = int(np.ceil(len(doc) / factor))
            if tree is None or n_clusters >= len(doc):
                labels = np.arange(len(doc))
            else:
                labels = fcluster(tree, t=n_clusters, criterion="maxclust")
                labels = np.unique(labels, return_inverse=True)[1]  # (length,) 0..n-1, no gaps
            mean, closest = _cluster_means(doc, labels)
            means.append(mean)
            token_ids.append(ids[torch.from_numpy(closest)])
            lengths.append(len(mean))
    done = {
        f: TokenVectors(
            torch.from_numpy(np.concatenate(means)),
            offsets_from_lengths(torch.tensor(lengths)),
            torch.cat(ids),
        )
        for f, (means, ids, lengths) in zip(cut, pooled)
    }
    return [done[f] if f > 1 else vectors for f in factors]


def _cluster_means(doc: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each cluster's normalized mean, and the position of its member closest to it."""
    means = np.zeros((labels.max() + 1, doc.shape[1]), dtype=np.float32)
    np.add.at(means, labels, doc)
    means /= np.maximum(np.linalg.norm(means, axis=1, keepdims=True), 1e-12)
    closest = np.full(len(means), -1)
    similarity = np.einsum("ld,ld->l", doc, means[labels])  # (length,) each token's similarity to its mean
    for j in np.argsort(similarity):  # ascending: the closest member is written last
        closest[labels[j]] = j
    return means, closest
