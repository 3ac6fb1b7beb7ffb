"""Full-text search vs vector search vs late interaction, side by side (chapters 1 and 2).

Each method is run and measured by ``lateint.evaluate.run_method`` (cached, so chapters
that show the same comparison compute it once). This module puts methods next to each
other and finds the failure cases: queries one method gets right and another misses.

``three_ways`` gathers what the chapter's comparison graphic draws for one real query
and one document: BM25's term weights, the pooled vectors and their cosine, and
MaxSim's token matrix.

Left out: running a single method (``lateint.evaluate``).
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from IPython.display import Markdown, display

from ..baselines import BM25, bm25_terms, pooling_encoder
from ..data import Collection
from ..encoder import Encoder
from ..evaluate import METHODS, Result, run_method
from ..explain import Alignment, align
from ..metrics import first_relevant_rank
from . import published, report, stats
from .stats import Difference

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


@dataclass
class ThreeWays:
    """One query and one document, scored the three ways (what ``plots.three_ways`` draws)."""

    query_id: str
    query: str
    doc_id: str
    doc: str
    n_docs: int
    terms: list[tuple[str, int, float]]  # BM25: (term, documents holding it, weight in this document)
    pooled_tokens: list[str]  # the query's word pieces, averaged into one vector
    query_token_vectors: np.ndarray  # (n_query_tokens, hidden) normalized backbone vectors
    doc_token_vectors: np.ndarray  # (n_doc_tokens, hidden)
    query_vector: np.ndarray  # (hidden,) the pooled, normalized query vector
    doc_vector: np.ndarray  # (hidden,)
    alignment: Alignment  # late interaction: the token matrix and each row's best match

    @property
    def bm25_score(self) -> float:
        return float(sum(w for _, _, w in self.terms))

    @property
    def cosine(self) -> float:
        return float(self.query_vector @ self.doc_vector)


def three_ways(collection: Collection, encoder: Encoder, bm25: BM25, query_id: str, doc_id: str) -> ThreeWays:
    """Score one query against one document by BM25, by one pooled vector (the
    backbone's, as dense search does) and by MaxSim with ``encoder``."""
    query = collection.query_texts[collection.query_ids.index(query_id)]
    doc_index = collection.doc_ids.index(doc_id)
    doc = collection.doc_texts[doc_index]
    plain = pooling_encoder(encoder)
    tokenized = plain.tokenize_queries([query, doc])
    with torch.no_grad():
        hidden = plain.backbone_states(
            tokenized["input_ids"], tokenized["attention_mask"]
        )  # (2, len, hidden)
    rows = []
    for i in range(2):
        states = hidden[i][tokenized["attention_mask"][i].bool()]  # (n_tokens, hidden)
        rows.append(states.numpy())
    pooled = [torch.nn.functional.normalize(torch.from_numpy(r).mean(0), dim=0).numpy() for r in rows]
    unit = [r / np.linalg.norm(r, axis=1, keepdims=True) for r in rows]
    n_query = int(tokenized["attention_mask"][0].sum())
    return ThreeWays(
        query_id=query_id,
        query=query,
        doc_id=doc_id,
        doc=doc,
        n_docs=len(collection.doc_ids),
        terms=bm25.term_weights(query, doc_index),
        pooled_tokens=plain.tokens(tokenized["input_ids"][0][:n_query]),
        query_token_vectors=unit[0],
        doc_token_vectors=unit[1],
        query_vector=pooled[0],
        doc_vector=pooled[1],
        alignment=align(encoder, query, doc),
    )


def example_query(
    results: dict[str, Result], collection: Collection, encoder: Encoder, max_tokens: int = 16
) -> tuple[str, str]:
    """The query the comparison graphic draws, and its document: the first judged query
    short enough to draw (at most ``max_tokens`` query vectors) whose relevant document
    late interaction ranks first and BM25 does not, with that document. Without such a
    query, the first judged query that late interaction gets right; then the first one.
    """
    late = first_relevant_rank(results["late"].run, collection.qrels)
    bm25 = first_relevant_rank(results["bm25"].run, collection.qrels)
    judged = [(q, t) for q, t in zip(collection.query_ids, collection.query_texts) if q in collection.qrels]
    short = {q for q, t in judged if int(encoder.tokenize_queries([t])["Q_mask"][0].sum()) <= max_tokens}
    for wanted in (lambda q: late[q] == 1 and bm25[q] != 1, lambda q: late[q] == 1, lambda q: True):
        for q, _ in judged:
            if q in short and wanted(q):
                relevant = [d for d in collection.qrels[q] if d in collection.doc_ids]
                run = results["late"].run.get(q, {})
                return q, max(relevant, key=lambda d: run.get(d, float("-inf")))
    q = judged[0][0]
    return q, next(iter(collection.qrels[q]))


# -- what chapter 1 shows ---------------------------------------------------------

THUMBNAIL = Path("_generated") / "three_ways.png"  # relative to the chapter's folder, book/
BEST = {"nDCG@10": "max", "R@100": "max", "MRR@10": "max", "index (MiB)": "min", "ms / query": "min"}


def with_zeroshot(results: dict[str, Result], zeroshot: Result) -> dict[str, Result]:
    """The three methods and zero-shot MaxSim as a fourth row (key ``"zeroshot"``)."""
    return {**results, "zeroshot": zeroshot}


def differences(
    results: dict[str, Result], metric: str = "nDCG@10", against: str = "late"
) -> dict[str, Difference]:
    """``against`` minus every other method, per query, with its 95% paired-bootstrap
    interval (``stats.paired_bootstrap``): ``{method: Difference}``."""
    mine = results[against].per_query[metric]
    return {m: stats.compare(mine, r.per_query[metric]) for m, r in results.items() if m != against}


def show_table(collection: Collection, results: dict[str, Result], diffs: dict[str, Difference]) -> None:
    """Chapter 1's table for one collection, and its values glued as ``<collection>_<method>_<measure>``."""
    label = {**LABELS, "zeroshot": "late interaction, zero-shot"}
    rows = []
    for m, r in results.items():
        d = diffs.get(m)
        rows.append(
            [
                label[m],
                r.model or "-",
                f"{r.metrics['nDCG@10']:.3f}",
                f"{d.low:+.3f} to {d.high:+.3f}" if d else "",
                f"{r.metrics['R@100']:.3f}",
                f"{r.metrics['MRR@10']:.3f}",
                f"{r.index_bytes / 2**20:.1f}",
                f"{r.query_ms:.1f}" if np.isfinite(r.query_ms) else "-",
            ]
        )
    header = [
        "method",
        "model",
        "nDCG@10",
        "late minus this (95% interval)",
        "R@100",
        "MRR@10",
        "index (MiB)",
        "ms / query",
    ]
    display(
        report.table(
            header, rows, title=f"**{collection.name}**, {results['bm25'].n_queries} queries", best=BEST
        )
    )
    values = {}
    for m, r in results.items():
        values |= {
            f"{collection.name}_{m}_ndcg": r.metrics["nDCG@10"],
            f"{collection.name}_{m}_recall": r.metrics["R@100"],
            f"{collection.name}_{m}_ms": r.query_ms,
            f"{collection.name}_{m}_mib": r.index_bytes / 2**20,
        }
    for m, d in diffs.items():
        values |= {f"{collection.name}_late_vs_{m}": f"{d:.3f}"}
    report.glue_all(values)


def glue_main(collection: Collection, results: dict[str, Result]) -> None:
    """The main collection's headline values, glued as ``main_*``, and its cost figure
    (``fig_cost``: quality against query time, marker size the index)."""
    from . import plots

    points = {
        m: (r.query_ms, r.metrics["nDCG@10"], r.index_bytes / 2**20)
        for m, r in results.items()
        if m in METHODS
    }
    report.glue_figure(
        "fig_cost",
        plots.cost_quality(points, title=f"{collection.name}: quality against query time and index size"),
    )
    values = {"main_name": collection.name}
    for key in ("bm25", "dense", "late"):
        values |= {
            f"main_{key}_ndcg": results[key].metrics["nDCG@10"],
            f"main_{key}_ms": results[key].query_ms,
            f"main_{key}_mib": results[key].index_bytes / 2**20,
        }
    values["beir_bm25_scifact"] = published.BEIR_BM25_SCIFACT_NDCG
    values["main_late_vs_bm25_ms"] = results["late"].query_ms / results["bm25"].query_ms
    values["main_late_vs_dense_mb"] = results["late"].index_bytes / results["dense"].index_bytes
    report.glue_all(values)


def show_example(example: ThreeWays) -> None:
    """Glue the comparison graphic (``fig_three_ways``) and the numbers its caption names."""
    from . import plots

    fig = plots.three_ways(example)
    # the intro page shows a thumbnail of this figure (book/_generated is not committed)
    THUMBNAIL.parent.mkdir(exist_ok=True)
    fig.savefig(THUMBNAIL, dpi=45, bbox_inches="tight")
    report.glue_figure("fig_three_ways", fig)
    report.glue_all(
        {
            "ex_query_id": example.query_id,
            "ex_doc_id": example.doc_id,
            "ex_bm25": example.bm25_score,
            "ex_cosine": example.cosine,
            "ex_maxsim": example.alignment.score,
            "ex_terms": len(example.terms),
            "ex_terms_missing": sum(w == 0 for _, _, w in example.terms),
            "ex_query_tokens": len(example.alignment.query_tokens),
        }
    )


def show_cases(collection: Collection, results: dict[str, Result]) -> None:
    """The failure cases (``failure_cases``), each with what explains most failures: how
    many query terms the relevant document holds, and how long it is. A data listing."""
    from myst_nb import glue

    cases = failure_cases({m: r for m, r in results.items() if m in METHODS}, collection.qrels)
    text = dict(zip(collection.doc_ids, collection.doc_texts))
    queries = dict(zip(collection.query_ids, collection.query_texts))
    out = []
    for case in cases:
        q, d = queries[case["query_id"]], text[case["relevant_doc_id"]]
        shared = set(bm25_terms(q)) & set(bm25_terms(d))
        lost = "not in its top 100" if case["loser_rank"] is None else f"at rank {case['loser_rank']}"
        out.append(
            f"**{LABELS[case['winner']]} wins, {LABELS[case['loser']]} fails.** "
            f"Query {case['query_id']}: *{q}*  \nRelevant document {case['relevant_doc_id']} "
            f"({len(bm25_terms(d))} words; shares {len(shared)} of the query's "
            f"{len(set(bm25_terms(q)))} terms: "
            f"{', '.join(sorted(shared)) or 'none'}): {d[:260]}...  \n"
            f"{LABELS[case['winner']]} ranks it first; "
            f"{LABELS[case['loser']]} has its first relevant document {lost}."
        )
    glue(f"{collection.name}_n_cases", len(cases), display=False)
    display(Markdown("\n\n".join(out) if out else "No such case in this run."))


# -- what chapter 2 shows ---------------------------------------------------------


def pooling_failure(collection: Collection, results: dict[str, Result]) -> tuple[str, str, int]:
    """Chapter 2's walk-through pair: of the queries late interaction gets right (a
    relevant document first) and one pooled vector gets wrong (none in its top 10), the
    shortest, with late interaction's first relevant document; and how many such
    queries there are. Without one, the first query late interaction gets right."""
    late = first_relevant_rank(results["late"].run, collection.qrels)
    dense = first_relevant_rank(results["dense"].run, collection.qrels)
    texts = dict(zip(collection.query_ids, collection.query_texts))
    cases = [q for q in collection.query_ids if late.get(q) == 1 and (dense.get(q) or 10**9) > 10]
    query_id = (
        min(cases, key=lambda q: len(texts[q])) if cases else next(q for q, r in late.items() if r == 1)
    )
    doc_id = next(d for d in results["late"].run[query_id] if collection.qrels[query_id].get(d, 0) > 0)
    return query_id, doc_id, len(cases)


def show_pair(collection: Collection, query_id: str, doc_id: str) -> None:
    """The walk-through pair as the reader meets it: the query, and the start of the document."""
    query = collection.query_texts[collection.query_ids.index(query_id)]
    doc = collection.doc_texts[collection.doc_ids.index(doc_id)]
    display(Markdown(f"**Query {query_id}:** {query}\n\n**Relevant document {doc_id}:** {doc[:400]}..."))


def glue_pooling(
    collection: Collection, results: dict[str, Result], query_id: str, doc_id: str, cosine: dict[str, float]
) -> None:
    """Chapter 2's pooled-vector numbers: the cosines, dense search's first hit and ranks."""
    dense_run = results["dense"].run[query_id]
    top = max(dense_run, key=dense_run.get)
    dense_rank = first_relevant_rank(results["dense"].run, collection.qrels)[query_id]
    report.glue_all(
        {
            "cos_relevant": cosine[doc_id],
            "cos_top": cosine[top],
            "dense_top": top,
            "dense_rank": f"at rank {dense_rank}" if dense_rank else "below its top 100",
        }
    )


def filler_score(alignment: Alignment) -> float:
    """The part of one pair's MaxSim that rows with no meaning add: the query's special
    tokens ([CLS], [SEP], [MASK], markers) and punctuation, each still taking a best match.

    >>> sim = torch.tensor([[0.9, 0.1], [0.2, 0.6], [0.5, 0.3]])
    >>> a = Alignment(["[CLS]", "wind", "."], ["[CLS]", "gust"], sim, sim.argmax(1), sim.max(1).values)
    >>> round(filler_score(a), 3)
    1.4
    """
    filler = [
        t.startswith("[") and t.endswith("]") or all(ch in string.punctuation for ch in t)
        for t in alignment.query_tokens
    ]
    return float(alignment.best_score[torch.tensor(filler)].sum())


def first_ranks(results: dict[str, Result], collection: Collection, query_id: str) -> dict[str, int | None]:
    """Each method's rank of its first relevant document for one query (None: not in its top k)."""
    return {m: first_relevant_rank(r.run, collection.qrels)[query_id] for m, r in results.items()}
