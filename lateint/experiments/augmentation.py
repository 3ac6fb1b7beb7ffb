"""Query augmentation ("thinking tokens"): what appended [MASK] tokens do to MaxSim.

ColBERT pads every query with [MASK] tokens; each pad reads the query through attention
and yields one more query vector, one more lookup, one more term of the MaxSim sum. By
default ColBERT's code keeps the query's own tokens from attending to the pads
(``attend_to_mask_tokens=False``); *attended* here means they may. This module measures
that: a sweep over the number of [MASK] tokens (attended and unattended), and what the
[MASK] vectors look like (which query tokens they resemble, which document tokens they
match, how much of the score they carry).

The sweep re-ranks a fixed candidate pool per query (BM25's top ``depth`` together with
MaxSim's top ``depth`` without masks) so that one point costs seconds, not minutes; it
measures how the masks change the scores, not which documents a first stage finds.

The second half gathers what the thinking-tokens chapter shows: the example query's
lookups and its [MASK] rows, the sweep's tables with each named point's paired-bootstrap
interval against no masks, the stored ``make bench-thinking`` record, and the mask
effect by query length. Sentences are written in the chapter; these functions only
display and glue.

Left out: training with a different number of masks (``lateint.train`` has the switch).
"""

from __future__ import annotations

import textwrap
from collections import Counter
from dataclasses import dataclass

import numpy as np
import torch
from IPython.display import display

from .. import metrics, timing
from ..baselines import FastBM25
from ..data import Collection
from ..encoder import Encoder
from ..evaluate import run_method
from ..explain import Alignment
from ..maxsim import maxsim, maxsim_packed
from ..vectors import TokenVectors
from ..workspace import Workspace
from . import records, report, stats
from .stats import Difference


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


def rerank(
    encoder: Encoder,
    collection: Collection,
    vectors: TokenVectors,
    pool: list[list[int]],
    workspace: Workspace | None = None,
) -> dict[str, dict[str, float]]:
    """A run: every query's pool (document positions) scored by exact MaxSim.

    Each pool is gathered packed, back to back, into one kept buffer: padded to its
    longest document a pool costs about twice the multiply-adds, and a fresh copy per
    query would be zero-filled page by page (``workspace.py``)."""
    ws = Workspace() if workspace is None else workspace
    Q, Q_mask = encoder.encode_queries(collection.query_texts)  # (n_queries, query_len, dim)
    run = {}
    for i, (query_id, docs) in enumerate(zip(collection.query_ids, pool)):
        part = vectors.select(docs, ws)
        scores = maxsim_packed(Q[i][Q_mask[i]], part.vectors, part.offsets, ws)  # its counted rows only
        run[query_id] = {collection.doc_ids[d]: float(s) for d, s in zip(docs, scores)}
    return run


def sweep(
    encoder: Encoder,
    collection: Collection,
    vectors: TokenVectors,
    pool: list[list[int]],
    counts=(0, 1, 2, 4, 8, 16, 32, 64),
    unattended=(1, 4, 16, 32, 64),
    timing_queries: int = 3,
) -> list[dict]:
    """nDCG@10 (re-ranking the pool) and exhaustive query time for each number of masks:
    ``counts`` attended (every token may attend to the pads), ``unattended`` not
    (ColBERT's default: the pads attend to the query, the query not to them).

    Query time is the median over ``timing_queries`` single queries, encoded and scored
    against every document: what each extra vector costs without an index.
    """
    D, D_mask = vectors.padded()
    workspace = Workspace()  # one pool buffer for every query of every sweep point
    rows = []
    for n, attend in [(n, True) for n in counts] + [(n, False) for n in unattended if n]:
        model = with_masks(encoder, n, attend)
        run = rerank(model, collection, vectors, pool, workspace)

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


# -- what the thinking-tokens chapter shows --------------------------------------------

