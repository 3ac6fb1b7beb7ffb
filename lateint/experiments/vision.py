"""The ColPali chapter: late interaction over page images (the ColPali idea at small scale).

Pages are drawn from the corpus (``lateint.pages``), encoded by the patch encoder
(``lateint.patch_encoder``), and ranked by the library's exact MaxSim against the text
encoder's query vectors. Around that: fewer vectors per page by pooling neighbouring
patches (the curve set against DeepSeek-OCR's compression), Qdrant's row/column mean
pooling as a first stage, per-query-token similarity maps, and vectors and bytes per
page. The ``show_*`` functions lay out what the chapter displays (tables, glue,
figures from ``plots``); they state no finding, the chapter's prose does.
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np
import torch
from IPython.display import display

from .. import cache, compress, maxsim, metrics, pages, patch_encoder
from .. import vectors as vectors_module
from ..data import Collection
from ..encoder import Encoder
from ..evaluate import Result
from ..patch_encoder import SHIPPED, PatchEncoder, PatchEncoderConfig, n_parameters
from ..train_patches import PatchTrainConfig, distillation_targets, fit, page_texts
from ..vectors import TokenVectors, offsets_from_lengths
from ..workspace import Workspace
from . import plots, published, report, stats
from .compare import LABELS
from .stats import Difference


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
    """Exhaustive MaxSim of every query against every page: ``{"run", "per_query",
    "seconds", "vectors_per_page", **metrics}`` (``seconds``: ranking all queries at once)."""
    started = time.perf_counter()
    D, D_mask = vectors.padded()
    scores, indices = maxsim.search(Q, D, D_mask, k, Q_mask)
    run = metrics.run_from_topk(collection.query_ids, collection.doc_ids, scores.numpy(), indices.numpy())
    return _measured(run, collection, time.perf_counter() - started, vectors)


def _measured(run: dict, collection: Collection, seconds: float, vectors: TokenVectors) -> dict:
    per_query = metrics.per_query(run, collection.qrels)
    return {
        "run": run,
        "per_query": per_query,
        "seconds": seconds,
        "vectors_per_page": float(vectors.lengths.float().mean()),
        **metrics.means(per_query),
    }


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
    ``candidates`` of each query by exact MaxSim over ``full``. Returns what ``rank``
    does (``vectors_per_page``: of the first stage)."""
    started = time.perf_counter()
    D1, D1_mask = first.padded()
    _, cand = maxsim.search(Q, D1, D1_mask, candidates, Q_mask)  # (n_q, candidates)
    found, workspace = [], Workspace()  # buffers kept from one query to the next
    for i in range(len(Q)):
        docs = cand[i]
        part = full.select(docs.tolist(), workspace)
        s = maxsim.maxsim_packed(Q[i][Q_mask[i]], part.vectors, part.offsets, workspace)
        top = torch.topk(s, k=min(k, len(docs)))
        found.append((top.values, docs[top.indices]))
    scores, indices = metrics.stack_topk(found, min(k, candidates))
    run = metrics.run_from_topk(collection.query_ids, collection.doc_ids, scores, indices)
    return _measured(run, collection, time.perf_counter() - started, first)


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
    """Bytes of one stored vector at each of the size chapter's codes, measured by compressing
    ``sample`` (n, dim) unit rows (residual codes: 16 centroids, a 2-byte id each)."""
    out = {method: compress.compress(sample, method).bytes_per_vector for method in ("fp32", "fp16", "int8")}
    for bits in (4, 2, 1):
        out[f"residual {bits}-bit"] = compress.compress(sample, "residual", k=16, bits=bits).bytes_per_vector
    out["binary"] = compress.compress(sample, "binary").bytes_per_vector
    return out


# -- what the ColPali chapter shows ------------------------------------------------


def shipped_card() -> dict:
    """The shipped patch encoder's card (``lateint/heads/lateint-patches/card.json``)."""
    return json.loads((SHIPPED / "card.json").read_text())


def train_small(encoder: Encoder, collection: Collection) -> tuple[PatchEncoder, dict]:
    """A tiny patch encoder trained on every page of ``collection`` for one epoch (smoke
    runs: seconds, not minutes), and a card in the shipped card's shape."""
    torch.manual_seed(0)
    started = time.perf_counter()
    model = PatchEncoder(PatchEncoderConfig(channels=32, context_layers=1))
    every = list(range(len(collection.doc_ids)))
    _, targets = distillation_targets(encoder, collection, every, model.config.page)
    history = fit(model, targets, targets, PatchTrainConfig(epochs=1, batch_lines=32))
    card = {
        "parameters": n_parameters(model),
        "seconds": time.perf_counter() - started,
        "history": history,
        "threads": torch.get_num_threads(),
        "data": {"collection": collection.name, "train_pages": len(every), "dev_pages": len(every)},
    }
    return model, card


