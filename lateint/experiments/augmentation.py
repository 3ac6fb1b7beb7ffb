"""Query augmentation ("thinking tokens"): what appended [MASK] tokens do to MaxSim.

ColBERT pads every query with [MASK] tokens that the encoder attends to; each pad
yields one more query vector, one more lookup, one more term of the MaxSim sum. This
module measures that: a sweep over the number of [MASK] tokens (with and without
attention to them), and what the [MASK] vectors look like (which query tokens they
resemble, which document tokens they match, how much of the score they carry).

The sweep re-ranks a fixed candidate pool per query (BM25's top ``depth`` together with
MaxSim's top ``depth`` without masks) so that one point costs seconds, not minutes; it
measures how the masks change the scores, not which documents a first stage finds.

Left out: training with a different number of masks (``lateint.train`` has the switch).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
import torch

from .. import metrics, timing
from ..baselines import FastBM25
from ..data import Collection
from ..encoder import Encoder
from ..evaluate import run_method
from ..maxsim import maxsim
from ..vectors import TokenVectors


def with_masks(encoder: Encoder, n_masks: int, attend: bool = True) -> Encoder:
    """The same model with exactly ``n_masks`` [MASK] tokens appended to every query."""
    if n_masks == 0:
        return encoder.with_config(query_augmentation=False, query_mask_tokens=None)
    return encoder.with_config(query_augmentation=True, query_mask_tokens=n_masks, attend_to_mask=attend)


def candidate_pool(encoder: Encoder, collection: Collection, depth: int = 100) -> list[list[int]]:
    """Per query, the union of BM25's and mask-free MaxSim's top ``depth`` documents
    (positions). The MaxSim ranking is ``evaluate.run_method``'s: cached, and the
    comparison chapter's when the encoder has no masks already."""
    _, bm25_top = FastBM25(collection.doc_texts).search(collection.query_texts, depth)
    late = run_method("late", collection, with_masks(encoder, 0), k=depth).run
    position = {doc_id: i for i, doc_id in enumerate(collection.doc_ids)}
    return [
        sorted(set(top.tolist()) | {position[d] for d in late[query_id]})
        for query_id, top in zip(collection.query_ids, bm25_top)
    ]


def padded_pools(vectors: TokenVectors, pool: list[list[int]]) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Each query's pool as ``(D, D_mask)``, padded once and reused at every sweep point."""
    return [vectors.select(docs).padded() for docs in pool]


def rerank(
    encoder: Encoder,
    collection: Collection,
    pool: list[list[int]],
    pooled: list[tuple[torch.Tensor, torch.Tensor]],
) -> dict[str, dict[str, float]]:
    """A run: every query's pool (``pooled`` from :func:`padded_pools`) scored by exact MaxSim."""
    Q, Q_mask = encoder.encode_queries(collection.query_texts)  # (n_queries, query_len, dim)
    run = {}
    for i, (query_id, docs, (D, D_mask)) in enumerate(zip(collection.query_ids, pool, pooled)):
        scores = maxsim(Q[i : i + 1], D, D_mask, Q_mask[i : i + 1])[0]
        run[query_id] = {collection.doc_ids[d]: float(s) for d, s in zip(docs, scores)}
    return run


def sweep(
    encoder: Encoder,
    collection: Collection,
    vectors: TokenVectors,
    pool: list[list[int]],
    counts=(0, 1, 2, 4, 8, 16, 32, 64),
    unattended=(1, 4, 16, 64),
    timing_queries: int = 3,
) -> list[dict]:
    """nDCG@10 (re-ranking the pool) and exhaustive query time for each number of masks:
    ``counts`` attended by the encoder (ColBERT's way), ``unattended`` not.

    Query time is the median over ``timing_queries`` single queries, encoded and scored
    against every document: what each extra vector costs without an index.
    """
    D, D_mask = vectors.padded()
    pooled = padded_pools(vectors, pool)
    rows = []
    for n, attend in [(n, True) for n in counts] + [(n, False) for n in unattended if n]:
        model = with_masks(encoder, n, attend)
        run = rerank(model, collection, pool, pooled)

        def one_query(text: str, model: Encoder = model) -> torch.Tensor:
            q, q_mask = model.encode_queries([text])
            return maxsim(q, D, D_mask, q_mask)

        query_ms = timing.median_ms(one_query, collection.query_texts[:timing_queries], warmup=1)
        per_query = metrics.per_query(run, collection.qrels)
        rows.append(
            {
                "n_masks": n,
                "attend": attend if n else None,
                **metrics.means(per_query),
                "query_ms": query_ms,
                "per_query_nDCG@10": per_query["nDCG@10"],
            }
        )
    return rows