COUNTS = (0, 1, 2, 4, 8, 16, 32, 64)  # attended: every token may attend to the pads
UNATTENDED = (1, 4, 16, 32, 64)  # ColBERT's default: a coarser curve beside it
SMOKE_COUNTS, SMOKE_UNATTENDED = (0, 1, 32), (32,)  # smoke runs sweep fewer points
# the sweep points the chapter's text names, (masks, attended), each tested against none
NAMED = ((1, True), (32, True), (32, False))


def counts(smoke: bool, attended=None, unattended=None) -> tuple[list[int], list[int]]:
    """The mask counts a page sweeps: ``attended`` and ``unattended`` where the reader
    set them (not None), else this mode's defaults.

    >>> counts(False)[0], counts(True), counts(True, [0, 2])[0]
    ([0, 1, 2, 4, 8, 16, 32, 64], ([0, 1, 32], [32]), [0, 2])
    """
    default_attended, default_unattended = (SMOKE_COUNTS, SMOKE_UNATTENDED) if smoke else (COUNTS, UNATTENDED)
    return (
        list(default_attended if attended is None else attended),
        list(default_unattended if unattended is None else unattended),
    )


def query_tokens(example: Encoder, text: str) -> list[str]:
    """The tokens of one query that become vectors (word pieces, special tokens, masks)."""
    tok = example.tokenize_queries([text])
    return [t for t, keep in zip(example.tokens(tok["input_ids"][0]), tok["Q_mask"][0].tolist()) if keep]


def glue_tokens(example: Encoder, text: str) -> None:
    """Glue how the example query becomes vectors: ``ex_vectors`` in all, of which
    ``ex_pieces`` word pieces, ``ex_masks`` [MASK] tokens and ``ex_special`` special tokens."""
    tokens = query_tokens(example, text)
    n_pieces = sum(len(example.tokenizer.tokenize(word)) for word in text.split())
    n_masks = tokens.count(example.tokenizer.mask_token)
    report.glue_all(
        {
            "ex_vectors": len(tokens),
            "ex_pieces": n_pieces,
            "ex_masks": n_masks,
            "ex_special": len(tokens) - n_pieces - n_masks,
        }
    )


def show_lookups(example: Encoder, text: str, collection: Collection, scores, docs, hit) -> None:
    """The example's lookups (``TokenIndex.search``'s result): per query vector, how many
    documents its nearest document tokens fall in, then the top documents. A data listing;
    glues ``ex_lookups``, ``ex_candidates``, ``ex_doc_id`` (the top document) and ``main_name``."""
    k = hit.token_docs.shape[1]
    rows = [
        [token, len(set(d[d >= 0].tolist())), f"{s[0]:.2f}"]
        for token, d, s in zip(query_tokens(example, text), hit.token_docs, hit.token_scores)
    ]
    title = (
        f"**{len(rows)} lookups x {k} = {hit.token_docs.size} hits, in {len(hit.candidates)} candidate "
        f"documents, scored by MaxSim**"
    )
    header = ["query vector", f"documents among its {k} nearest document tokens", "best cosine"]
    top = [
        [
            rank,
            collection.doc_ids[d],
            f"{s:.2f}",
            textwrap.shorten(collection.doc_texts[d], 90, placeholder=" ..."),
        ]
        for rank, (d, s) in enumerate(zip(docs.tolist(), scores.tolist()), 1)
    ]
    display(report.table(header, rows, title=title))
    display(report.table(["rank", "document", "MaxSim", "text"], top, title=f"**The top {len(top)}**"))
    report.glue_all(
        {
            "ex_lookups": len(rows),
            "ex_candidates": len(hit.candidates),
            "ex_doc_id": collection.doc_ids[int(docs[0])],  # show_mask_rows draws this document
            "main_name": collection.name,
        }
    )


def mask_rows(alignment: Alignment, mask_token: str = "[MASK]") -> dict:
    """Where one pair's [MASK] rows land: the document token each mask row's maximum
    hits (``targets``; ``positions`` in the document), how many of them hit ``[CLS]``, the
    query's own tokens whose maximum lands on one of the same positions (``repeats``),
    and the share of MaxSim the mask rows carry.

    >>> sim = torch.tensor([[0.9, 0.1], [0.2, 0.6], [0.8, 0.3]])
    >>> a = Alignment(["[CLS]", "x", "[MASK]"], ["[CLS]", "y"], sim, sim.argmax(1), sim.max(1).values)
    >>> r = mask_rows(a); r["targets"], r["on_cls"], r["repeats"], round(r["share"], 3)
    (['[CLS]'], 1, ['[CLS]'], 0.348)
    """
    rows = [i for i, t in enumerate(alignment.query_tokens) if t == mask_token]
    positions = [int(alignment.best_index[i]) for i in rows]
    repeats = [
        t
        for i, t in enumerate(alignment.query_tokens)
        if i not in rows and int(alignment.best_index[i]) in positions
    ]
    targets = [alignment.doc_tokens[j] for j in positions]
    share = float(alignment.best_score[rows].sum()) / alignment.score if rows else 0.0
    return {
        "rows": rows,
        "positions": positions,
        "targets": targets,
        "on_cls": targets.count("[CLS]"),
        "repeats": repeats,
        "share": share,
    }


def show_mask_rows(alignment: Alignment, doc_id: str) -> dict:
    """Glue the figure of the example's MaxSim matrix with its mask rows marked
    (``fig_mask_rows``) and what it shows: ``ex_mask_on_cls`` (mask rows whose maximum is
    the document's [CLS]), ``ex_mask_targets`` (the tokens they hit), ``ex_mask_repeats``
    (the query's own tokens that match the same document positions) and
    ``ex_mask_pair_share`` (percent of this pair's MaxSim from the mask rows). Returns
    :func:`mask_rows`'s result, for the chapter's claims."""
    from . import plots

    found = mask_rows(alignment)
    report.glue_figure("fig_mask_rows", plots.mask_rows(alignment, found["rows"]))
    report.glue_all(
        {
            "ex_mask_on_cls": found["on_cls"],
            "ex_mask_targets": ", ".join(dict.fromkeys(found["targets"])),
            "ex_mask_repeats": ", ".join(found["repeats"]) or "none",
            "ex_mask_pair_share": 100 * found["share"],
            "ex_pair_score": alignment.score,
        }
    )
    return found


def top_tokens(counts: Counter | list, n: int = 5) -> str:
    """``token (count)`` for the ``n`` most frequent tokens (a Counter or a stored list of pairs).

    >>> top_tokens(Counter({"a": 3, "b": 1}))
    'a (3), b (1)'
    """
    pairs = counts.most_common(n) if isinstance(counts, Counter) else counts[:n]
    return ", ".join(f"{token} ({k})" for token, k in pairs)


def show_mask_report(found: MaskReport) -> dict:
    """The mask report of this page's model as a table, and its headline values glued:
    ``mask_share`` (percent of MaxSim), ``mask_top_query_token``, ``mask_top_doc_token``
    and ``mask_top_doc_share`` (percent of all mask matches that hit that token). Returns
    the glued values, for the chapter's claims."""
    nearest, matched = found.nearest_query_token.most_common(8), found.matched_doc_token.most_common(8)
    rows = [
        [i + 1, f"{q} ({a})" if i < len(nearest) else "", f"{d} ({b})" if i < len(matched) else ""]
        for i, ((q, a), (d, b)) in enumerate(zip(nearest + [("", 0)] * 8, matched + [("", 0)] * 8))
        if i < max(len(nearest), len(matched))
    ]
    header = ["rank", "query token the mask vectors are closest to", "document token they matched"]
    display(
        report.table(
            header, rows, title=f"**{found.n_masks} masks on every query: counts over all mask vectors**"
        )
    )
    values = {
        "mask_share": 100 * found.score_share,
        "mask_n": found.n_masks,
        "mask_top_query_token": nearest[0][0],
        "mask_top_doc_token": matched[0][0],
        "mask_top_doc_share": 100 * matched[0][1] / sum(found.matched_doc_token.values()),
    }
    report.glue_all(values)
    return values