def show_page(example: pages.Page, ink: np.ndarray, config: pages.PageConfig, text: TokenVectors) -> None:
    """Glue one drawn page as ``fig_page`` and its counts (``ex_patches`` inked of
    ``ex_grid``; ``ex_tokens`` the first document's text vectors in ``text``) and the page
    settings."""
    report.glue_figure("fig_page", plots.page_patches(example.image, ink, config.patch, config.columns))
    report.glue_all(
        {
            "font_px": config.font_size,
            "patch_px": config.patch,
            "grid_columns": config.columns,
            "ex_patches": int(ink.sum()),
            "ex_grid": int(ink.size),
            "ex_tokens": int(text.lengths[0]),
        }
    )


def show_card(card: dict) -> None:
    """The patch encoder's training history as a folded table, and its glue."""
    history = card["history"]
    rows = [
        [h["epoch"], "-" if h["loss"] is None else f"{h['loss']:.3f}", f"{h['dev_cosine']:.3f}"]
        for h in history
    ]
    display(
        report.table(
            ["epoch", "training loss (1 - cosine)", "cosine to target, held-out pages"],
            rows,
            title=(
                f"**patch encoder**: {card['parameters']:,} parameters, trained on "
                f"{card['data']['train_pages']:,} pages in {card['seconds'] / 60:.1f} minutes on "
                f"{card['threads']} CPU threads"
            ),
            best={"cosine to target, held-out pages": "max"},
            collapsed="its training history, epoch by epoch",
        )
    )
    report.glue_all(
        {
            "patch_params": card["parameters"],
            "train_minutes": card["seconds"] / 60,
            "train_epochs": len(history) - 1,
            "dev_pages": card["data"]["dev_pages"],
            "dev_cosine": history[-1]["dev_cosine"],
        }
    )


def show_retrieval(
    collections: list[Collection],
    results: dict[str, dict[str, Result]],
    page_runs: dict[str, dict],
    text_vectors: dict[str, TokenVectors],
    vs_text: dict[str, Difference],
    vs_bm25: dict[str, Difference],
) -> None:
    """One table per collection (the text methods, then patches), and the glue:
    ``<collection>_pages_ndcg`` and ``_text_ndcg``, ``<collection>_pages_vs_text`` and
    ``_pages_vs_bm25`` (formatted differences), ``main_*`` headline values."""
    values = {}
    for c in collections:
        per_doc = {
            "late": f"{text_vectors[c.name].lengths.float().mean():.0f} token vectors",
            "dense": "1 vector",
            "bm25": "words",
        }
        rows = [
            [LABELS[m], "text", per_doc[m], f"{r.metrics['nDCG@10']:.3f}", f"{r.metrics['R@100']:.3f}"]
            for m, r in results[c.name].items()
        ]
        p = page_runs[c.name]
        rows.append(
            [
                "late interaction over patches",
                "page image",
                f"{p['vectors_per_page']:.0f} patch vectors",
                f"{p['nDCG@10']:.3f}",
                f"{p['R@100']:.3f}",
            ]
        )
        display(
            report.table(
                ["method", "reads", "per document", "nDCG@10", "R@100"],
                rows,
                title=f"**{c.name}** ({len(c.query_ids)} queries, {len(c.doc_ids):,} documents)",
                best={"nDCG@10": "max", "R@100": "max"},
            )
        )
        values |= {
            f"{c.name}_pages_ndcg": p["nDCG@10"],
            f"{c.name}_text_ndcg": results[c.name]["late"].metrics["nDCG@10"],
            f"{c.name}_bm25_ndcg": results[c.name]["bm25"].metrics["nDCG@10"],
            f"{c.name}_pages_vs_text": f"{vs_text[c.name]:.3f}",
            f"{c.name}_pages_vs_bm25": f"{vs_bm25[c.name]:.3f}",
        }
    main = collections[0].name
    values |= {
        "main_name": main,
        "pages_ndcg": page_runs[main]["nDCG@10"],
        "pages_recall": page_runs[main]["R@100"],
        "text_ndcg": results[main]["late"].metrics["nDCG@10"],
        "patches_per_page": page_runs[main]["vectors_per_page"],
        "tokens_per_doc": float(text_vectors[main].lengths.float().mean()),
        "colpali_vectors": published.COLPALI_VECTORS_PER_PAGE,
    }
    report.glue_all(values)


