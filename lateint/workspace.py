"""Work buffers that a search reuses from one query to the next.

Every query of a search needs the same few arrays: its similarity to every centroid, a
lookup table, blocks of token similarities, the gathered document blocks of an exhaustive
search (about 150 MB each on SciFact). Allocated afresh per query, a block above glibc's
mmap threshold (at most 32 MB) is mapped anew each time and zero-filled page by page, and
smaller ones may be too, depending on what the process did before. A ``Workspace`` keeps
each buffer: allocated once at the largest size asked for so far, then written with
``out=``. One exhaustive SciFact query (encoding included) took 350-450 ms with fresh
buffers and 220-230 ms with kept ones, in a plain script and in a notebook kernel alike.

Use one workspace per thread that searches; ``maxsim``, ``maxsim_packed``,
``TokenVectors.select``, ``PlaidIndex.search`` and ``MuveraIndex.search`` take one (the
searches make their own when given none).

>>> ws = Workspace()
>>> a = ws.get("scores", (2, 3))
>>> b = ws.get("scores", (3, 2))  # the same memory, viewed anew
>>> a.data_ptr() == b.data_ptr(), ws.nbytes
(True, 24)
"""

from __future__ import annotations

import math

import torch


class Workspace:
    """Named buffers, grown on demand and never shrunk."""

    def __init__(self) -> None:
        self._buffers: dict[tuple[str, torch.dtype], torch.Tensor] = {}

    def get(self, name: str, shape: tuple[int, ...], dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """A tensor of ``shape`` backed by the buffer ``name`` (uninitialized: write it with
        ``out=``, ``copy_`` or ``fill_``). A later ``get`` of the same name reuses the memory."""
        size = math.prod(shape)
        buffer = self._buffers.get((name, dtype))
        if buffer is None or buffer.numel() < size:
            buffer = torch.empty(size, dtype=dtype)
            self._buffers[(name, dtype)] = buffer
        return buffer[:size].view(shape)

    @property
    def nbytes(self) -> int:
        return sum(b.numel() * b.element_size() for b in self._buffers.values())