def against_none(points: list[dict], named=NAMED) -> dict[tuple[int, bool], Difference]:
    """nDCG@10 with ``n`` masks, attended or not, minus nDCG@10 without, per query, with
    its 95% paired-bootstrap interval (``stats.compare``), for each named ``(n, attended)``
    point the sweep has."""
    per_query = {(p["n_masks"], p["attend"]): p["per_query_nDCG@10"] for p in points}
    without = per_query[(0, None)]
    return {point: stats.compare(per_query[point], without) for point in named if point in per_query}


def show_sweep(
    sweeps: dict[str, list[dict]], diffs: dict[str, dict[tuple[int, bool], Difference]], main: str
) -> dict:
    """The sweep's tables and figure (``fig_sweep``), and its values glued:
    ``<collection>_sweep_<n>`` (attended), ``<collection>_sweep_un<n>`` (not attended),
    ``<collection>_vs_none_<n>`` and ``<collection>_vs_none_un<n>`` (a named point, attended
    or not, minus none, with its interval),
    ``main_sweep_base`` and ``main_sweep_ms_ratio`` (the most attended masks' query time
    over none's). Returns the glued values, for the chapter's claims."""
    from . import plots

    values = {}
    header = ["[MASK] tokens", "attended", "nDCG@10", "minus none (95% interval)", "R@100", "ms / query"]
    for cname, points in sweeps.items():
        rows = []
        for p in points:
            attended = {None: "-", True: "yes", False: "no"}[p["attend"]]
            d = diffs[cname].get((p["n_masks"], p["attend"]))
            rows.append(
                [
                    p["n_masks"],
                    attended,
                    f"{p['nDCG@10']:.3f}",
                    f"{d:.3f}" if d else "",
                    f"{p['R@100']:.3f}",
                    f"{p['query_ms']:.0f}",
                ]
            )
            values[f"{cname}_sweep_{'un' if p['attend'] is False else ''}{p['n_masks']}"] = p["nDCG@10"]
        n_queries = len(points[0]["per_query_nDCG@10"])
        title = f"**{cname}**, {n_queries} queries (ms: one exhaustive query)"
        display(report.table(header, rows, title=title, best={"nDCG@10": "max", "R@100": "max"}))
        values |= {
            f"{cname}_vs_none_{'' if attend else 'un'}{n}": f"{d:.3f}"
            for (n, attend), d in diffs[cname].items()
        }
    report.glue_figure("fig_sweep", plots.mask_sweep(sweeps))
    attended = [p for p in sweeps[main] if p["attend"] is not False]
    most = max(attended, key=lambda p: p["n_masks"])
    values |= {
        "main_sweep_base": attended[0]["nDCG@10"],
        "main_sweep_most": most["n_masks"],
        "main_sweep_ms_ratio": most["query_ms"] / attended[0]["query_ms"],
    }
    report.glue_all(values)
    return values


# -- the stored make bench-thinking record ---------------------------------------------


def variants(record: dict) -> dict[tuple[str, bool], dict[str, dict[str, float]]]:
    """The record's sweeps by (trains, trained with masks): ``{collection: {n: nDCG@10}}``
    with integer mask counts."""
    return {
        (v["trains"], bool(v["trained_masks"])): {
            c: {int(n): s for n, s in v[c]["sweep"].items()} for c in record["collections"]
        }
        for v in record["rows"]
    }


