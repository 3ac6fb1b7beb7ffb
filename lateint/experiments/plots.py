"""Figures the chapters show. Drawing only: every number comes in as an argument.

Left out: any retrieval logic (it lives in the modules that compute the numbers).
"""

from __future__ import annotations

import html
import textwrap
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import FancyArrowPatch
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from .speed import pareto_front

COLORS = {"bm25": "#4C72B0", "dense": "#DD8452", "late": "#55A868", "zeroshot": "#8172B3"}


def three_ways(example):
    """The three ways to score one query against one document, from real vectors.

    ``example`` is ``compare.three_ways``'s result. Top: BM25 adds a weight for each
    query term the document holds (rare terms weigh more). Middle: one vector each,
    every token averaged into one arrow, and the cosine between the two arrows (drawn
    in the plane the two arrows span, so the angle shown is the true one; each token
    is its shadow on that plane). Bottom: late interaction's token-by-token matrix,
    each query token's best document token boxed, the maxima summed into MaxSim.
    """
    a = example.alignment
    fig = plt.figure(figsize=(7.6, 12), layout="constrained")
    grid = fig.add_gridspec(3, 2, height_ratios=[0.8, 1.0, 1.25], width_ratios=[1, 0.12])
    doc = textwrap.shorten(example.doc, 150, placeholder=" ...")
    fig.suptitle(
        textwrap.fill(f"Query: \u201c{example.query}\u201d", 84)
        + "\n"
        + textwrap.fill(f"Document {example.doc_id}: \u201c{doc}\u201d", 84),
        fontsize=10,
        x=0.01,
        ha="left",
    )

    # 1. BM25: one bar per query term occurrence.
    ax = fig.add_subplot(grid[0, :])
    terms = example.terms
    ys = np.arange(len(terms))[::-1]
    weights = [w for _, _, w in terms]
    ax.barh(ys, weights, color=COLORS["bm25"], height=0.7)
    for y, w in zip(ys, weights):
        note = f"{w:.2f}" if w > 0 else "not in this document: 0"
        ax.text(w + max(weights + [1]) * 0.01, y, note, va="center", fontsize=9)
    ax.set_yticks(ys, [f"{t}  (in {n:,} docs)" for t, n, _ in terms], fontsize=9)
    ax.set_xlim(0, max(weights + [1]) * 1.35)
    ax.set_xlabel("weight in this document (rarer terms weigh more)", fontsize=9)
    ax.tick_params(axis="x", labelsize=9)
    _panel_title(
        ax,
        "1  Full text (BM25)",
        COLORS["bm25"],
        f"look up each query term, add its weight:  score = {example.bm25_score:.2f}",
    )
    ax.spines[["top", "right"]].set_visible(False)

    # 2. One pooled vector each: draw everything in the plane of the two pooled vectors.
    ax = fig.add_subplot(grid[1, :])
    e1 = example.query_vector / np.linalg.norm(example.query_vector)
    e2 = example.doc_vector - (example.doc_vector @ e1) * e1
    e2 = e2 / max(np.linalg.norm(e2), 1e-9)
    plane = np.stack([e1, e2])  # (2, hidden)
    qt, dt = example.query_token_vectors @ plane.T, example.doc_token_vectors @ plane.T  # (n, 2)
    circle = ax.add_patch(plt.Circle((0, 0), 1, fill=False, color="0.8", linewidth=1))
    circle.set_in_layout(False)  # clipped to the axes: its hidden part must not widen the image
    ax.scatter(
        dt[:, 0],
        dt[:, 1],
        s=8,
        color=COLORS["dense"],
        alpha=0.35,
        linewidths=0,
        label=f"document's {len(dt)} tokens",
    )
    ax.scatter(
        qt[:, 0],
        qt[:, 1],
        s=22,
        color=COLORS["bm25"],
        alpha=0.9,
        linewidths=0,
        label=f"query's {len(qt)} tokens",
    )
    q2, d2 = plane @ example.query_vector, plane @ example.doc_vector
    for vec, color, label in ((q2, COLORS["bm25"], "query vector"), (d2, COLORS["dense"], "document vector")):
        ax.add_patch(
            FancyArrowPatch(
                (0, 0), tuple(vec), arrowstyle="-|>", mutation_scale=16, color=color, linewidth=2.4
            )
        )
        ax.annotate(
            label,
            tuple(vec),
            fontsize=10,
            color=color,
            weight="bold",
            xytext=(6, -4),
            textcoords="offset points",
        )
    ax.set_aspect("equal")
    angle = np.degrees(np.arccos(np.clip(example.cosine, -1, 1)))
    ax.annotate(
        f"{angle:.0f}\u00b0",
        (0.22 * np.cos(np.radians(angle / 2)), 0.22 * np.sin(np.radians(angle / 2))),
        fontsize=10,
        ha="center",
        va="center",
    )
    ax.set_xlim(-0.3, 1.9)
    ax.set_ylim(-0.35, 1.1)
    ax.axis("off")
    ax.legend(fontsize=9, loc="lower right", frameon=False)
    _panel_title(
        ax,
        "2  One vector (dense)",
        COLORS["dense"],
        f"average all tokens into one arrow per text:  score = cosine = {example.cosine:.2f}",
    )

    # 3. Late interaction: the matrix, each row's maximum boxed, the maxima summed.
    ax = fig.add_subplot(grid[2, 0])
    sim = a.sim.numpy()
    matched = sorted(set(a.best_index.tolist()))
    cols = (
        matched
        if len(matched) > 18
        else sorted({c + d for c in matched for d in (-1, 0, 1) if 0 <= c + d < sim.shape[1]})[:22]
    )
    cols = sorted(set(cols) | set(matched))
    image = ax.imshow(sim[:, cols], cmap="Greens", aspect="auto", vmin=0, vmax=1)
    col_of = {c: i for i, c in enumerate(cols)}
    for row, j in enumerate(a.best_index.tolist()):
        ax.add_patch(
            plt.Rectangle((col_of[j] - 0.5, row - 0.5), 1, 1, fill=False, edgecolor="black", linewidth=1.6)
        )
    ax.set_yticks(range(sim.shape[0]), a.query_tokens, fontsize=9)
    ax.set_xticks(range(len(cols)), [a.doc_tokens[c] for c in cols], rotation=90, fontsize=9)
    ax.set_xlabel(
        f"document tokens: the best matches and their neighbours\n({len(cols)} of the {sim.shape[1]} "
        "with a vector; punctuation has none)",
        fontsize=9,
    )
    _panel_title(
        ax,
        "3  Late interaction (MaxSim)",
        COLORS["late"],
        f"each query token keeps its best match (boxed); sum:  score = {a.score:.2f}",
    )
    side = fig.add_subplot(grid[2, 1], sharey=ax)
    side.axis("off")
    for row, value in enumerate(a.best_score.tolist()):
        side.text(0.1, row, f"{value:.2f}", va="center", fontsize=9)
    side.text(0.1, sim.shape[0] - 0.2, f"sum\n{a.score:.2f}", va="top", fontsize=10, weight="bold")
    bar = fig.colorbar(image, ax=side, location="right", fraction=0.6, shrink=0.5, anchor=(0, 1))
    bar.set_label("cosine", fontsize=9)
    bar.ax.tick_params(labelsize=9)
    return fig