def example_queries(page_run: dict, text: Result, collection: Collection) -> dict[str, str]:
    """Two queries for the similarity maps, ``{query_id: label}``: one where patches rank
    a relevant page first (else their best query), and one where text late interaction
    ranks a relevant page first and patches lose the most against it."""
    patch_ndcg, text_ndcg = page_run["per_query"]["nDCG@10"], text.per_query["nDCG@10"]
    patch_rank = metrics.first_relevant_rank(page_run["run"], collection.qrels)
    text_rank = metrics.first_relevant_rank(text.run, collection.qrels)
    judged = [q for q in collection.query_ids if q in collection.qrels]
    works = max(judged, key=lambda q: (patch_rank[q] == 1, patch_ndcg[q]))
    fails = max(
        (q for q in judged if q != works), key=lambda q: (text_rank[q] == 1, text_ndcg[q] - patch_ndcg[q])
    )
    return {
        works: "works" if patch_rank[works] == 1 else "best case",
        fails: "fails" if text_rank[fails] == 1 else "worst case",
    }


def token_maps(
    query_id: str,
    collection: Collection,
    encoder: Encoder,
    vectors: TokenVectors,
    config: pages.PageConfig,
    n_tokens: int = 3,
) -> tuple[str, pages.Page, list[tuple[str, np.ndarray]]]:
    """A query's most relevant page, drawn, and the similarity maps of the ``n_tokens``
    word tokens of the query that match some patch of it best: ``(doc_id, page, [(token, map)])``."""
    text = collection.query_texts[collection.query_ids.index(query_id)]
    Q, Q_mask = encoder.encode_queries([text])
    ids = encoder.tokenize_queries([text])["input_ids"][0]
    tokens = [t for t, m in zip(encoder.tokens(ids), Q_mask[0].tolist()) if m]
    relevant = max(collection.qrels[query_id], key=lambda d: collection.qrels[query_id][d])
    d = collection.doc_ids.index(relevant)
    drawn = pages.render(page_texts(encoder, [collection.doc_texts[d]])[0][0], config)
    rows = drawn.image.shape[0] // config.patch
    maps = similarity_map(Q[0][Q_mask[0]], vectors.select([d]), rows, config.columns)  # (tokens, rows, cols)
    words = [i for i, t in enumerate(tokens) if t.strip("#").isalnum()]  # no [CLS], no "."
    best = sorted(words, key=lambda i: -np.nanmax(maps[i]))[:n_tokens]
    return relevant, drawn, [(tokens[i], maps[i]) for i in sorted(best)]


def show_maps(
    page_run: dict, text: Result, collection: Collection, encoder: Encoder, vectors: TokenVectors, config
) -> None:
    """Glue ``fig_maps``: token maps for the two queries ``example_queries`` picks, one
    row each, and list what it shows (a data note)."""
    patch_rank = metrics.first_relevant_rank(page_run["run"], collection.qrels)
    text_rank = metrics.first_relevant_rank(text.run, collection.qrels)
    panels, notes = [], []
    for qid, label in example_queries(page_run, text, collection).items():
        relevant, drawn, maps = token_maps(qid, collection, encoder, vectors, config)
        panels.append((label, drawn.image, maps))
        query = collection.query_texts[collection.query_ids.index(qid)]
        notes.append(
            f"**{label}**: query {qid}, *{query}*; relevant page {relevant}: patches rank it "
            f"{patch_rank[qid] or 'below 100'}, text ranks it {text_rank[qid] or 'below 100'}."
        )
    report.glue_figure("fig_maps", plots.similarity_maps(panels, config.patch))
    display(report.markdown("\n\n".join(notes)))


def show_costs(
    encoder: Encoder, collection: Collection, text: TokenVectors, vectors: TokenVectors, config, sizes
) -> None:
    """Vectors and KiB per page (text tokens, our patches at several ``sizes`` measured on
    the first 300 pages, ColPali) at each of the size chapter's codes, as a folded table;
    glue the ColPali figures in KiB and GiB (2**30 bytes) and ``patches_over_tokens``."""
    sample_pages = pages.render_all(page_texts(encoder, collection.doc_texts[:300])[0], config)
    text_tokens = float(text.lengths.float().mean())
    by_size = patch_counts(sample_pages, config, sizes)
    per_page = {
        "text tokens (ours)": text_tokens,
        **{f"patches, {s} px (ours)": v for s, v in by_size.items()},
        "ColPali (32 x 32 grid + prompt)": float(published.COLPALI_VECTORS_PER_PAGE),
    }
    codes = bytes_per_vector(vectors.vectors[:4096])
    rows = [
        [name, f"{n:,.0f}", *(f"{n * b / 1024:,.1f}" for b in codes.values())] for name, n in per_page.items()
    ]
    display(
        report.table(
            ["vectors per page", "count", *(f"KiB, {c}" for c in codes)],
            rows,
            title=(
                f"**per page**: vector counts, and KiB (1,024 bytes) at each code ({published.COLPALI_DIM} "
                f"dimensions; patch sizes measured on {len(sample_pages)} pages)"
            ),
            collapsed="vectors and KiB per page, for text, our patches at three sizes, and ColPali",
        )
    )
    colpali = published.COLPALI_VECTORS_PER_PAGE
    report.glue_all(
        {
            "colpali_fp16_kib": colpali * codes["fp16"] / 1024,
            "colpali_fp16_gib_per_million": colpali * codes["fp16"] * 1e6 / 2**30,
            "colpali_2bit_gib_per_million": colpali * codes["residual 2-bit"] * 1e6 / 2**30,
            "patches_over_tokens": by_size[config.patch] / text_tokens,
        }
    )


