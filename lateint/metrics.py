"""Retrieval quality: nDCG@10, Recall@100 and MRR@10, computed by ir-measures.

ir-measures runs trec_eval's own code (through pytrec_eval), so these are the numbers
the BEIR and ColBERT papers report. Nothing here re-implements a metric: this module
turns rankings into the run format and averages over *every judged query*, counting a
query with no results as 0 (trec_eval alone would silently skip it).
"""

from __future__ import annotations

from collections.abc import Sequence

import ir_measures
import numpy as np

MEASURES = {"nDCG@10": ir_measures.nDCG @ 10, "R@100": ir_measures.R @ 100, "MRR@10": ir_measures.RR @ 10}


def run_from_topk(
    query_ids: Sequence[str], doc_ids: Sequence[str], scores, indices
) -> dict[str, dict[str, float]]:
    """A run ``{query_id: {doc_id: score}}`` from top-k arrays of shape (n_queries, k).

    >>> run_from_topk(["q"], ["a", "b", "c"], [[0.9, 0.5]], [[2, 0]])
    {'q': {'c': 0.9, 'a': 0.5}}
    """
    scores, indices = np.asarray(scores, dtype=np.float64), np.asarray(indices)
    return {
        q: {doc_ids[j]: float(s) for s, j in zip(scores[i], indices[i]) if j >= 0 and np.isfinite(s)}
        for i, q in enumerate(query_ids)
    }


def per_query(
    run: dict[str, dict[str, float]], qrels: dict[str, dict[str, int]]
) -> dict[str, dict[str, float]]:
    """Each measure per judged query: ``{measure_name: {query_id: value}}``; 0 where the run has nothing."""
    values = {name: dict.fromkeys(qrels, 0.0) for name in MEASURES}
    by_measure = {m: name for name, m in MEASURES.items()}
    judged_run = {q: docs for q, docs in run.items() if q in qrels and docs}
    for metric in ir_measures.iter_calc(list(MEASURES.values()), qrels, judged_run):
        values[by_measure[metric.measure]][metric.query_id] = float(metric.value)
    return values


def per_query_topk(
    query_ids: Sequence[str], doc_ids: Sequence[str], scores, indices, qrels: dict[str, dict[str, int]]
) -> dict[str, dict[str, float]]:
    """:func:`per_query` of top-k arrays (n_queries, k): the one way a ranking becomes metrics.

    >>> per_query_topk(["q"], ["a", "b"], [[0.9, 0.5]], [[1, 0]], {"q": {"b": 1}})["MRR@10"]
    {'q': 1.0}
    """
    return per_query(run_from_topk(query_ids, doc_ids, scores, indices), qrels)


def stack_topk(found: Sequence[tuple], k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-query results ``[(scores, doc indices), ...]``, each at most ``k`` long, as
    arrays (n_queries, k) padded with -inf and -1 (what :func:`run_from_topk` skips).

    >>> scores, docs = stack_topk([([0.9, 0.5], [3, 1]), ([0.7], [2])], k=2)
    >>> docs.tolist()
    [[3, 1], [2, -1]]
    """
    scores = np.full((len(found), k), -np.inf, dtype=np.float32)
    docs = np.full((len(found), k), -1, dtype=np.int64)
    for i, (s, d) in enumerate(found):
        s, d = np.asarray(s)[:k], np.asarray(d)[:k]
        scores[i, : len(d)], docs[i, : len(d)] = s, d
    return scores, docs


def evaluate(run: dict[str, dict[str, float]], qrels: dict[str, dict[str, int]]) -> dict[str, float]:
    """Mean nDCG@10, R@100 and MRR@10 over all judged queries.

    A toy check by hand: one query, relevant docs ``a`` (grade 1) and ``b``; the run
    ranks ``x, a``. MRR@10 = 1/2; Recall@100 = 1/2; nDCG@10 = (1/log2(3)) / (1 + 1/log2(3)).

    >>> m = evaluate({"q": {"x": 2.0, "a": 1.0}}, {"q": {"a": 1, "b": 1}})
    >>> round(m["MRR@10"], 4), round(m["R@100"], 4), round(m["nDCG@10"], 4)
    (0.5, 0.5, 0.3869)
    """
    if not qrels:
        raise ValueError("no judged queries to evaluate")
    return means(per_query(run, qrels))


def means(values: dict[str, dict[str, float]]) -> dict[str, float]:
    """Each measure's mean over queries, from :func:`per_query`'s values.

    >>> means({"nDCG@10": {"q": 1.0, "p": 0.5}})
    {'nDCG@10': 0.75}
    """
    return {name: float(np.mean(list(by_query.values()))) for name, by_query in values.items()}


def first_relevant_rank(
    run: dict[str, dict[str, float]], qrels: dict[str, dict[str, int]]
) -> dict[str, int | None]:
    """Rank (1-based) of the first relevant document per judged query; None if none was retrieved.

    It is 1 / reciprocal rank as trec_eval computes it (its order, its tie-breaking), so
    it agrees with MRR@10.

    >>> first_relevant_rank({"q": {"x": 3.0, "a": 2.0}, "p": {"y": 1.0}}, {"q": {"a": 1}, "p": {"b": 1}})
    {'q': 2, 'p': None}
    """
    ranks: dict[str, int | None] = dict.fromkeys(qrels)
    judged_run = {q: docs for q, docs in run.items() if q in qrels and docs}
    for metric in ir_measures.iter_calc([ir_measures.RR], qrels, judged_run):
        if metric.value > 0:
            ranks[metric.query_id] = round(1 / metric.value)
    return ranks