def _panel_title(ax, name: str, color: str, how: str) -> None:
    """A panel's name in its colour, and one line on how it scores."""
    ax.set_title(f"{how}", fontsize=10, loc="left", pad=4)
    ax.annotate(
        name,
        (0, 1),
        xycoords="axes fraction",
        xytext=(0, 22),
        textcoords="offset points",
        fontsize=12,
        weight="bold",
        color=color,
    )


def metric_bars(
    table: dict[str, dict[str, float]],
    metric: str,
    labels: dict[str, str] | None = None,
    reference: dict[str, float] | None = None,
    reference_label: str = "published",
):
    """Grouped bars: ``table[collection][method]`` values of one metric, each bar
    labelled with its value; the legend sits below the axes.

    ``reference`` optionally marks a published figure per collection (a dashed line,
    labelled ``reference_label`` and its value).
    """
    collections = list(table)
    methods = list(dict.fromkeys(m for c in collections for m in table[c]))
    width = 0.8 / len(methods)
    fig, ax = plt.subplots(figsize=(min(7.6, 2.0 + 2.6 * len(collections)), 4.4))
    for i, m in enumerate(methods):
        xs = np.arange(len(collections)) + (i - (len(methods) - 1) / 2) * width
        values = [table[c].get(m, np.nan) for c in collections]
        bars = ax.bar(
            xs, values, width * 0.92, label=(labels or {}).get(m, m), color=COLORS.get(m.split(":")[0], None)
        )
        ax.bar_label(bars, fmt="%.3f", fontsize=9, label_type="center", rotation=90, color="white")
    for j, c in enumerate(collections):
        if reference and c in reference:
            ax.hlines(reference[c], j - 0.45, j + 0.45, colors="0.3", linestyles="dashed", linewidth=1)
            ax.annotate(
                f"{reference_label}\n{reference[c]:.3f}",
                (j + 0.45, reference[c]),
                xytext=(3, 0),
                textcoords="offset points",
                va="center",
                fontsize=9,
                color="0.3",
            )
    ax.set_xticks(np.arange(len(collections)), collections, fontsize=10)
    ax.set_ylabel(metric, fontsize=10)
    ax.tick_params(labelsize=9)
    ax.set_ylim(0, max(0.01, np.nanmax([v for c in table.values() for v in c.values()])) * 1.25)
    ax.legend(fontsize=9, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=2, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig


def cost_quality(points: dict[str, tuple[float, float, float]], title: str = ""):
    """Scatter of query time (ms, log x) against nDCG@10; marker area ~ index size.

    ``points[method] = (query_ms, ndcg, index_mib)``.
    """
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    for method, (ms, ndcg, mb) in points.items():
        ax.scatter(ms, ndcg, s=40 + 8 * np.sqrt(mb * 100), color=COLORS.get(method.split(":")[0]), alpha=0.8)
        ax.annotate(
            f"{method}\n{mb:.1f} MiB", (ms, ndcg), textcoords="offset points", xytext=(8, -4), fontsize=9
        )
    ax.set_xscale("log")
    ax.margins(x=0.25, y=0.2)  # room for the largest marker and its label inside the axes
    ax.set_xlabel("median time per query (ms, log scale)")
    ax.set_ylabel("nDCG@10")
    ax.set_title(title, fontsize=10)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig


def heatmap(alignment, title: str = "", max_columns: int = 30):
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
    fig, ax = plt.subplots(figsize=(min(7.6, 2.2 + 0.22 * len(cols)), 1.3 + 0.24 * sim.shape[0]))
    image = ax.imshow(sim[:, cols], cmap="viridis", aspect="auto", vmin=min(0, sim.min()), vmax=1)
    col_of = {c: i for i, c in enumerate(cols)}
    for row, j in enumerate(alignment.best_index.tolist()):
        ax.add_patch(
            plt.Rectangle((col_of[j] - 0.5, row - 0.5), 1, 1, fill=False, edgecolor="red", linewidth=1.6)
        )
    for i in range(1, len(cols)):
        if cols[i] != cols[i - 1] + 1:  # columns skipped here
            ax.axvline(i - 0.5, color="white", linewidth=2)
    ax.set_yticks(range(sim.shape[0]), alignment.query_tokens, fontsize=9)
    ax.set_xticks(range(len(cols)), [alignment.doc_tokens[c] for c in cols], rotation=90, fontsize=9)
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
    everything; the right panel zooms on the curves and labels their fronts' settings,
    each label where it collides with no other label or point (a label with no free
    spot is left out). ``reference`` draws a horizontal line at (ndcg, label).
    """
    fig, (ax, zoom) = plt.subplots(1, 2, figsize=(7.6, 5.3))
    markers = dict(zip(points, "*PXhd^v<>"))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for panel in (ax, zoom):
        for (name, rows), color in zip(curves.items(), colors):
            front = pareto_front(rows)
            panel.scatter(
                [r[0] for r in rows], [r[1] for r in rows], s=12, color=color, alpha=0.35, linewidths=0
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
            panel.axhline(reference[0], color="0.5", linestyle="dotted", linewidth=1.2, label=reference[1])
        panel.set_xscale("log")
        panel.set_xlabel("median ms per query,\nencoding included (log)")
        panel.spines[["top", "right"]].set_visible(False)
    index_points = [r for rows in curves.values() for r in rows]
    xs, ys = [r[0] for r in index_points], [r[1] for r in index_points]
    zoom.set_xlim(min(xs) / 1.3, max(xs) * 1.3)
    low = min(min(ys), reference[0] if reference else min(ys))
    high = max(max(ys), reference[0] if reference else max(ys))
    span = high - low or 0.01
    zoom.set_ylim(low - 0.1 * span, high + 0.15 * span)
    ax.set_ylabel("nDCG@10")
    zoom.set_title("zoom on the index and MUVERA", fontsize=10)
    for panel in (ax, zoom):
        _plain_log_ticks(panel.xaxis, *panel.get_xlim())
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=9, loc="lower center", ncol=2, frameon=False)
    fig.tight_layout(rect=(0, 0.22, 1, 1))  # room below the panels for the legend
    labels = [
        (ms, ndcg, label, color)
        for (_, rows), color in zip(curves.items(), colors)
        for ms, ndcg, label in pareto_front(rows)
    ]
    place_labels(zoom, labels, obstacles=[(r[0], r[1]) for r in index_points])
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
    fig, ax = plt.subplots(figsize=(7.2, 4.4))  # shown in a dropdown: a narrower box
    grid = np.geomspace(min(tokens), extrapolate_to, 50)
    for name, (ms, (a, b)) in series.items():
        line = ax.plot(grid, a * grid**b, linestyle="dashed", linewidth=1)[0]
        ax.scatter(tokens, ms, color=line.get_color(), zorder=3, label=f"{name}: ms ~ tokens^{b:.2f}")
    for x, y in (marks or {}).values():
        ax.scatter([x], [y], marker="*", s=90, color="black", zorder=3)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("document token vectors in the corpus (log)")
    ax.set_ylabel("ms per query (log)")
    ax.legend(fontsize=9, frameon=False, loc="upper left")
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    left = [(-6, 0, "right", "center"), (-6, 6, "right", "bottom"), (-6, -6, "right", "top")]
    place_labels(ax, [(x, y, label, "black") for label, (x, y) in (marks or {}).items()], offsets=left)
    return fig


def size_quality(
    rows: Sequence[dict],
    reference_label: str = "fp32",
    measure: str = "nDCG@10",
    tolerance: float = 0.01,
    highlight: str | None = None,
    intervals: dict[str, tuple[float, float]] | None = None,
):
    """One row per storage, smallest at the top: stored bytes per token (left, log) and
    the change in ``measure`` against the reference, in points (right), with a band at
    ``tolerance`` below it. ``highlight`` names a storage to colour (the knee);
    ``intervals`` maps a storage to its change's 95% interval in points (whiskers)."""
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
        1, 2, figsize=(7.6, 1.2 + 0.4 * len(rows)), sharey=True, gridspec_kw={"width_ratios": [1, 1.2]}
    )
    sizes = [r["bytes_per_token"] for r in rows]
    left.barh(y, sizes, color=colors, height=0.6)
    left.set_xscale("log", base=2)
    for yi, b in zip(y, sizes):
        left.annotate(f"{b:.0f}", (b, yi), textcoords="offset points", xytext=(3, -3), fontsize=9)
    left.set_xlabel("bytes per document token (log scale)")
    left.set_yticks(y, labels, fontsize=9)
    change = [100 * (r[measure] - best) for r in rows]
    right.axvspan(-100 * tolerance, 0, color=COLORS["late"], alpha=0.12, linewidth=0)
    right.barh(y, change, color=colors, height=0.6)
    right.axvline(0, color="0.3", linewidth=0.8)
    spans = [(intervals or {}).get(r["label"], (c, c)) for r, c in zip(rows, change)]
    if intervals:
        lo, hi = np.array(spans).T
        right.errorbar(
            change,
            y,
            xerr=[np.array(change) - lo, hi - np.array(change)],
            fmt="none",
            ecolor="0.2",
            elinewidth=1.0,
            capsize=2.5,
        )
    for yi, c, (lo, hi) in zip(y, change, spans):
        right.annotate(
            f"{c:+.2f}",
            (min(c, lo) if c < 0 else max(c, hi), yi),
            textcoords="offset points",
            xytext=(3 if c >= 0 else -3, -3),
            fontsize=9,
            ha="left" if c >= 0 else "right",
        )
    whiskers = "\nwhiskers: 95% interval" if intervals else ""
    right.set_xlabel(f"change in {measure} vs {reference_label} (points){whiskers}")
    low = min(change + [lo for lo, _ in spans] + [-100 * tolerance])
    high = max([hi for _, hi in spans] + change + [0])
    right.set_xlim(low * 1.3 - 0.4, high + 0.8)
    for axis in (left, right):
        axis.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig


def residual_code(example, dims: int = 32):
    """One real token vector as a 2-bit residual code stores it (``size.residual_example``).

    Four aligned strips over the first ``dims`` dimensions, on one scale: the vector; its
    nearest centroid (stored as an id); the residual (vector minus centroid, dots), the
    bucket each dimension falls in (shaded, between the cutoffs), the bucket's decoded
    value (bar) and the stored bits (tick labels); and the decoded vector (centroid plus
    bucket values, times the stored scale) against the original (black ticks).
    """
    e = example
    dims = min(dims, len(e.original))
    x = np.arange(dims)
    fig, axes = plt.subplots(4, 1, figsize=(7.6, 8.4), height_ratios=[1, 1, 1.35, 1], layout="constrained")
    shown = (e.original, e.centroid, e.decoded, e.residual, e.cutoffs, e.bucket_values)
    top = 1.1 * max(np.abs(v[..., :dims]).max() for v in shown)  # one scale for all four strips
    dim, total = len(e.original), e.id_bytes + e.code_bytes

    def strip(ax, title: str, values=None, color=None) -> None:
        ax.set_title(title, fontsize=10, loc="left")
        if values is not None:
            ax.bar(x, values[:dims], color=color, width=0.75)
        ax.set_ylim(-top, top)
        ax.axhline(0, color="0.4", linewidth=0.6)
        ax.set_xlim(-0.6, dims - 0.4)
        ax.tick_params(labelsize=9)
        ax.spines[["top", "right"]].set_visible(False)

    strip(
        axes[0],
        f"1  the token \u201c{e.token}\u201d: {dim} float32 dimensions, {4 * dim} bytes "
        + (f"(first {dims} shown)" if dims < dim else ""),
        e.original,
        "0.55",
    )
    strip(
        axes[1],
        f"2  its nearest centroid, #{e.centroid_id:,} of {e.n_centroids:,}: "
        f"stored as its id, {e.id_bytes} bytes",
        e.centroid,
        COLORS["bm25"],
    )

    ax = axes[2]
    chosen = e.buckets[:dims]  # (dims,) the stored code of each dimension
    edges = np.vstack([np.full(dim, -np.inf), e.cutoffs, np.full(dim, np.inf)])  # (2**bits + 1, dim)
    low, high = np.clip(edges[chosen, x], -top, None), np.clip(edges[chosen + 1, x], None, top)
    ax.bar(x, high - low, bottom=low, width=0.9, color=COLORS["dense"], alpha=0.22, linewidth=0)
    for c in e.cutoffs[:, :dims]:
        ax.hlines(c, x - 0.45, x + 0.45, color="0.35", linewidth=0.8)
    ax.bar(x, e.bucket_values[chosen, x], width=0.5, color=COLORS["dense"])
    ax.scatter(x, e.residual[:dims], s=14, color="black", zorder=3)
    strip(
        ax,
        f"3  residual = vector \u2212 centroid (dots), {2**e.bits} buckets per dimension (cut at the "
        f"lines):\n    the bucket it falls in (shaded) is stored as {e.bits} bits (below), "
        f"{dim} \u00d7 {e.bits} bits = {e.code_bytes} bytes,\n    and decodes to the bucket's mean (bar)",
    )
    ax.set_xticks(x, [format(int(b), f"0{e.bits}b") for b in chosen], fontsize=9, family="monospace")

    strip(
        axes[3],
        f"4  decoded = (centroid + bucket values) x stored scale (bars), against the vector "
        f"(black):\n    {total} bytes, cosine {e.cosine:.3f} to the original",
        e.decoded,
        COLORS["late"],
    )
    axes[3].hlines(e.original[:dims], x - 0.42, x + 0.42, color="black", linewidth=1.6)
    axes[3].set_xlabel("dimension", fontsize=9)
    for ax in (axes[0], axes[1], axes[3]):
        ax.set_xticks(x[::4])
    return fig


# -- thinking tokens (book/05_thinking_tokens) --------------------------------------------

MASK_COLOR = "#E8000B"  # the [MASK] rows and what they hit


def mask_rows(alignment, rows: Sequence[int], max_columns: int = 26):
    """One query with [MASK] tokens against one document: the MaxSim matrix with the mask
    rows marked, and where each row's maximum lands.

    Rows are the query's vectors (``rows`` are the [MASK] ones, below a line); columns are
    the document tokens some row matches, with neighbours while they fit ``max_columns``.
    Each row's maximum is boxed (white for the query's own tokens, red for the masks);
    a document token a mask row hits is written in red. The right margin gives each row's
    maximum and what the mask rows add up to.
    """
    sim = alignment.sim.numpy()
    best = alignment.best_index.tolist()
    matched = sorted(set(best))
    cols = sorted({c + d for c in matched for d in (-1, 0, 1) if 0 <= c + d < sim.shape[1]})
    if len(cols) > max_columns:
        cols = sorted(set(matched) | {c + 1 for c in matched if c + 1 < sim.shape[1]})
    if len(cols) > max_columns:
        cols = matched
    col_of = {c: i for i, c in enumerate(cols)}
    masks = set(rows)
    hit_by_mask = {best[r] for r in rows}
    n_rows = sim.shape[0]
    fig = plt.figure(figsize=(min(7.6, 3.2 + 0.2 * len(cols)), 2.2 + 0.3 * n_rows), layout="constrained")
    grid = fig.add_gridspec(1, 2, width_ratios=[max(4, len(cols)), 3.6])
    ax = fig.add_subplot(grid[0, 0])
    image = ax.imshow(sim[:, cols], cmap="viridis", aspect="auto", vmin=min(0.0, float(sim.min())), vmax=1)
    for row, j in enumerate(best):
        color = MASK_COLOR if row in masks else "white"
        ax.add_patch(
            plt.Rectangle((col_of[j] - 0.5, row - 0.5), 1, 1, fill=False, edgecolor=color, linewidth=2)
        )
    for i in range(1, len(cols)):
        if cols[i] != cols[i - 1] + 1:  # document tokens skipped here
            ax.axvline(i - 0.5, color="white", linewidth=1.5)
    if masks:
        ax.axhline(min(masks) - 0.5, color=MASK_COLOR, linewidth=2)
    ax.set_yticks(range(n_rows), alignment.query_tokens, fontsize=9)
    ax.set_xticks(range(len(cols)), [alignment.doc_tokens[c] for c in cols], rotation=90, fontsize=9)
    for label, row in zip(ax.get_yticklabels(), range(n_rows)):
        if row in masks:
            label.set_color(MASK_COLOR)
            label.set_fontweight("bold")
    for label, c in zip(ax.get_xticklabels(), cols):
        if c in hit_by_mask:
            label.set_color(MASK_COLOR)
            label.set_fontweight("bold")
    ax.set_xlabel(f"document tokens ({len(cols)} of {sim.shape[1]})", fontsize=9)
    ax.set_ylabel("query vectors", fontsize=9)
    ax.tick_params(length=0)
    side = fig.add_subplot(grid[0, 1], sharey=ax)
    side.axis("off")
    side.set_xlim(0, 1)
    for row, (j, value) in enumerate(zip(best, alignment.best_score.tolist())):
        side.text(
            0.02,
            row,
            f"{value:.2f}  {alignment.doc_tokens[j]}",
            va="center",
            fontsize=9,
            color=MASK_COLOR if row in masks else "0.1",
        )
    mask_sum = float(alignment.best_score[list(rows)].sum()) if rows else 0.0
    side.text(0.02, -1.2, "row max, matched token", fontsize=9, va="center", color="0.35")
    side.text(
        0.02,
        n_rows + 0.2,
        f"MaxSim {alignment.score:.2f}\nof which masks {mask_sum:.2f}",
        va="top",
        fontsize=9,
        weight="bold",
    )
    fig.colorbar(image, ax=ax, location="top", fraction=0.04, pad=0.02, shrink=0.6).set_label(
        "cosine", fontsize=9
    )
    return fig


