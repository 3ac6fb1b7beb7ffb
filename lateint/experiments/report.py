"""Showing results on a page: HTML tables and glue of many values at once.

Chapters compute with the library and ``experiments``; this module only formats. A
table is a header and rows of cells, numbers already formatted as the page should show
them. Columns whose every cell reads as a number are right-aligned, and ``best`` marks
the best value of a column in bold (``"max"`` or ``"min"``). Tables are HTML, so every
renderer shows them as tables; a long one can be collapsed under a summary line.

Left out: any number's computation, and figures (``plots.py``).
"""

from __future__ import annotations

import html
import re
import time
import warnings
from collections.abc import Sequence

import numpy as np
import torch

from ..encoder import TruncationWarning

_NUMBER = re.compile(r"[+-]?[\d,]*\.?\d+(?:e[+-]?\d+)?")


def number(cell: object) -> float | None:
    """The number a formatted cell shows, or None.

    >>> number("1,024.5"), number("+0.12"), number("3.1 (x2)"), number("-")
    (1024.5, 0.12, None, None)
    """
    text = str(cell).strip()
    if not _NUMBER.fullmatch(text):
        return None
    return float(text.replace(",", ""))


class Table:
    """An HTML table that also prints as text (for papermill and the console)."""

    def __init__(
        self,
        header: Sequence[str],
        rows: Sequence[Sequence[object]],
        title: str = "",
        best: dict[str, str] | None = None,
        collapsed: str = "",
    ):
        self.header, self.rows = list(header), [list(r) for r in rows]
        self.title, self.best, self.collapsed = title, best or {}, collapsed
        unknown = set(self.best) - set(self.header)
        if unknown:
            raise ValueError(f"best= names columns not in the table: {sorted(unknown)}")
        if set(self.best.values()) - {"max", "min"}:
            raise ValueError(f'best= takes "max" or "min" per column; got {self.best}')
        if any(len(r) != len(self.header) for r in self.rows):
            raise ValueError(f"every row needs {len(self.header)} cells")

    def numeric(self, column: int) -> bool:
        cells = [r[column] for r in self.rows if str(r[column]).strip() not in ("", "-")]
        return bool(cells) and all(number(c) is not None for c in cells)

    def best_rows(self, column: int) -> set[int]:
        """Rows holding the best value of a column named in ``best`` (ties all marked)."""
        how = self.best.get(self.header[column])
        values = {i: number(r[column]) for i, r in enumerate(self.rows)}
        values = {i: v for i, v in values.items() if v is not None}
        if how is None or not values:
            return set()
        target = max(values.values()) if how == "max" else min(values.values())
        return {i for i, v in values.items() if v == target}

    def _repr_html_(self) -> str:
        right = [self.numeric(j) for j in range(len(self.header))]
        marked = [self.best_rows(j) for j in range(len(self.header))]
        align = lambda j: ' style="text-align: right"' if right[j] else ""  # noqa: E731
        head = "".join(f"<th{align(j)}>{html.escape(h)}</th>" for j, h in enumerate(self.header))
        body = []
        for i, row in enumerate(self.rows):
            cells = []
            for j, cell in enumerate(row):
                text = html.escape(str(cell))
                cells.append(f"<td{align(j)}>{f'<strong>{text}</strong>' if i in marked[j] else text}</td>")
            body.append("<tr>" + "".join(cells) + "</tr>")
        table = f'<div class="lateint-table-wrap"><table class="lateint-table"><thead><tr>{head}</tr></thead>'
        table += f"<tbody>{''.join(body)}</tbody></table></div>"
        title = f"<p>{_inline_markdown(self.title)}</p>" if self.title else ""
        if self.collapsed:
            return f"{title}<details><summary>{html.escape(self.collapsed)}</summary>{table}</details>"
        return title + table

    def __repr__(self) -> str:
        lines = [self.title] if self.title else []
        lines.append(" | ".join(self.header))
        lines += [" | ".join(str(c) for c in r) for r in self.rows]
        return "\n".join(lines)


def table(
    header: Sequence[str],
    rows: Sequence[Sequence[object]],
    title: str = "",
    best: dict[str, str] | None = None,
    collapsed: str = "",
) -> Table:
    """A table to ``display``: ``best`` maps column names to ``"max"`` or ``"min"``;
    ``collapsed`` (a summary line) folds the table away until the reader opens it.

    >>> t = table(["method", "nDCG@10"], [["a", "0.70"], ["b", "0.75"]], best={"nDCG@10": "max"})
    >>> "<strong>0.75</strong>" in t._repr_html_(), 'style="text-align: right"' in t._repr_html_()
    (True, True)
    """
    return Table(header, rows, title, best, collapsed)


def _inline_markdown(text: str) -> str:
    """The little markdown titles use: **bold** and *italic*, escaped otherwise.

    >>> _inline_markdown("**scifact**, 3 < 4 *queries*")
    '<strong>scifact</strong>, 3 &lt; 4 <em>queries</em>'
    """
    text = html.escape(text, quote=False)
    text = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", text)
    return re.sub(r"\*(.+?)\*", r"<em>\1</em>", text)


class Page:
    """What every chapter does around its story: a clock for the page, and the encoder's
    truncation warnings left out of the outputs (the chapters state truncation in prose;
    a warning would print this machine's paths on the page)."""

    def __init__(self):
        self.started = time.perf_counter()
        warnings.simplefilter("ignore", TruncationWarning)

    def glue_runtime(self) -> None:
        """Glue ``page_minutes`` (time since the page started) and ``page_threads``."""
        glue_all(
            {
                "page_minutes": (time.perf_counter() - self.started) / 60,
                "page_threads": torch.get_num_threads(),
            }
        )


def glue_all(values: dict[str, object]) -> None:
    """``myst_nb.glue`` each value under its name, without displaying it. NumPy scalars
    are glued as Python numbers: their repr (``np.float64(0.5)``) would not format."""
    from myst_nb import glue

    for name, value in values.items():
        glue(name, value.item() if isinstance(value, np.generic) else value, display=False)
