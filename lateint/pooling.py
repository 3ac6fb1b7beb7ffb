"""Token pooling: fewer vectors per document by merging similar ones.

Answer.AI's recipe {cite}`clavie2024pooling`: within each document, cluster the token
vectors hierarchically (Ward linkage), cut the tree into ``length / factor`` clusters,
and store each cluster's mean, re-normalized. Queries are untouched; MaxSim sees fewer,
blurrier document vectors. ``factor=2`` halves the index before any compression.

Left out: pooling at query time, and protecting special tokens from merging.
"""

from __future__ import annotations

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
    if factor < 1:
        raise ValueError(f"factor must be >= 1; got {factor}")
    if factor == 1:
        return vectors
    x = vectors.vectors.float().numpy()  # (n_tokens, dim)
    offsets = vectors.offsets.tolist()
    show = vectors.n_docs > 1000 if progress is None else progress
    pooled, token_ids, lengths = [], [], []
    for i in tqdm(
        range(vectors.n_docs), desc=f"pooling tokens (factor {factor})", unit="doc", disable=not show
    ):
        doc = x[offsets[i] : offsets[i + 1]]  # (length, dim)
        n_clusters = int(np.ceil(len(doc) / factor))
        if len(doc) <= 1 or n_clusters >= len(doc):
            labels = np.arange(len(doc))
        else:
            labels = fcluster(linkage(doc, method="ward"), t=n_clusters, criterion="maxclust")
            labels = np.unique(labels, return_inverse=True)[1]  # (length,) 0..n-1, no gaps
        means = np.zeros((labels.max() + 1, doc.shape[1]), dtype=np.float32)
        np.add.at(means, labels, doc)
        means /= np.maximum(np.linalg.norm(means, axis=1, keepdims=True), 1e-12)
        closest = np.full(len(means), -1)
        similarity = np.einsum(
            "ld,ld->l", doc, means[labels]
        )  # (length,) each token's similarity to its cluster mean
        for j in np.argsort(similarity):  # ascending: the closest member is written last
            closest[labels[j]] = j
        pooled.append(means)
        token_ids.append(vectors.token_ids[offsets[i] : offsets[i + 1]][torch.from_numpy(closest)])
        lengths.append(len(means))
    return TokenVectors(
        torch.from_numpy(np.concatenate(pooled)),
        offsets_from_lengths(torch.tensor(lengths)),
        torch.cat(token_ids),
    )