def _mask_axis(ax, counts: Sequence[int]) -> None:
    """A log2 axis of [MASK] counts, ticked at the counts measured (0 drawn at 0.5)."""
    ax.set_xscale("log", base=2)
    ticks = sorted(set(counts))
    ax.set_xticks([max(n, 0.5) for n in ticks], [str(n) for n in ticks])
    ax.minorticks_off()
    ax.set_xlabel("[MASK] tokens appended (log scale)", fontsize=10)


def mask_sweep(sweeps: dict[str, list[dict]]):
    """nDCG@10 (left) and the time of one exhaustive query (right) against the number
    of appended [MASK] tokens (log2; 0 drawn at 0.5), attended (solid) or unattended, as
    ColBERT runs them by default (dashed), one colour per collection.
    ``sweeps[collection]`` is ``augmentation.sweep``'s rows."""
    fig, axes = plt.subplots(1, 2, figsize=(7.6, 3.6))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for (cname, points), color in zip(sweeps.items(), colors):
        base = next(p for p in points if p["n_masks"] == 0)
        for attend, style in ((True, "-"), (False, "--")):
            pts = [base] + [p for p in points if p["attend"] is attend]
            xs = [max(p["n_masks"], 0.5) for p in pts]
            label = f"{cname}, {'attended' if attend else 'unattended (ColBERT default)'}"
            axes[0].plot(xs, [p["nDCG@10"] for p in pts], style, marker="o", color=color, label=label)
            axes[1].plot(xs, [p["query_ms"] for p in pts], style, marker="o", color=color, label=label)
    counts = [p["n_masks"] for points in sweeps.values() for p in points]
    for ax, label in zip(axes, ("nDCG@10 (pool re-ranked)", "ms per exhaustive query")):
        _mask_axis(ax, counts)
        ax.set_ylabel(label, fontsize=10)
        ax.tick_params(labelsize=9)
        ax.spines[["top", "right"]].set_visible(False)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=9, loc="lower center", ncol=2, frameon=False)
    fig.tight_layout(rect=(0, 0.14, 1, 1))
    return fig


def trained_masks(record: dict):
    """The stored ``make bench-thinking`` record: nDCG@10 against appended [MASK] tokens
    (log2; 0 at 0.5), one panel per collection, one line per trained variant (solid:
    trained without masks, dashed: with them; circles: head only, squares: top layer too)."""
    names = record["collections"]
    fig, axes = plt.subplots(1, len(names), figsize=(7.6, 3.8))
    axes = np.atleast_1d(axes)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, cname in zip(axes, names):
        for v, color in zip(record["rows"], colors):
            sweep = v[cname]["sweep"]
            ax.plot(
                [max(int(n), 0.5) for n in sweep],
                list(sweep.values()),
                "--" if v["trained_masks"] else "-",
                marker="o" if v["trains"] == "head" else "s",
                color=color,
                label=v["variant"],
            )
        _mask_axis(ax, record["counts"])
        ax.set_ylabel("nDCG@10 (pool re-ranked)", fontsize=10)
        ax.set_title(cname, fontsize=10)
        ax.tick_params(labelsize=9)
        ax.spines[["top", "right"]].set_visible(False)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=9, loc="lower center", ncol=2, frameon=False)
    fig.tight_layout(rect=(0, 0.16, 1, 1))
    return fig


# -- the training chapter ------------------------------------------------------------


