"""Showing results on a page: HTML tables, glue of many values at once, and claims.

Chapters compute with the library and ``experiments``; this module only formats. A
table is a header and rows of cells, numbers already formatted as the page should show
them. Columns whose every cell reads as a number are right-aligned, and ``best`` marks
the best value of a column in bold (``"max"`` or ``"min"``). Tables are HTML, so every
renderer shows them as tables; a long one can be collapsed under a summary line.

A claim is a sentence of the page's prose that states a finding ("late interaction
beats BM25 on SciFact"). ``claim`` checks it on the computed values and fails the build,
naming the sentence, when they no longer support it; ``make check-site`` then finds the
sentence on the page word for word. The sentence is written by a person; the code only
checks it.

Left out: any number's computation, and figures (``plots.py``).
"""

from __future__ import annotations

import hashlib
import html
import json
import re
import time
import warnings
from collections.abc import Sequence
from pathlib import Path

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
        table = '<div class="lateint-table-wrap lateint-scroll"><table class="lateint-table">'
        table += f"<thead><tr>{head}</tr></thead>"
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

    def glue_runtime(self, notebook: str | None = None, expected: Sequence[str] = (), loaded=()) -> None:
        """Glue ``page_minutes`` (time since the page started) and ``page_threads``.

        With ``notebook`` (the chapter's file, in the working directory) and the
        collections the page ``expected`` against those it ``loaded``: every
        ``<collection>_...`` value its prose shows for a collection this build could not
        load (the built-in fallback) is glued as nan, so the page still builds and says
        "nan" where a benchmark's number would be."""
        absent = set(expected) - {c.name for c in loaded}
        if notebook and absent and Path(notebook).is_file():
            cells = json.loads(Path(notebook).read_text())["cells"]
            prose = " ".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
            names = set(re.findall(r"\{glue:text\}`([A-Za-z0-9_]+)", prose))
            glue_all({n: float("nan") for n in names if n.split("_")[0] in absent})
        glue_all(
            {
                "page_minutes": (time.perf_counter() - self.started) / 60,
                "page_threads": torch.get_num_threads(),
            }
        )


MIN_FONT_PT = 9  # smallest text a figure may carry: legible at the page's width (figures <= 8 in)
MAX_WIDTH_IN = 7.7  # 770 px at 100 dpi: the page shows figures at up to 776 px (_static/lateint.css)


def saved_width(fig) -> float:
    """Inches the saved image spans: the tight box around everything drawn plus the
    padding ``bbox_inches="tight"`` adds on each side (as the page's figures are saved)."""
    import matplotlib

    fig.canvas.draw()  # runs the layout engine, as saving does
    tight = fig.get_tightbbox(fig.canvas.get_renderer()).width
    return tight + 2 * matplotlib.rcParams["savefig.pad_inches"]


def check_legible(name: str, fig) -> None:
    """Refuse a figure wider than the page's column or with text under ``MIN_FONT_PT``.

    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots(figsize=(4, 3)); _ = ax.set_title("tiny", fontsize=6)
    >>> check_legible("fig_x", fig)
    Traceback (most recent call last):
    ...
    ValueError: fig_x: text 'tiny' is 6.0 pt; figures need at least 9 pt
    >>> plt.close(fig)
    """
    from matplotlib.text import Text

    drawn = saved_width(fig)
    if drawn > MAX_WIDTH_IN + 1e-6:
        raise ValueError(f"{name}: {drawn:.1f} in wide; the page shows at most {MAX_WIDTH_IN} in unshrunk")
    for text in fig.findobj(Text):
        if text.get_visible() and text.get_text().strip() and text.get_fontsize() < MIN_FONT_PT - 1e-6:
            raise ValueError(
                f"{name}: text {text.get_text()[:40]!r} is {text.get_fontsize():.1f} pt; "
                f"figures need at least {MIN_FONT_PT} pt"
            )


def glue_figure(name: str, fig) -> None:
    """Glue a legible figure (``check_legible``) under ``name`` for a ``{glue:figure}``,
    and close it (so it is not shown twice)."""
    import matplotlib.pyplot as plt
    from myst_nb import glue

    prepare_figure(name, fig)
    glue(name, fig, display=False)
    plt.close(fig)


def prepare_figure(name: str, fig) -> None:
    """What the page does to a figure before showing it: ``fit_width``, then
    ``check_legible`` (tests call it to see a figure as the page will)."""
    fit_width(fig)
    check_legible(name, fig)


def fit_width(fig, width: float = MAX_WIDTH_IN) -> None:
    """Narrow ``fig`` until its saved image (``saved_width``: a title that runs past the
    edge included) is at most ``width`` inches wide."""
    for _ in range(4):
        drawn = saved_width(fig)
        if drawn <= width:
            return
        fig.set_size_inches(fig.get_figwidth() - (drawn - width) - 0.02, fig.get_figheight())


def markdown(text: str):
    """A data note (what was loaded, from where) to display as Markdown."""
    from IPython.display import Markdown

    return Markdown(text)


def glue_all(values: dict[str, object]) -> None:
    """``myst_nb.glue`` each value under its name, without displaying it. NumPy scalars
    are glued as Python numbers: their repr (``np.float64(0.5)``) would not format."""
    from myst_nb import glue

    for name, value in values.items():
        glue(name, value.item() if isinstance(value, np.generic) else value, display=False)


class ClaimError(AssertionError):
    """A sentence of the page states a finding that the computed values no longer support."""


CLAIM_PREFIX = "claim_"


def claim(text: str, holds: bool | np.bool_, check: bool = True) -> None:
    """Check a sentence the page states, and record it for the site check.

    ``text`` is the sentence (or clause) exactly as the page's prose shows it, with no
    glued number in it; ``holds`` compares computed values (never a literal ``True``).
    ``check=False`` records the sentence without checking it: for smoke runs and the
    built-in collection, whose few queries cannot support a finding about a benchmark.

    >>> claim("two is more than one", 2 > 1, check=True) is None
    True
    >>> claim("one is more than two", 1 > 2)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lateint.experiments.report.ClaimError: The page says 'one is more than two', but the computed values ...
    """
    if not isinstance(holds, bool | np.bool_):
        raise TypeError(f"claim {text!r}: holds must be a comparison's result, got {type(holds).__name__}")
    if check and not holds:
        raise ClaimError(
            f"The page says {text!r}, but the computed values no longer support it: "
            "rewrite the sentence or find what changed."
        )
    try:
        from myst_nb import glue
    except ImportError:  # outside a book build (a doctest): checking is all there is to do
        return
    digest = hashlib.sha1(text.encode()).hexdigest()[:10]
    glue(CLAIM_PREFIX + digest, text, display=False)


def claims(sentences: dict[str, bool | np.bool_], check: bool = True) -> None:
    """:func:`claim` for each ``{sentence: holds}``, in order."""
    for text, holds in sentences.items():
        claim(text, holds, check)


# one line on every page: the three ways to run it, and where the data come from
RUN_IT = (
    "<strong>Run it:</strong> <code>make lab</code>, or Colab or Binder (the rocket above); "
    "data from <code>python -m lateint.fetch</code>, else the built-in collection."
)


def model_box(encoder, collections=()):
    """The box at the top of a chapter: which model the page runs and what it was trained
    on, read from the model's card (a data note: it lists what was loaded).

    ``collections``: the collections the page searches, each said to be in or out of
    the model's training data.
    """
    from IPython.display import HTML

    from ..checkpoints import HEADS

    card_file = HEADS / encoder.name / "card.json"
    card = json.loads(card_file.read_text()) if card_file.is_file() else None
    lines = [
        f"<strong>Model on this page:</strong> <code>{html.escape(encoder.name)}</code>, "
        f"{encoder.dim}-d vectors."
    ]
    trained_on = set()
    if card is None and encoder.name == "minilm-zeroshot":
        lines.append(
            "all-MiniLM-L6-v2's own token vectors, with no head: trained for nothing here (zero-shot)."
        )
    elif card is None:
        lines.append("A checkpoint from outside this book: what it was trained on is in its own model card.")
    else:
        data_ = card["data"]
        trained_on.add(card["train_config"]["collection"])
        lines.append(f"{html.escape(card['backbone'])}; trained here: {html.escape(card['trained'])}.")
        lines.append(
            f"<strong>Trained on:</strong> {html.escape(data_['train_queries'])} "
            f"(dev: {html.escape(data_['dev_queries'])}) and {data_['title_pairs']:,} "
            "title&#8594;abstract pairs "
            f"from {card['train_config']['collection']}'s corpus, the corpus its test queries search. "
            f"<strong>Never used:</strong> {html.escape(data_['never_used'])}."
        )
    names = [c.name for c in collections]
    seen = [n for n in names if n in trained_on]
    unseen = [n for n in names if n not in trained_on]
    if seen:
        lines.append(f"In domain here: {', '.join(seen)} (its train split was seen, its test split was not).")
    if unseen:
        lines.append(f"Zero-shot here: {', '.join(unseen)} (never seen in training).")
    lines.append(RUN_IT)
    body = " ".join(lines)
    return HTML(
        f'<div class="admonition note lateint-model"><p class="admonition-title">Model</p><p>{body}</p></div>'
    )
