"""Wall-clock timing of single calls, one way everywhere: warm-up, then one timed call per item.

Latency is reported as the median and 95th percentile of single calls, as a search
service would see them one request at a time. ``interleaved`` times several functions
taking turns, so that drift in the machine's speed hits them all alike (for ratios).

Left out: concurrency and throughput under load; every number here is one call at a time.
"""

from __future__ import annotations

import contextlib
import statistics
import time
from collections.abc import Callable, Iterable, Sequence

import numpy as np
import torch


def time_each(fn: Callable, items: Sequence, warmup: int = 2) -> tuple[list, np.ndarray]:
    """Call ``fn`` on every item and time each call.

    The first ``warmup`` items are also called once before, untimed (first calls pay for
    allocations and lazy initialization). Returns the results and the times in ms.

    >>> results, ms = time_each(lambda x: x * 2, [1, 2, 3])
    >>> results, ms.shape
    ([2, 4, 6], (3,))
    """
    for item in items[:warmup]:
        fn(item)
    results, ms = [], []
    for item in items:
        start = time.perf_counter()
        results.append(fn(item))
        ms.append((time.perf_counter() - start) * 1e3)
    return results, np.array(ms)


def median_ms(fn: Callable, items: Sequence, warmup: int = 2) -> float:
    """The median time of one call of ``fn`` over ``items`` (ms); nan when there are none."""
    return float(np.median(time_each(fn, items, warmup)[1])) if len(items) else float("nan")


def percentiles(ms: Iterable[float]) -> dict[str, float]:
    """``p50_ms`` and ``p95_ms`` of some times in ms.

    >>> {k: round(v, 3) for k, v in percentiles([1.0, 2.0, 3.0]).items()}
    {'p50_ms': 2.0, 'p95_ms': 2.9}
    """
    ms = np.asarray(list(ms), dtype=float)
    return {"p50_ms": float(np.median(ms)), "p95_ms": float(np.percentile(ms, 95))}


def interleaved(fns: dict[str, Callable[[], object]], repeats: int = 15) -> dict[str, float]:
    """Median seconds per call of each function, the functions taking turns (one warm-up each)."""
    for fn in fns.values():
        fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


@contextlib.contextmanager
def threads(n: int):
    """Run torch on ``n`` threads inside the block, then restore the count (the index's
    search uses torch's pool only; ``bench/run.py`` also pins OpenMP and the BLAS).

    >>> before = torch.get_num_threads()
    >>> with threads(1):
    ...     torch.get_num_threads()
    1
    >>> torch.get_num_threads() == before
    True
    """
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