def record_summary(record: dict) -> dict:
    """What the chapter's sentences about the record compare, per collection ``c`` and
    ``trains`` (``head`` or ``top``):

    - ``best[c]``: the best point of any variant, ``(nDCG@10, trains, with masks, n)``,
      and ``best_n[c]``, its count of masks;
    - ``gain[c][trains]``: the best count's nDCG@10 minus none, for the variant trained
      with masks (what masks add to a model that learned them);
    - ``cost[c][trains]``: trained with masks minus trained without, both searched without;
    - ``lost[c, trains, with masks]``: nDCG@10 without masks minus with the trained count;
      ``lost_trained``, the most any variant trained with masks loses so, and
      ``lost_untrained``, the least any variant trained without them loses;
    - ``cls_share[trains]``: of the variant trained with masks, the share of its mask
      vectors' listed matches that are the document's [CLS], and ``cls_nearest[trains]``,
      whether [CLS] is the query token they are most often closest to.
    """
    sweeps, n_trained = variants(record), record["trained_masks"]
    out = {"best": {}, "best_n": {}, "gain": {}, "cost": {}, "lost": {}, "cls_share": {}, "cls_nearest": {}}
    for c in record["collections"]:
        out["best"][c] = max((s, t, m, n) for (t, m), v in sweeps.items() for n, s in v[c].items())
        out["best_n"][c] = out["best"][c][3]
        out["gain"][c], out["cost"][c] = {}, {}
        for trains in ("head", "top"):
            masked, plain = sweeps[trains, True][c], sweeps[trains, False][c]
            out["gain"][c][trains] = max(s for n, s in masked.items() if n) - masked[0]
            out["cost"][c][trains] = masked[0] - plain[0]
            out["lost"][c, trains, True] = masked[0] - masked[n_trained]
            out["lost"][c, trains, False] = plain[0] - plain[n_trained]
    out["lost_trained"] = max(v for (_, _, trained), v in out["lost"].items() if trained)
    out["lost_untrained"] = min(v for (_, _, trained), v in out["lost"].items() if not trained)
    for v in record["rows"]:
        if v["trained_masks"]:
            out["cls_share"][v["trains"]] = cls_share(v["mask_report"]["matched_doc_token"])
            out["cls_nearest"][v["trains"]] = v["mask_report"]["nearest_query_token"][0][0] == "[CLS]"
    return out


def cls_share(matched: Counter | list) -> float:
    """The share of mask matches that hit the document's [CLS] (a Counter or stored pairs).

    >>> cls_share(Counter({"[CLS]": 3, "a": 1})), cls_share([["b", 2]])
    (0.75, 0.0)
    """
    pairs = list(matched.items()) if isinstance(matched, Counter) else matched
    return sum(k for t, k in pairs if t == "[CLS]") / max(1, sum(k for _, k in pairs))


def show_trained(record: dict) -> None:
    """The record: where it was measured, a table of each variant with and without its
    trained count of masks, the figure ``fig_trained_masks``, and its values glued as
    ``rec_<collection>_<trains>_<with|without>_<n>``, plus, for the variants trained with
    masks, ``..._best_n`` (their best count besides none) and ``..._gain``."""
    from . import plots

    display(report.markdown(records.provenance(record)))
    n_trained, names = record["trained_masks"], record["collections"]
    score_columns = [f"{c}, {label}" for c in names for label in ("no masks", f"{n_trained} masks")]
    rows = [
        [
            v["variant"],
            f"{v['trainable_parameters']:,}",
            f"{v['train_seconds'] / 60:.1f}",
            f"{v['peak_memory_mb'] / 1024:.1f}",
            *[f"{v[c]['sweep'][str(n)]:.3f}" for c in names for n in (0, n_trained)],
        ]
        for v in record["rows"]
    ]
    header = ["variant", "trained weights", "training (min)", "peak memory (GiB)", *score_columns]
    title = (
        "**nDCG@10 with and without masks, for heads and top layers trained with and without them "
        f"(measured on {record['device']})**"
    )
    display(report.table(header, rows, title=title, best={c: "max" for c in score_columns}))
    report.glue_figure("fig_trained_masks", plots.trained_masks(record))
    values, summary = {"rec_trained_masks": n_trained}, record_summary(record)
    for (trains, masked), by_collection in variants(record).items():
        for c, sweep in by_collection.items():
            key = f"rec_{c}_{trains}_{'with' if masked else 'without'}"
            values |= {f"{key}_{n}": s for n, s in sweep.items()}
            if masked:
                values[f"{key}_best_n"] = max((n for n in sweep if n), key=sweep.get)
                values[f"{key}_gain"] = summary["gain"][c][trains]
                values[f"{key}_cost"] = summary["cost"][c][trains]
    values |= {f"rec_cls_{trains}": 100 * share for trains, share in summary["cls_share"].items()}
    report.glue_all(values)