def training_curve(history: Sequence[dict], best_epoch: int | None, message: str = ""):
    """A head's training run from its card: training loss (left) and nDCG@10 on the
    held-out dev queries (right) per epoch, epoch 0 being the start; a dotted line at the
    epoch kept. With no history, an empty figure that says ``message``."""
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(7.6, 3.2))
    if not history:
        for ax in (ax1, ax2):
            ax.set_axis_off()
        fig.text(0.5, 0.5, message, ha="center", va="center", fontsize=11)
        return fig
    trained = [h for h in history if h["loss"] is not None]
    ax1.plot([h["epoch"] for h in trained], [h["loss"] for h in trained], marker="o", color="0.35")
    ax1.set_xlabel("epoch", fontsize=10)
    ax1.set_ylabel("training loss", fontsize=10)
    dev = [(h["epoch"], h["dev_nDCG@10"]) for h in history if np.isfinite(h["dev_nDCG@10"])]
    if dev:
        ax2.plot(*zip(*dev), marker="o", color=COLORS["late"])
    else:
        ax2.text(
            0.5,
            0.5,
            "no dev split: no dev scores",
            ha="center",
            va="center",
            fontsize=10,
            transform=ax2.transAxes,
        )
    if best_epoch is not None:
        ax2.axvline(best_epoch, color="0.5", linestyle="dotted")
    ax2.set_xlabel("epoch (0 = before training)", fontsize=10)
    ax2.set_ylabel("dev nDCG@10", fontsize=10)
    for ax in (ax1, ax2):
        ax.tick_params(labelsize=9)
        ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig


def mixing_curves(
    curves: dict[str, Sequence[tuple[float, float, float]]],
    zero_shot: tuple[float, float],
    chosen: tuple[float, float, float],
    titles: tuple[str, str] = ("SciFact dev", "Cranfield dev half"),
):
    """nDCG@10 of heads between their start (alpha 0) and the trained head (alpha 1), on
    two query sets (left, right). ``curves[label]`` is ``(alpha, left, right)`` points;
    dotted lines mark the ``zero_shot`` start's two values; ``chosen`` (same shape as a
    point) is circled."""
    fig, axes = plt.subplots(1, 2, figsize=(7.6, 3.8))
    for i, (label, points) in enumerate(curves.items()):
        alphas = [p[0] for p in points]
        for ax, column in zip(axes, (1, 2)):
            ax.plot(
                alphas,
                [p[column] for p in points],
                "-" if i == 0 else "--",
                marker="o",
                color=COLORS["late"] if i == 0 else "0.45",
                label=label,
            )
    for ax, value in zip(axes, zero_shot):
        ax.axhline(value, color="0.5", linestyle="dotted")
        ax.text(1.0, value, "zero-shot start ", ha="right", va="bottom", fontsize=9, color="0.35")
    for ax, column in zip(axes, (1, 2)):
        ax.scatter([chosen[0]], [chosen[column]], s=160, facecolors="none", edgecolors="black", zorder=3)
    for ax, title in zip(axes, titles):
        ax.set_xlabel("mixing weight alpha (0 = start, 1 = trained)", fontsize=10)
        ax.set_ylabel("nDCG@10", fontsize=10)
        ax.set_title(title, fontsize=10)
        ax.tick_params(labelsize=9)
        ax.spines[["top", "right"]].set_visible(False)
    axes[0].legend(frameon=False, fontsize=9)
    fig.tight_layout()
    return fig


# -- the ColPali chapter -------------------------------------------------------------


