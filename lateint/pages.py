"""Documents as page images, cut into a grid of patches.

ColPali {cite}`faysse2024colpali` never reads a document's text: it embeds the page
image, one vector per patch. To try that idea on a text collection, this module draws
each document (title and abstract) onto a page with a real font (DejaVu Sans, which
ships with matplotlib), deterministically, and cuts the page into square patches. Text
rows are as tall as a patch, so every line of text fills one row of patches.

While drawing, it records where every character landed, so that it can say which word
pieces each patch covers (:func:`patch_coverage`): the patch encoder is trained to
give a patch the text encoder's vector of the word pieces under it.

Left out: layout beyond plain wrapped text (columns, figures, tables), hyphenation,
and characters the font cannot draw (drawn as the font's blank box).
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import re
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import matplotlib
import numpy as np
from PIL import Image, ImageDraw, ImageFont
from tqdm.auto import tqdm

FONT = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"


@dataclass(frozen=True)
class PageConfig:
    patch: int = 16  # patch side in pixels; also the height of one text line
    columns: int = 32  # patches per row: the page is patch * columns pixels wide
    max_rows: int = 24  # lines per page; text beyond them is not drawn (counted in Page.cut_chars)
    font_size: int = 11  # pixels; DejaVu Sans at 11 px fits a 16 px line with its descenders
    margin: int = 4  # pixels left and right of the text

    @property
    def width(self) -> int:
        return self.patch * self.columns


@dataclass
class Page:
    """One rendered document.

    ``image`` is (rows * patch, width) uint8, ink 255 on 0; ``char_patch[i]`` is the
    grid index (row * columns + column) of the patch holding character ``i``'s centre,
    -1 for spaces and for characters cut at the page's end.
    """

    image: np.ndarray
    char_patch: np.ndarray
    cut_chars: int


@lru_cache(maxsize=4)
def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONT), size, layout_engine=ImageFont.Layout.BASIC)


@lru_cache(maxsize=4096)
def _advance(char: str, size: int) -> float:
    return _font(size).getlength(char)


def render(text: str, config: PageConfig = PageConfig()) -> Page:
    """Draw ``text`` onto a page, wrapping at spaces (a word longer than a line is split).

    >>> page = render("MaxSim scores every query token.")
    >>> page.image.shape, int(page.image.max()) > 0
    ((16, 512), True)
    >>> sorted(set(page.char_patch.tolist()))[:3]
    [-1, 0, 1]
    """
    if not text.strip():
        raise ValueError("empty document: nothing to draw")
    size, line_width = config.font_size, config.width - 2 * config.margin
    char_x = np.zeros(len(text))  # left edge of each character, from the line's start
    char_row = np.full(len(text), -1)
    row, x = 0, 0.0
    for word in re.finditer(r"\S+", text):
        widths = [_advance(c, size) for c in word.group()]
        if x > 0 and x + sum(widths) > line_width:  # wrap before the word
            row, x = row + 1, 0.0
        for i, w in zip(range(word.start(), word.end()), widths):
            if x + w > line_width:  # a word longer than the line: split it
                row, x = row + 1, 0.0
            char_x[i], char_row[i] = x, row
            x += w
        x += _advance(" ", size)
    rows = min(int(char_row.max()) + 1, config.max_rows)
    cut = char_row >= rows
    char_row[cut] = -1
    image = Image.new("L", (config.width, rows * config.patch), 0)
    draw = ImageDraw.Draw(image)
    font = _font(size)
    top = (config.patch - size) / 2 - 1  # vertical centring of the glyphs in the line
    drawable = np.flatnonzero(char_row >= 0)
    for start, end in _runs(drawable, char_row[drawable]):  # each word (or word part) where the layout put it
        draw.text(
            (config.margin + char_x[start], char_row[start] * config.patch + top),
            text[start : end + 1],
            fill=255,
            font=font,
        )
    widths = np.array([_advance(c, size) for c in text])
    centre = config.margin + char_x + widths / 2
    column = np.clip((centre // config.patch).astype(int), 0, config.columns - 1)
    char_patch = np.where(char_row >= 0, char_row * config.columns + column, -1)
    char_patch[np.array([c.isspace() for c in text], dtype=bool)] = -1
    return Page(np.asarray(image), char_patch, int(cut.sum()))


def _runs(indices: np.ndarray, rows: np.ndarray) -> list[tuple[int, int]]:
    """Stretches of consecutive character indices on one row: words, cut where a line breaks.

    >>> _runs(np.array([0, 1, 2, 4, 5, 6]), np.array([0, 0, 0, 0, 0, 1]))
    [(0, 2), (4, 5), (6, 6)]
    """
    if not len(indices):
        return []
    breaks = np.flatnonzero((np.diff(indices) != 1) | (np.diff(rows) != 0))
    starts = np.concatenate([[indices[0]], indices[breaks + 1]])
    ends = np.concatenate([indices[breaks], [indices[-1]]])
    return list(zip(starts.tolist(), ends.tolist()))


def render_all(
    texts: list[str],
    config: PageConfig = PageConfig(),
    progress: bool | None = None,
    workers: int | None = None,
) -> list[Page]:
    """Pages for many documents (a progress bar for more than 500).

    Drawing is Python and PIL, one core per process: on Linux, ``workers`` forked
    processes share the pages (default: one per core for more than 500 pages). The
    pages are the same whichever process draws them.
    """
    show = progress if progress is not None else len(texts) > 500
    if not _can_fork():
        workers = 1  # elsewhere one process draws them all
    elif workers is None:
        workers = len(os.sched_getaffinity(0)) if len(texts) > 500 else 1
    bar = functools.partial(tqdm, total=len(texts), desc="drawing pages", unit="page", disable=not show)
    draw = functools.partial(render, config=config)
    if workers <= 1:
        return [draw(t) for t in bar(texts)]
    # fork, not spawn: spawn re-runs the caller's script, which a script without a main guard
    # cannot survive; the children only draw (PIL and numpy, never torch's thread pool)
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        return list(bar(pool.map(draw, texts, chunksize=64)))


def _can_fork() -> bool:
    return sys.platform == "linux" and hasattr(os, "sched_getaffinity")


def patches(page: Page, config: PageConfig = PageConfig()) -> np.ndarray:
    """The page cut into patches, shape (rows, columns, patch, patch) uint8."""
    p = config.patch
    rows = page.image.shape[0] // p
    return page.image.reshape(rows, p, config.columns, p).transpose(0, 2, 1, 3)


def inked(page: Page, config: PageConfig = PageConfig()) -> np.ndarray:
    """Bool (rows * columns,): which patches hold any ink (blank patches get no vector)."""
    return patches(page, config).reshape(-1, config.patch * config.patch).max(axis=1) > 0


def patch_coverage(
    page: Page, piece_spans: list[tuple[int, int]], config: PageConfig = PageConfig()
) -> np.ndarray:
    """How many characters of each word piece fall in each patch.

    Parameters
    ----------
    page : Page
    piece_spans : list of (start, end)
        Character span of each word piece in the drawn text (a tokenizer's offsets).

    Returns
    -------
    np.ndarray
        Counts, shape (rows * columns, n_pieces), float32.

    >>> page = render("late interaction")
    >>> counts = patch_coverage(page, [(0, 4), (5, 16)])
    >>> counts.sum(axis=0).tolist()                       # every character counted once
    [4.0, 11.0]
    """
    n_patches = (page.image.shape[0] // config.patch) * config.columns
    counts = np.zeros((n_patches, len(piece_spans)), dtype=np.float32)
    for j, (start, end) in enumerate(piece_spans):
        where = page.char_patch[start:end]
        np.add.at(counts[:, j], where[where >= 0], 1.0)
    return counts
