"""Figures the chapters show. Drawing only: every number comes in as an argument.

Left out: any retrieval logic (it lives in the modules that compute the numbers).
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from .speed import pareto_front

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


def heatmap(alignment, title: str = "", max_columns: int = 40):
    """Query tokens (rows) by document tokens (columns), each row's maximum boxed.

    A long document does not fit the page, so the columns shown are every matched
    document token with one neighbour on each side (only the matched ones when even
    that is more than ``max_columns``); a white line marks where columns were skipped.
    """
    sim = alignment.sim.numpy()
    matched = sorted(set(alignment.best_index.tolist()))
    if sim.shape[1] <= max_columns:
        cols = list(range(sim.shape[1]))
    else:
        around = sorted({c + d for c in matched for d in (-1, 0, 1) if 0 <= c + d < sim.shape[1]})
        cols = around if len(around) <= max_columns else matched
    fig, ax = plt.subplots(figsize=(min(10.5, 2.2 + 0.22 * len(cols)), 1.3 + 0.24 * sim.shape[0]))
    image = ax.imshow(sim[:, cols], cmap="viridis", aspect="auto", vmin=min(0, sim.min()), vmax=1)
    col_of = {c: i for i, c in enumerate(cols)}
    for row, j in enumerate(alignment.best_index.tolist()):
        ax.add_patch(
            plt.Rectangle((col_of[j] - 0.5, row - 0.5), 1, 1, fill=False, edgecolor="red", linewidth=1.6)
        )
    for i in range(1, len(cols)):
        if cols[i] != cols[i - 1] + 1:  # columns skipped here
            ax.axvline(i - 0.5, color="white", linewidth=2)
    ax.set_yticks(range(sim.shape[0]), alignment.query_tokens, fontsize=8)
    ax.set_xticks(range(len(cols)), [alignment.doc_tokens[c] for c in cols], rotation=90, fontsize=8)
    skipped = len(cols) < sim.shape[1]
    ax.set_xlabel(
        f"document tokens ({len(cols)} of {sim.shape[1]}: the matched ones and their neighbours)"
        if skipped
        else "document tokens"
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
    """Latency (ms, log x) against nDCG@10, the whole picture and a zoom on the index.

    ``curves[name]`` is a list of (ms, ndcg, label) for an index's settings: every
    setting is a dot and its Pareto front (no other setting both faster and better) a
    line; ``points[name] = (ms, ndcg)`` are single systems. The left panel shows
    everything with a legend; the right panel zooms on the index and labels the front's
    settings. ``reference`` draws a horizontal line at (ndcg, label).
    """
    fig, (ax, zoom) = plt.subplots(1, 2, figsize=(10, 4.9), gridspec_kw={"width_ratios": [1, 1.1]})
    markers = dict(zip(points, "*PXhd^v<>"))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for panel in (ax, zoom):
        for (name, rows), color in zip(curves.items(), colors):
            front = pareto_front(rows)
            panel.scatter(
                [r[0] for r in rows], [r[1] for r in rows], s=10, color=color, alpha=0.35, linewidths=0
            )
            panel.plot(
                [r[0] for r in front],
                [r[1] for r in front],
                marker="o",
                markersize=4,
                color=color,
                label=name,
            )
        for name, (ms, ndcg) in points.items():
            panel.scatter(ms, ndcg, s=80, marker=markers[name], zorder=3, color="0.25", label=name)
        if reference is not None:
            panel.axhline(reference[0], color="0.6", linestyle="dotted", linewidth=1)
        panel.set_xscale("log")
        panel.spines[["top", "right"]].set_visible(False)
    index_points = [r for rows in curves.values() for r in rows]
    xs, ys = [r[0] for r in index_points], [r[1] for r in index_points]
    zoom.set_xlim(min(xs) / 1.15, max(xs) * 1.15)
    low = min(min(ys), reference[0] if reference else min(ys))
    high = max(max(ys), reference[0] if reference else max(ys))
    span = high - low or 0.01
    zoom.set_ylim(low - 0.08 * span, high + 0.12 * span)
    for rows in curves.values():
        for ms, ndcg, label in pareto_front(rows):
            zoom.annotate(
                label, (ms, ndcg), textcoords="offset points", xytext=(4, -10), fontsize=8, color="0.2"
            )
    if reference is not None:
        zoom.annotate(
            reference[1],
            (min(xs) / 1.12, reference[0]),
            textcoords="offset points",
            xytext=(0, 3),
            fontsize=8,
            color="0.4",
        )
    ax.set_xlabel("median ms per query, encoding included (log)")
    ax.set_ylabel("nDCG@10")
    zoom.set_xlabel("zoom; Pareto fronts labelled (index: nprobe/ndocs; MUVERA: c + candidates)")
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=8, loc="lower center", ncol=4, frameon=False)
    fig.tight_layout(rect=(0, 0.12, 1, 1))  # room below the panels for the legend
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
    rows: Sequence[dict],
    reference_label: str = "fp32",
    measure: str = "nDCG@10",
    tolerance: float = 0.01,
    highlight: str | None = None,
):
    """One row per storage, smallest at the top: stored bytes per token (left, log) and
    the change in ``measure`` against the reference, in points (right), with a band at
    ``tolerance`` below it. ``highlight`` names a storage to colour (the knee)."""
    rows = sorted(rows, key=lambda r: -r["bytes_per_token"])
    best = next(r for r in rows if r["label"] == reference_label)[measure]
    labels = [r["label"] for r in rows]
    y = np.arange(len(rows))
    colors = [
        COLORS["bm25"]
        if r["label"] == highlight
        else ("#8172B3" if "pooled" in r["label"] else COLORS["late"])
        for r in rows
    ]
    fig, (left, right) = plt.subplots(
        1, 2, figsize=(9.0, 1.0 + 0.38 * len(rows)), sharey=True, gridspec_kw={"width_ratios": [1, 1.2]}
    )
    sizes = [r["bytes_per_token"] for r in rows]
    left.barh(y, sizes, color=colors, height=0.6)
    left.set_xscale("log", base=2)
    for yi, b in zip(y, sizes):
        left.annotate(f"{b:.0f}", (b, yi), textcoords="offset points", xytext=(3, -3), fontsize=9)
    left.set_xlabel("stored bytes per document token (log2)")
    left.set_yticks(y, labels, fontsize=9)
    change = [100 * (r[measure] - best) for r in rows]
    right.axvspan(-100 * tolerance, 0, color=COLORS["late"], alpha=0.12, linewidth=0)
    right.barh(y, change, color=colors, height=0.6)
    right.axvline(0, color="0.3", linewidth=0.8)
    for yi, c in zip(y, change):
        right.annotate(
            f"{c:+.2f}",
            (c, yi),
            textcoords="offset points",
            xytext=(3 if c >= 0 else -3, -3),
            fontsize=9,
            ha="left" if c >= 0 else "right",
        )
    right.set_xlabel(f"change in {measure} against {reference_label} (points)")
    low = min(change + [-100 * tolerance])
    right.set_xlim(low * 1.3 - 0.2, max(change + [0]) + 0.6)
    for axis in (left, right):
        axis.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig
