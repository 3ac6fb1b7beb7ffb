"""Showing results on a page: markdown tables and glue of many values at once.

Chapters compute with the library and ``experiments``; this module only formats. A
table is a header and rows of already-formatted cells.

Left out: any number's computation, and figures (``plots.py``).
"""

from __future__ import annotations

from collections.abc import Sequence

from IPython.display import Markdown


def table(header: Sequence[str], rows: Sequence[Sequence[object]], title: str = "") -> Markdown:
    """A markdown table (cells are written with ``str``), with an optional title line above.

    >>> print(table(["a", "b"], [[1, "x"]]).data)
    | a | b |
    |---|---|
    | 1 | x |
    """
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return Markdown((f"{title}\n\n" if title else "") + "\n".join(lines))


def glue_all(values: dict[str, object]) -> None:
    """``myst_nb.glue`` each value under its name, without displaying it."""
    from myst_nb import glue

    for name, value in values.items():
        glue(name, value, display=False)