def show_pooling(pooled: dict[str, dict], results: dict[str, Result], text: TokenVectors) -> Difference:
    """Glue ``fig_pooling`` (nDCG@10 against vectors per page; ``pooled["1 x 1"]`` is no
    pooling; lines for ``results``' text late interaction and BM25) and the pooling the
    prose names: the best one that at least halves the vectors (``half_*``), with its
    difference to no pooling. Returns that difference."""
    text_tokens = float(text.lengths.float().mean())
    curve = [(r["vectors_per_page"], r["nDCG@10"], label) for label, r in pooled.items()]
    ratios = {ratio: text_tokens / ratio for ratio in published.DEEPSEEK_OCR_PRECISION}
    fig = plots.pooling_curve(
        curve, results["late"].metrics["nDCG@10"], results["bm25"].metrics["nDCG@10"], ratios
    )
    report.glue_figure("fig_pooling", fig)
    full = pooled["1 x 1"]
    halved = [label for label, r in pooled.items() if r["vectors_per_page"] <= full["vectors_per_page"] / 2]
    label = max(halved, key=lambda name: pooled[name]["nDCG@10"])
    diff = stats.compare(pooled[label]["per_query"]["nDCG@10"], full["per_query"]["nDCG@10"])
    report.glue_all(
        {
            "deepseek_10x": published.DEEPSEEK_OCR_PRECISION[10] * 100,
            "deepseek_20x": published.DEEPSEEK_OCR_PRECISION[20] * 100,
            "half_label": label,
            "half_vectors": pooled[label]["vectors_per_page"],
            "half_ndcg": pooled[label]["nDCG@10"],
            "half_vs_full": f"{diff:.3f}",
        }
    )
    return diff


def show_two_stage(
    alone: dict[str, dict], both: dict[str, dict], exhaustive: dict, candidates: int
) -> Difference:
    """The pooled-first-stage table (row and column means, then exact MaxSim over the
    top ``candidates``) beside exhaustive search, folded; glue ``<by>_*``. Returns the
    row-means pipeline minus exhaustive search, per query, with its interval."""
    ms = lambda r: f"{r['seconds'] / len(r['per_query']['nDCG@10']) * 1000:.0f}"  # noqa: E731
    rows = [
        [
            f"{by} means",
            f"{alone[by]['vectors_per_page']:.1f}",
            f"{alone[by]['nDCG@10']:.3f}",
            f"{both[by]['nDCG@10']:.3f}",
            f"{both[by]['R@100']:.3f}",
            ms(both[by]),
        ]
        for by in alone
    ]
    rows.append(
        [
            "none: exhaustive over all patches",
            f"{exhaustive['vectors_per_page']:.1f}",
            "",
            f"{exhaustive['nDCG@10']:.3f}",
            f"{exhaustive['R@100']:.3f}",
            ms(exhaustive),
        ]
    )
    header = [
        "first stage",
        "its vectors per page",
        "nDCG@10, first stage alone",
        "nDCG@10, re-ranked",
        "R@100, re-ranked",
        "ms / query (batch, this machine)",
    ]
    display(
        report.table(
            header,
            rows,
            title=f"pooled first stage, then exact MaxSim over the top {candidates}",
            best={"nDCG@10, re-ranked": "max"},
            collapsed="the pooled first stages, and their cost in time",
        )
    )
    diff = stats.compare(both["row"]["per_query"]["nDCG@10"], exhaustive["per_query"]["nDCG@10"])
    values = {"qdrant_vectors": published.QDRANT_POOLED_VECTORS, "candidates": candidates}
    for by in alone:
        values |= {
            f"{by}_first_ndcg": alone[by]["nDCG@10"],
            f"{by}_two_stage_ndcg": both[by]["nDCG@10"],
            f"{by}_vectors": alone[by]["vectors_per_page"],
        }
    report.glue_all(values | {"row_vs_exhaustive": f"{diff:.3f}"})
    return diff
