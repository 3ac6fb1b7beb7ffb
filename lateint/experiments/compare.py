"""Full-text search vs vector search vs late interaction, side by side (chapters 1 and 2).

Each method is run and measured by ``lateint.evaluate.run_method`` (cached, so chapters
that show the same comparison compute it once). This module puts methods next to each
other and finds the failure cases: queries one method gets right and another misses.

Left out: running a single method (``lateint.evaluate``).
"""

from __future__ import annotations

from collections.abc import Sequence

from ..data import Collection
from ..encoder import Encoder
from ..evaluate import METHODS, Result, run_method
from ..metrics import first_relevant_rank

LABELS = {
    "bm25": "BM25 (full text)",
    "dense": "dense (one vector)",
    "late": "late interaction (MaxSim)",
    "bm25s": "BM25, bm25s (sparse matrix)",
    "dense_hnsw": "dense, HNSW",
}


def compare(
    collection: Collection, encoder: Encoder | None, methods: Sequence[str] = METHODS, **kwargs
) -> dict[str, Result]:
    """Run several methods on one collection."""
    return {m: run_method(m, collection, encoder, **kwargs) for m in methods}


def failure_cases(results: dict[str, Result], qrels: dict[str, dict[str, int]]) -> list[dict]:
    """For every ordered pair of methods (winner, loser): the query where the winner
    ranks a relevant document first and the loser ranks its first relevant document
    lowest (or not at all in the top k). One example per pair, where one exists."""
    ranks = {m: first_relevant_rank(r.run, qrels) for m, r in results.items()}
    cases = []
    for winner in results:
        for loser in results:
            if winner == loser:
                continue
            best = None
            for q in qrels:
                if ranks[winner][q] != 1:
                    continue
                loser_rank = ranks[loser][q] or 10**9  # not retrieved at all: the worst case
                if loser_rank > 10 and (best is None or loser_rank > best[1]):
                    best = (q, loser_rank)
            if best is not None:
                q, loser_rank = best
                cases.append(
                    {
                        "winner": winner,
                        "loser": loser,
                        "query_id": q,
                        "winner_rank": 1,
                        "loser_rank": None if loser_rank == 10**9 else loser_rank,
                        "relevant_doc_id": max(
                            results[winner].run[q], key=results[winner].run[q].get
                        ),  # the winner's top hit
                    }
                )
    return cases
