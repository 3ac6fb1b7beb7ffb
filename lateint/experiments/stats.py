"""How sure a difference is: the paired bootstrap over queries, the book's one test.

Two systems run on the same queries give two numbers per query (nDCG@10, say). The
difference of their means is a finding only if it would survive another draw of
queries like these. The paired bootstrap (Efron and Tibshirani, 1993) answers that by
resampling the queries with replacement, 10,000 times with a fixed seed, and taking
the 2.5th and 97.5th percentiles of the mean per-query difference: a 95% interval.
An interval that contains 0 is a tie, and the book writes it as one.

The chapters link to one description of the method (``book/methods.md``). Left out:
corrections for many comparisons; the chapters test only the points their text names.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

SEED = 0
RESAMPLES = 10_000


@dataclass(frozen=True)
class Difference:
    """Mean of ``a - b`` over queries and its 95% paired-bootstrap interval."""

    mean: float
    low: float
    high: float
    n_queries: int

    @property
    def tie(self) -> bool:
        """The interval contains 0: neither system is shown to be better."""
        return self.low <= 0.0 <= self.high

    @property
    def a_better(self) -> bool:
        return self.low > 0.0

    @property
    def b_better(self) -> bool:
        return self.high < 0.0

    def __format__(self, spec: str) -> str:
        """``f"{d:.3f}"`` gives ``+0.042 (95% interval +0.011 to +0.070)``."""
        return interval_text(self.mean, self.low, self.high, spec or ".3f")


def interval_text(mean: float, low: float, high: float, spec: str = ".3f") -> str:
    """A difference and its 95% interval as the pages write them (also for one read back
    from a record, which keeps the numbers only).

    >>> interval_text(0.0421, 0.0109, 0.0702)
    '+0.042 (95% interval +0.011 to +0.070)'
    """
    return f"{mean:+{spec}} (95% interval {low:+{spec}} to {high:+{spec}})"


def paired_bootstrap(a: Sequence[float], b: Sequence[float], seed: int = SEED) -> Difference:
    """The 95% paired-bootstrap interval of ``mean(a - b)``, resampling queries.

    ``a[i]`` and ``b[i]`` belong to the same query (see :func:`per_query_pair`).

    >>> d = paired_bootstrap([0.9, 0.8, 0.7, 1.0] * 10, [0.5, 0.6, 0.4, 0.5] * 10)
    >>> round(d.mean, 3), d.a_better, d.tie
    (0.35, True, False)
    >>> paired_bootstrap([1.0, 0.0, 1.0, 0.0], [0.0, 1.0, 0.0, 1.0]).tie
    True
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(
            f"need two equally long lists of per-query values; got shapes {a.shape} and {b.shape}"
        )
    if len(a) < 2:
        raise ValueError("a bootstrap needs at least two queries")
    diff = a - b  # (n_queries,)
    if np.all(diff == diff[0]):  # every resample gives the same mean: the interval is that point
        return Difference(float(diff[0]), float(diff[0]), float(diff[0]), len(diff))
    result = stats.bootstrap(
        (diff,),
        np.mean,
        n_resamples=RESAMPLES,
        confidence_level=0.95,
        method="percentile",
        rng=np.random.default_rng(seed),
    )
    interval = result.confidence_interval
    return Difference(float(diff.mean()), float(interval.low), float(interval.high), len(diff))


def per_query_pair(a: Mapping[str, float], b: Mapping[str, float]) -> tuple[list[float], list[float]]:
    """Two ``{query_id: value}`` maps as two lists in the same query order.

    Both must cover the same queries: a query missing from one system is an error, not
    a silent drop.

    >>> per_query_pair({"q1": 1.0, "q2": 0.5}, {"q2": 0.0, "q1": 0.25})
    ([1.0, 0.5], [0.25, 0.0])
    """
    if set(a) != set(b):
        raise ValueError(f"the two systems were judged on different queries ({len(set(a) ^ set(b))} differ)")
    order = sorted(a)
    return [a[q] for q in order], [b[q] for q in order]


def compare(a: Mapping[str, float], b: Mapping[str, float], seed: int = SEED) -> Difference:
    """``paired_bootstrap`` of two systems' ``{query_id: value}`` maps."""
    return paired_bootstrap(*per_query_pair(a, b), seed=seed)