def show_learned(found: MaskReport, record: dict, model: str) -> None:
    """The mask report of this page's model beside the record's variants trained with masks."""
    rows = [
        [
            f"{model} (this page, trained without masks)",
            top_tokens(found.nearest_query_token),
            top_tokens(found.matched_doc_token),
            f"{found.score_share:.1%}",
        ]
    ]
    rows += [
        [
            v["variant"],
            top_tokens(v["mask_report"]["nearest_query_token"]),
            top_tokens(v["mask_report"]["matched_doc_token"]),
            f"{v['mask_report']['score_share']:.1%}",
        ]
        for v in record["rows"]
        if v["trained_masks"]
    ]
    header = [
        "model",
        "mask vectors closest to query token",
        "document tokens they matched",
        "share of the score",
    ]
    display(
        report.table(
            header, rows, title=f"**{found.n_masks} masks on every query of {record['collections'][0]}**"
        )
    )


# -- going further: the mask effect by query length ------------------------------------


def by_length(
    encoder: Encoder, collections: list[Collection], sweeps: dict[str, list[dict]], model: str, record=None
) -> list[dict]:
    """The mask effect per third of the queries by length (:func:`effect_by_length`) for
    this page's model at 32 attended masks (or the sweep's most, without 32), then for the
    record's variants (``record``: None leaves them out, as smoke subsets must). Each
    case: ``collection``, ``model``, ``masks``, ``thirds`` and ``shortest_first`` (the
    shortest third gains most, or loses least)."""
    attended = [p["n_masks"] for p in next(iter(sweeps.values())) if p["attend"] is not False]
    n_masks = 32 if 32 in attended else max(attended)
    cases = []
    for c in collections:
        cases.append(
            {
                "collection": c.name,
                "model": f"{model} (this page)",
                "masks": n_masks,
                "thirds": effect_by_length(encoder, c, sweeps[c.name], n_masks),
            }
        )
        for v in record["rows"] if record else []:
            if c.name not in v:  # the record measured the benchmarks, not this collection
                continue
            cases.append(
                {
                    "collection": c.name,
                    "model": v["variant"],
                    "masks": record["trained_masks"],
                    "thirds": v[c.name]["by_length"],
                }
            )
    for case in cases:
        first, *rest = case["thirds"]
        case["shortest_first"] = first["change"] >= max(b["change"] for b in rest)
    return cases


def show_by_length(cases: list[dict]) -> None:
    """The per-length cases as one folded table; glues ``short_cases`` and ``short_held``
    (cases where the shortest third gains most)."""
    rows = [
        [
            case["collection"],
            case["model"],
            f"{third} ({b['word_pieces'][0]}-{b['word_pieces'][1]})",
            b["queries"],
            f"{b['without']:.3f}",
            f"{b['with']:.3f}",
            f"{b['change']:+.3f}",
            case["masks"],
        ]
        for case in cases
        for third, b in zip(("short", "middle", "long"), case["thirds"])
    ]
    header = [
        "collection",
        "model",
        "third (word pieces)",
        "queries",
        "nDCG@10, no masks",
        "with masks",
        "change",
        "masks",
    ]
    display(
        report.table(
            header, rows, collapsed=f"The mask effect per third of the queries, by length: {len(rows)} rows"
        )
    )
    report.glue_all({"short_cases": len(cases), "short_held": sum(c["shortest_first"] for c in cases)})