def effect_by_length(
    encoder: Encoder, collection: Collection, points: list[dict], n_masks: int = 32, buckets: int = 3
) -> list[dict]:
    """The mask effect per query length: judged queries split into ``buckets`` equal parts
    by word-piece count (terciles by default, shortest first), and in each the mean
    nDCG@10 without masks and with ``n_masks`` attended masks (from :func:`sweep`'s rows).

    Tests the idea that masks work as term re-weighting and matter most for short queries.
    """
    found = {p["n_masks"]: p["per_query_nDCG@10"] for p in points if p["attend"] is not False}
    if 0 not in found or n_masks not in found:
        raise ValueError(f"the sweep needs points at 0 and {n_masks} attended masks; it has {sorted(found)}")
    without, masked = found[0], found[n_masks]
    pieces = {
        q: len(encoder.tokenizer.tokenize(t))
        for q, t in zip(collection.query_ids, collection.query_texts)
        if q in collection.qrels
    }
    order = sorted(pieces, key=lambda q: (pieces[q], q))
    rows = []
    for part in np.array_split(np.array(order, dtype=object), buckets):
        lengths = [pieces[q] for q in part]
        base, after = np.mean([without[q] for q in part]), np.mean([masked[q] for q in part])
        rows.append(
            {
                "word_pieces": (min(lengths), max(lengths)),
                "queries": len(part),
                "without": float(base),  # mean nDCG@10
                "with": float(after),
                "change": float(after - base),
            }
        )
    return rows


@dataclass
class MaskReport:
    nearest_query_token: Counter  # which real query token each [MASK] vector is closest to
    matched_doc_token: Counter  # which document token each [MASK] vector matched (in the top document)
    score_share: float  # mean fraction of the MaxSim score carried by [MASK] rows
    n_masks: int


def mask_report(
    encoder: Encoder, collection: Collection, vectors: TokenVectors, pool: list[list[int]], n_masks: int = 8
) -> MaskReport:
    """What the [MASK] vectors do, over every query of the collection."""
    model = with_masks(encoder, n_masks, attend=True)
    tok = model.tokenize_queries(collection.query_texts)
    Q, Q_mask = model.encode_queries(collection.query_texts)
    is_mask = tok["input_ids"] == model.tokenizer.mask_token_id  # (n_queries, query_len)
    nearest, matched, shares = Counter(), Counter(), []
    for i, docs in enumerate(pool):
        real = Q_mask[i] & ~is_mask[i]
        masks = is_mask[i]
        q_tokens = model.tokens(tok["input_ids"][i])
        real_idx = torch.nonzero(real).flatten()
        closest = (Q[i][masks] @ Q[i][real].T).argmax(dim=1)  # (n_masks,)
        nearest.update(q_tokens[int(real_idx[j])] for j in closest)
        D, D_mask = vectors.select(docs).padded()
        scores = maxsim(Q[i : i + 1], D, D_mask, Q_mask[i : i + 1])[0]
        top = int(scores.argmax())
        doc = vectors.doc(docs[top])
        sim = Q[i] @ doc.T  # (query_len, doc_len)
        best, where = sim.max(dim=1)
        ids = vectors.token_ids[vectors.offsets[docs[top]] : vectors.offsets[docs[top] + 1]]
        matched.update(model.tokenizer.convert_ids_to_tokens(ids[where[masks]].tolist()))
        shares.append(float(best[masks].sum() / best[Q_mask[i]].sum()))
    return MaskReport(nearest, matched, float(np.mean(shares)), n_masks)
