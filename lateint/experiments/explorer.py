"""The token explorer: an ipywidgets view of which document token each query token matched.

It encodes queries and documents as the reader picks them, so it needs a running
kernel; on a static page only its first state (drawn when the chapter ran) is shown.

Left out: anything not about one query-document pair (the chapters draw the rest).
"""

from __future__ import annotations

import matplotlib.pyplot as plt


def token_explorer(encoder, queries: dict[str, str], ranked: dict[str, list[tuple[str, str]]]):
    """An ipywidgets explorer: pick a query and one of its top documents, see the
    heatmap and the highlighted matches. ``ranked[query_id]`` lists (doc_id, text)."""
    import ipywidgets as widgets
    from IPython.display import HTML, display

    from ..explain import align
    from .plots import heatmap, highlight_html

    query_box = widgets.Dropdown(
        options=[(f"{q}: {t[:70]}", q) for q, t in queries.items()],
        description="query",
        layout={"width": "95%"},
    )
    doc_box = widgets.Dropdown(description="document", layout={"width": "95%"})
    out = widgets.Output()

    def refresh_docs(*_):
        doc_box.options = [(f"#{i + 1} {d}: {t[:60]}", d) for i, (d, t) in enumerate(ranked[query_box.value])]

    def draw(*_):
        if doc_box.value is None:
            return
        text = dict(ranked[query_box.value])[doc_box.value]
        alignment = align(encoder, queries[query_box.value], text)
        with out:
            out.clear_output(wait=True)
            fig = heatmap(alignment)
            display(fig)
            plt.close(fig)
            display(HTML(highlight_html(alignment)))

    query_box.observe(refresh_docs, names="value")
    doc_box.observe(draw, names="value")
    refresh_docs()
    draw()
    return widgets.VBox([query_box, doc_box, out])