def page_patches(image: np.ndarray, ink: np.ndarray, patch: int, columns: int):
    """A drawn page (``image``: (rows * patch, columns * patch) uint8, ink 255) with its
    patch grid; blank patches (``ink`` False: no vector) shaded."""
    height, width = image.shape
    fig, ax = plt.subplots(figsize=(7.6, 7.6 * height / width))
    ax.imshow(255 - image, cmap="gray", vmin=0, vmax=255)
    for r in range(height // patch + 1):
        ax.axhline(r * patch - 0.5, color="tab:blue", lw=0.3)
    for c in range(columns + 1):
        ax.axvline(c * patch - 0.5, color="tab:blue", lw=0.3)
    for g in np.flatnonzero(~ink):
        r, c = divmod(int(g), columns)
        ax.add_patch(
            plt.Rectangle(
                (c * patch - 0.5, r * patch - 0.5), patch, patch, color="tab:blue", alpha=0.12, lw=0
            )
        )
    ax.set_axis_off()
    fig.tight_layout()
    return fig


def similarity_maps(panels: Sequence[tuple[str, np.ndarray, Sequence[tuple[str, np.ndarray]]]], patch: int):
    """One column per query: ``(label, page image, [(query token, map)])``, each map
    (rows, columns) the token's cosine with every patch (NaN where blank), drawn over
    the page (bright: high), one token per row."""
    n = max(len(maps) for _, _, maps in panels)
    height, width = panels[0][1].shape
    panel_h = 7.6 / len(panels) * height / width
    fig, axes = plt.subplots(n, len(panels), figsize=(7.6, n * (panel_h + 0.35)), squeeze=False)
    for column, (label, image, maps) in enumerate(panels):
        height, width = image.shape
        for ax, (token, m) in zip(axes[:, column], maps):
            ax.imshow(255 - image, cmap="gray", vmin=0, vmax=255)
            cells = np.kron(np.nan_to_num(m, nan=-1), np.ones((patch, patch)))
            ax.imshow(cells, cmap="magma", alpha=0.55, vmin=0, vmax=1, extent=(0, width, height, 0))
            ax.set_title(f"{label}: '{token}', best {np.nanmax(m):.2f}", fontsize=9)
        for ax in axes[:, column]:
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_axis_off()
    fig.tight_layout()
    return fig


def pooling_curve(
    curve: Sequence[tuple[float, float, str]], text: float, bm25: float, marks: dict[int, float]
):
    """nDCG@10 against vectors per page (log x), one point per pooling ``(vectors,
    ndcg, label)``; lines for text late interaction and BM25; ``marks[ratio]`` are the
    vectors per page that have ``ratio`` times fewer vectors than text tokens."""
    fig, ax = plt.subplots(figsize=(7.5, 4.4))
    xs, ys, labels = zip(*curve)
    ax.plot(xs, ys, "o-", color=COLORS["late"], label="patches, pooled r x c")
    for x, y, label in curve:
        ax.annotate(label, (x, y), textcoords="offset points", xytext=(4, 5), fontsize=9)
    ax.axhline(text, color=COLORS["zeroshot"], ls="--", label="text late interaction")
    ax.axhline(bm25, color=COLORS["bm25"], ls=":", label="BM25")
    ax.set_xscale("log")
    ax.margins(x=0.12)
    for i, (ratio, x) in enumerate(marks.items()):
        label = "10x, 20x fewer vectors than text tokens" if i == 0 else None
        ax.axvline(x, color="tab:red", ls=":", lw=1, label=label)
        ax.annotate(
            f"{ratio}x",
            (x, 1.0),
            xycoords=("data", "axes fraction"),
            xytext=(0, 3),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=9,
            color="tab:red",
        )
    ax.set_xlabel("vectors per page (log)", fontsize=10)
    ax.set_ylabel("nDCG@10", fontsize=10)
    ax.tick_params(labelsize=9)
    ax.legend(fontsize=9, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig


# -- placing labels so that none collide (speed chapter's figures) ---------------------

LABEL_OFFSETS = (  # (dx, dy) in points, horizontal and vertical alignment, tried in order
    (5, 3, "left", "bottom"),
    (5, -3, "left", "top"),
    (-5, 3, "right", "bottom"),
    (-5, -3, "right", "top"),
    (0, 7, "center", "bottom"),
    (0, -7, "center", "top"),
)


def place_labels(ax, items, fontsize: float = 9, offsets=LABEL_OFFSETS, obstacles=(), marker_px: float = 4):
    """Label points so that no two labels overlap, none covers a point in ``obstacles``
    ((x, y) in data units) and all stay inside the axes. Each item (x, y, text, color)
    tries ``offsets`` in order and keeps the first free spot; a label with none (or the
    same text already placed nearby) is left out. Call it after the figure's layout is
    final. Returns the labels placed."""
    from matplotlib.transforms import Bbox

    renderer = ax.figure.canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    to_px = ax.transData.transform
    points = [to_px((x, y)) for x, y in obstacles]
    blocked = [
        Bbox.from_extents(px - marker_px, py - marker_px, px + marker_px, py + marker_px) for px, py in points
    ]
    placed = []
    for x, y, text, color in items:
        for dx, dy, ha, va in offsets:
            label = ax.annotate(text, (x, y), xytext=(dx, dy), textcoords="offset points", ha=ha, va=va,
                                fontsize=fontsize, color=color)  # fmt: skip
            box = label.get_window_extent(renderer)
            inside = frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 and box.y1 <= frame.y1
            if inside and not any(box.overlaps(b) for b in blocked):
                placed.append(label)
                blocked.append(box.expanded(1.04, 1.1))
                break
            label.remove()
    return placed


def funnel(stages: Sequence[tuple[str, int, float]], title: str = ""):
    """PLAID's funnel for one query: ``stages`` = [(stage, documents left after it, the
    stage's ms)], from all documents down to the results, as bars on a log scale, each
    labelled with its count, and the stage's time in a column on the right."""
    names = [s[0] for s in stages]
    counts = np.array([max(int(s[1]), 1) for s in stages])
    y = np.arange(len(stages))[::-1]
    fig, ax = plt.subplots(figsize=(7.6, 0.9 + 0.55 * len(stages)))
    colors = plt.cm.Greens(np.linspace(0.3, 0.85, len(stages)))
    ax.barh(y, counts - 0.999, left=1, color=colors, height=0.7)  # bars from 1 on a log axis
    ax.set_xscale("log")
    ax.set_xlim(1, counts.max() * 4)  # room on the right for the counts
    at_right = ax.get_yaxis_transform()  # x in axes fractions, y in data
    ax.text(1.03, y[0] + 0.55, "stage time", transform=at_right, fontsize=10, weight="bold", va="bottom")
    for yi, (_, n, ms) in zip(y, stages):
        ax.annotate(f"{int(n):,}", (max(n, 1), yi), xytext=(5, 0), textcoords="offset points", va="center",
                    fontsize=10)  # fmt: skip
        ax.text(1.03, yi, f"{ms:.2f} ms" if ms > 0 else "-", transform=at_right, va="center", fontsize=10)
    ax.set_yticks(y, names, fontsize=10)
    ax.set_xlabel("documents left after each stage (log scale)")
    ax.tick_params(axis="x", labelsize=9)
    if title:  # above the whole figure, clear of the column header on the right
        fig.suptitle(title, fontsize=10, x=0.01, ha="left")
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig


def stage_bars(rows: dict[str, dict[str, float]]):
    """Median ms per stage of a few ways to search, as stacked horizontal bars: ``rows``
    = {name: {stage: ms}}, stages in search order (a 0 ms stage is one the search has not)."""
    stages = list(next(iter(rows.values())))
    fig, ax = plt.subplots(figsize=(7.6, 1.4 + 0.5 * len(rows)))
    colors = dict(zip(stages, plt.cm.tab10.colors))
    y = np.arange(len(rows))[::-1]
    for yi, times in zip(y, rows.values()):
        left = 0.0
        for stage in stages:
            if times[stage] > 0:
                ax.barh(yi, times[stage], left=left, color=colors[stage], height=0.6)
                left += times[stage]
        ax.annotate(f"{left:.2f} ms", (left, yi), xytext=(5, 0), textcoords="offset points", va="center",
                    fontsize=10)  # fmt: skip
    ax.set_yticks(y, list(rows), fontsize=10)
    ax.set_xlim(0, 1.2 * max(sum(t.values()) for t in rows.values()))
    ax.set_xlabel("median ms per query, by stage")
    used = [s for s in stages if any(t[s] > 0 for t in rows.values())]
    ax.legend([plt.Rectangle((0, 0), 1, 1, color=colors[s]) for s in used], used, ncol=3, fontsize=9,
              loc="lower left", bbox_to_anchor=(0, 1.0), frameon=False)  # fmt: skip
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig


def muvera_partitions(example, width: int = 15):
    """MUVERA on one query and one document (``speed.muvera_example``).

    Left: repetition 0's ``2 ** k_sim`` partitions as a grid. Each cell names its sign
    pattern, the query tokens that fell in it (blue), how many document tokens did
    (orange), and what the cell adds to the encodings' dot product (bold): the query's
    block (the *sum* of its projected tokens) against the document's (their *average*;
    an empty cell takes the nearest token, "filled"). Right: every repetition's total,
    their mean (the encodings' dot product over the number of repetitions) and the
    exact MaxSim of the pair.
    """
    e = example
    n_parts = len(e.per_partition)
    cols = 2 ** ((e.k_sim + 1) // 2)
    rows = n_parts // cols
    fig = plt.figure(figsize=(7.6, 5.4))
    grid_ax, bars = fig.subplots(1, 2, width_ratios=[2.3, 1])
    values = np.asarray(e.per_partition).reshape(rows, cols)
    top = np.abs(values).max() or 1.0
    grid_ax.imshow(
        values, cmap="PiYG", vmin=-2.2 * top, vmax=2.2 * top, aspect="auto"
    )  # pale under black text
    for p in range(n_parts):
        r, c = divmod(p, cols)
        lines = _fit_words([t for t, part in zip(e.query_tokens, e.query_parts) if part == p], width, 3)
        n_doc = int((np.asarray(e.doc_parts) == p).sum())
        grid_ax.text(
            c, r - 0.34, format(p, f"0{e.k_sim}b"), ha="center", va="center", fontsize=9, color="0.4"
        )
        grid_ax.text(c, r - 0.1, "\n".join(lines), ha="center", va="center", fontsize=9, color="#1f4e9c",
                     linespacing=1.0)  # fmt: skip
        doc = f"doc {n_doc}" if n_doc else "doc: filled"
        grid_ax.text(c, r + 0.17, doc, ha="center", va="center", fontsize=9, color="#a34d00")
        grid_ax.text(c, r + 0.36, f"{values[r, c]:+.2f}", ha="center", va="center", fontsize=9, weight="bold")
    grid_ax.set_xticks(np.arange(cols + 1) - 0.5, minor=True)
    grid_ax.set_yticks(np.arange(rows + 1) - 0.5, minor=True)
    grid_ax.grid(which="minor", color="white", linewidth=2)
    grid_ax.tick_params(which="both", length=0, labelbottom=False, labelleft=False)
    grid_ax.set_title(f"repetition 0: {n_parts} partitions, in all {values.sum():+.2f}", fontsize=10)
    grid_ax.set_xlabel(
        "blue: query tokens (summed)   orange: document tokens (averaged)\nbold: the two blocks' dot product",
        fontsize=9,
    )
    reps = np.asarray(e.per_repetition)
    mean = e.fde_dot / len(reps)
    bars.bar(np.arange(len(reps)), reps, color="#9ecae1")
    bars.axhline(mean, color="#1f4e9c", linestyle="dashed", label=f"their mean: {mean:.2f}")
    bars.axhline(e.maxsim, color="black", label=f"exact MaxSim: {e.maxsim:.2f}")
    bars.set_ylim(min(0, reps.min()), 1.3 * max(e.maxsim, reps.max()))
    bars.set_xlabel("repetition")
    bars.set_xticks(np.arange(0, len(reps), 5))
    bars.set_title(f"each of {len(reps)} repetitions", fontsize=10)
    bars.legend(fontsize=9, frameon=False, loc="upper left")
    bars.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig


def _fit_words(words: Sequence[str], width: int, max_lines: int = 2) -> list[str]:
    """Words on at most ``max_lines`` lines of ``width`` characters; what does not fit is
    counted ("+3") on the last line. No words: a dash.

    >>> _fit_words(["bio", "##mate", "##rial", "##s", "show"], 11)
    ['bio ##mate', '##rial +2']
    >>> _fit_words([], 11)
    ['-']
    """
    if not words:
        return ["-"]
    lines, current = [], ""
    for i, word in enumerate(words):
        candidate = f"{current} {word}".strip()
        if len(candidate) <= width or not current:  # a word longer than a line gets one to itself
            current = candidate
            continue
        if len(lines) == max_lines - 1:  # the last line: count what is left
            rest = len(words) - i
            while current and len(f"{current} +{rest}") > width:
                current = current.rpartition(" ")[0]
                rest += 1
            return [*lines, f"{current} +{rest}".strip()]
        lines.append(current)
        current = word
    return [*lines, current]


def _plain_log_ticks(axis, low: float, high: float) -> None:
    """Ticks of a log axis as plain numbers (50, 100, 200): 1, 2, 3, 5 and 7 per decade
    over less than a decade, 1, 2 and 5 over a short span, powers of ten over a long one;
    no minor labels (they collide)."""
    decades = np.log10(high / low)
    subs = (1, 2, 3, 5, 7) if decades < 0.8 else (1, 2, 5) if decades < 1.6 else (1,)
    axis.set_major_locator(LogLocator(base=10, subs=subs))
    axis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    axis.set_minor_formatter(NullFormatter())
