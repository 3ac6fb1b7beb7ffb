"""Figures the chapters show. Drawing only: every number comes in as an argument.

Left out: any retrieval logic (it lives in the modules that compute the numbers).
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

COLORS = {"bm25": "#4C72B0", "dense": "#DD8452", "late": "#55A868", "zeroshot": "#8172B3"}


def pipelines(
    query: str,
    terms: Sequence[str],
    n_query_vectors: int,
    dense_dim: int,
    late_dim: int,
    doc_tokens: float,
    n_docs: int,
):
    """The three retrieval pipelines side by side, labelled with one real query's counts.

    ``terms``: the query's BM25 terms; ``n_query_vectors``: its late-interaction vectors;
    ``doc_tokens``: the mean number of stored vectors per document.
    """
    fig, ax = plt.subplots(figsize=(11, 5.2))
    ax.set_xlim(0, 11)
    ax.set_ylim(0, 6.3)
    ax.axis("off")
    short = query if len(query) < 48 else query[:45] + "..."
    ax.text(0.1, 6.05, f"query: \u201c{short}\u201d   ({n_docs:,} documents)", fontsize=11, weight="bold")
    rows = [
        (
            "bm25",
            4.6,
            "full-text search (BM25)",
            [
                f"{len(terms)} terms\n" + " ".join(terms[:5]) + (" ..." if len(terms) > 5 else ""),
                "inverted index\nterm -> documents",
                "sum of term weights\n(tf, idf, length)",
            ],
        ),
        (
            "dense",
            2.8,
            "vector search (one vector)",
            [
                f"encoder + mean pooling\n1 vector x {dense_dim} d",
                f"1 vector per document\n{n_docs:,} x {dense_dim} d",
                "one dot product\nper document",
            ],
        ),
        (
            "late",
            1.0,
            "late interaction (MaxSim)",
            [
                f"encoder, per token\n{n_query_vectors} vectors x {late_dim} d",
                f"~{doc_tokens:.0f} vectors per document\n{n_docs * doc_tokens:,.0f} x {late_dim} d",
                f"MaxSim: for each of the\n{n_query_vectors} query vectors, best\ndocument vector; sum",
            ],
        ),
    ]
    for key, y, title, boxes in rows:
        ax.text(0.1, y + 0.95, title, fontsize=11, color=COLORS[key], weight="bold")
        xs = [0.1, 3.0, 5.9, 8.8]
        _box(ax, xs[0], y, 2.4, "query text", COLORS[key], light=True)
        for x, label in zip(xs[1:], boxes):
            _box(ax, x, y, 2.4 if x < 8 else 2.1, label, COLORS[key])
        for a, b in zip(xs[:-1], xs[1:]):
            ax.add_patch(
                FancyArrowPatch(
                    (a + 2.4, y + 0.35), (b, y + 0.35), arrowstyle="-|>", mutation_scale=14, color="0.35"
                )
            )
    fig.tight_layout()
    return fig


def _box(ax, x, y, width, label, color, light=False):
    ax.add_patch(
        FancyBboxPatch(
            (x, y),
            width,
            0.7,
            boxstyle="round,pad=0.06",
            facecolor=color if not light else "white",
            alpha=0.18 if not light else 1,
            edgecolor=color,
            linewidth=1.4,
        )
    )
    ax.text(x + width / 2, y + 0.35, label, ha="center", va="center", fontsize=8.5)


def metric_bars(
    table: dict[str, dict[str, float]],
    metric: str,
    labels: dict[str, str] | None = None,
    reference: dict[str, float] | None = None,
):
    """Grouped bars: ``table[collection][method]`` values of one metric.

    ``reference`` optionally marks a published figure per collection (a dashed line).
    """
    collections = list(table)
    methods = list(dict.fromkeys(m for c in collections for m in table[c]))
    width = 0.8 / len(methods)
    fig, ax = plt.subplots(figsize=(1.6 + 2.2 * len(collections), 3.6))
    for i, m in enumerate(methods):
        xs = np.arange(len(collections)) + (i - (len(methods) - 1) / 2) * width
        values = [table[c].get(m, np.nan) for c in collections]
        bars = ax.bar(
            xs, values, width * 0.92, label=(labels or {}).get(m, m), color=COLORS.get(m.split(":")[0], None)
        )
        ax.bar_label(bars, fmt="%.3f", fontsize=8, padding=2)
    for j, c in enumerate(collections):
        if reference and c in reference:
            ax.hlines(reference[c], j - 0.45, j + 0.45, colors="0.3", linestyles="dashed", linewidth=1)
    ax.set_xticks(np.arange(len(collections)), collections)
    ax.set_ylabel(metric)
    ax.set_ylim(0, max(0.01, np.nanmax([v for c in table.values() for v in c.values()])) * 1.2)
    ax.legend(fontsize=8, loc="upper right", frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig


def cost_quality(points: dict[str, tuple[float, float, float]], title: str = ""):
    """Scatter of query time (ms, log x) against nDCG@10; marker area ~ index size.

    ``points[method] = (query_ms, ndcg, index_mb)``.
    """
    fig, ax = plt.subplots(figsize=(5.6, 3.6))
    for method, (ms, ndcg, mb) in points.items():
        ax.scatter(ms, ndcg, s=40 + 8 * np.sqrt(mb * 100), color=COLORS.get(method.split(":")[0]), alpha=0.8)
        ax.annotate(
            f"{method}\n{mb:.1f} MB", (ms, ndcg), textcoords="offset points", xytext=(8, -4), fontsize=8
        )
    ax.set_xscale("log")
    ax.set_xlabel("median time per query (ms, log scale)")
    ax.set_ylabel("nDCG@10")
    ax.set_title(title, fontsize=10)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig


def heatmap(alignment, title: str = "", max_doc_tokens: int = 80):
    """Query tokens (rows) by document tokens (columns), each row's maximum boxed.

    Long documents are cut to the first ``max_doc_tokens`` columns plus every column
    some query token matched, so that no match is hidden.
    """
    sim = alignment.sim.numpy()
    matched = set(alignment.best_index.tolist())
    cols = sorted(set(range(min(max_doc_tokens, sim.shape[1]))) | matched)
    fig, ax = plt.subplots(figsize=(min(18, 2 + 0.16 * len(cols)), 1.2 + 0.24 * sim.shape[0]))
    image = ax.imshow(sim[:, cols], cmap="viridis", aspect="auto", vmin=min(0, sim.min()), vmax=1)
    col_of = {c: i for i, c in enumerate(cols)}
    for row, j in enumerate(alignment.best_index.tolist()):
        ax.add_patch(
            plt.Rectangle((col_of[j] - 0.5, row - 0.5), 1, 1, fill=False, edgecolor="red", linewidth=1.6)
        )
    ax.set_yticks(range(sim.shape[0]), alignment.query_tokens, fontsize=8)
    ax.set_xticks(range(len(cols)), [alignment.doc_tokens[c] for c in cols], rotation=90, fontsize=7)
    ax.set_xlabel(
        "document tokens" + (" (first columns and every matched one)" if len(cols) < sim.shape[1] else "")
    )
    ax.set_title(title or f"MaxSim = {alignment.score:.2f}: sum of the boxed row maxima", fontsize=10)
    fig.colorbar(image, ax=ax, fraction=0.02, pad=0.01, label="cosine")
    fig.tight_layout()
    return fig


def highlight_html(alignment) -> str:
    """The document's tokens as HTML, each shaded by how much MaxSim it contributed.

    >>> import torch
    >>> from lateint.explain import Alignment
    >>> sim = torch.tensor([[0.1, 0.9]])
    >>> a = Alignment(["q"], ["the", "tides"], sim, torch.tensor([1]), torch.tensor([0.9]))
    >>> "tides" in highlight_html(a) and "rgba" in highlight_html(a)
    True
    """
    weights = alignment.doc_weights()
    top = float(weights.max()) or 1.0
    parts = []
    for token, w in zip(alignment.doc_tokens, weights.tolist()):
        text = token[2:] if token.startswith("##") else " " + token
        style = f"background: rgba(85,168,104,{w / top:.2f}); border-radius: 3px" if w > 0 else ""
        parts.append(f'<span style="{style}" title="{w:.2f}">{html.escape(text, quote=False)}</span>')
    return '<div style="line-height: 1.9; font-family: sans-serif">' + "".join(parts) + "</div>"


def speed_quality(
    curves: dict[str, list[tuple[float, float, str]]],
    points: dict[str, tuple[float, float]],
    reference: tuple[float, str] | None = None,
):
    """Latency (ms, log x) against nDCG@10.

    ``curves[name]`` is a list of (ms, ndcg, label) drawn as a line (an index's
    settings); ``points[name] = (ms, ndcg)`` are single systems. ``reference`` draws a
    horizontal line at (ndcg, label).
    """
    fig, ax = plt.subplots(figsize=(7.2, 4.2))
    markers = iter("osD^v<>")
    for name, rows in curves.items():
        rows = sorted(rows)
        ax.plot([r[0] for r in rows], [r[1] for r in rows], marker=next(markers), markersize=4, label=name)
        for ms, ndcg, label in rows:
            ax.annotate(
                label, (ms, ndcg), textcoords="offset points", xytext=(3, 3), fontsize=6, color="0.35"
            )
    for name, (ms, ndcg) in points.items():
        ax.scatter(ms, ndcg, s=50, marker="*", zorder=3, color=COLORS.get(name.split(" ")[0].split(",")[0]))
        ax.annotate(name, (ms, ndcg), textcoords="offset points", xytext=(6, -3), fontsize=8)
    if reference is not None:
        ax.axhline(reference[0], color="0.6", linestyle="dotted", linewidth=1)
        ax.annotate(
            reference[1],
            (ax.get_xlim()[0], reference[0]),
            textcoords="offset points",
            xytext=(4, 3),
            fontsize=7,
            color="0.4",
        )
    ax.set_xscale("log")
    ax.set_xlabel("median time per query, encoding included (ms, log scale)")
    ax.set_ylabel("nDCG@10")
    ax.legend(fontsize=8, loc="lower right", frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig


def scaling(
    tokens: Sequence[float],
    series: dict[str, tuple[Sequence[float], tuple[float, float]]],
    extrapolate_to: float,
    marks: dict[str, tuple[float, float]] | None = None,
):
    """Measured ms per query against corpus tokens (log-log), each series with its fit
    ``ms = a * tokens ** b`` drawn out to ``extrapolate_to``; ``marks[label] = (tokens, ms)``
    are published points."""
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    grid = np.geomspace(min(tokens), extrapolate_to, 50)
    for name, (ms, (a, b)) in series.items():
        line = ax.plot(grid, a * grid**b, linestyle="dashed", linewidth=1)[0]
        ax.scatter(tokens, ms, color=line.get_color(), zorder=3, label=f"{name}: ms ~ tokens^{b:.2f}")
    for label, (x, y) in (marks or {}).items():
        ax.scatter([x], [y], marker="*", s=80, color="black", zorder=3)
        ax.annotate(label, (x, y), textcoords="offset points", xytext=(-10, 8), fontsize=8, ha="right")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("document token vectors in the corpus (log)")
    ax.set_ylabel("ms per query (log)")
    ax.legend(fontsize=8, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig


def size_quality(
    rows: Sequence[dict], reference_label: str = "fp32", measure: str = "nDCG@10", tolerance: float = 0.01
):
    """Bytes per token (log x) against a quality measure, one labelled point per storage;
    a band marks ``tolerance`` below the reference."""
    fig, ax = plt.subplots(figsize=(7.0, 4.0))
    best = next(r for r in rows if r["label"] == reference_label)[measure]
    ax.axhspan(best - tolerance, best, color=COLORS["late"], alpha=0.12, linewidth=0)
    for r in rows:
        pooled = "pooled" in r["label"]
        ax.scatter(
            r["bytes_per_token"],
            r[measure],
            marker="s" if pooled else "o",
            color="#8172B3" if pooled else COLORS["late"],
            zorder=3,
        )
        ax.annotate(
            r["label"],
            (r["bytes_per_token"], r[measure]),
            textcoords="offset points",
            xytext=(5, 3),
            fontsize=7,
        )
    ax.set_xscale("log", base=2)
    ax.set_xlabel("stored bytes per document token (log2)")
    ax.set_ylabel(measure)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig
