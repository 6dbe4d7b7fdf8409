"""A mergeable, log-bucketed histogram of durations in milliseconds.

Terms
-----
bucket
    Positive values fall in geometric buckets: bucket ``i`` holds ``[LO * G**i, LO * G**(i+1))``
    with ``G = 1.019``. A bucket is reported as its geometric midpoint, so any value from ``LO``
    (1 ns) up to ``HI`` (about 31 simulated years) is reported within ``sqrt(G) - 1`` (0.95%) of
    itself: at most 1% relative error. Zeros are counted apart and reported as 0.
staging
    Values are staged (as lists, or numpy arrays the engine hands over whole) and binned with
    numpy when many are staged or the histogram is read, which costs far less per value than
    binning one by one. The counts are a fixed-size array, so a histogram's size never depends
    on how many values it has seen.
merge
    Adding the counts of two histograms gives the histogram of both sets of values; per-tick
    histograms merge into a run's.
quantile
    The nearest-rank quantile: the smallest value with at least ``ceil(q * n)`` values at or
    below it, as its bucket's midpoint clamped to the exact minimum and maximum seen (the
    maximum itself is exact). ``None`` when there are no values.
"""

from __future__ import annotations

import bisect
import math
from typing import Any

import numpy as np

G = 1.019
LO = 1e-6
HI = 1e13
_LOG_G = math.log(G)
NBUCKETS = int(math.ceil(math.log(HI / LO) / _LOG_G)) + 1
_STAGE_MAX = 1 << 16


class Histogram:
    """Counts of durations (ms) in fixed log buckets, plus exact count, sum, minimum, maximum."""

    __slots__ = ("counts", "zeros", "n", "total", "lo", "hi", "staged", "nstaged")

    def __init__(self) -> None:
        self.counts = np.zeros(NBUCKETS, dtype=np.int64)
        self.zeros = 0
        self.n = 0
        self.total = 0.0
        self.lo = math.inf
        self.hi = -math.inf
        self.staged: list[list[float] | np.ndarray] = []  # in order
        self.nstaged = 0

    def add(self, value: float) -> None:
        staged = self.staged
        if staged and isinstance(staged[-1], list):
            staged[-1].append(value)
        else:
            staged.append([value])
        self.nstaged += 1
        if self.nstaged >= _STAGE_MAX:
            self.flush()

    def add_many(self, values: list[float] | np.ndarray) -> None:
        if len(values):
            self.stage_many(values)
            self.flush()

    def stage_many(self, values: list[float] | np.ndarray) -> None:
        """Stage ``values`` (an array is kept as given: do not change it after), binning what
        is staged once it is many (reads flush it)."""
        self.staged.append(values if isinstance(values, np.ndarray) else list(values))
        self.nstaged += len(values)
        if self.nstaged >= _STAGE_MAX:
            self.flush()

    def add_chunks(self, chunks: list[np.ndarray]) -> None:
        """``add_many`` of the values of ``chunks``, in order."""
        if chunks:
            self.stage_chunks(chunks)
            self.flush()

    def stage_chunks(self, chunks: list[np.ndarray]) -> None:
        """``stage_many`` of the values of ``chunks``, in order, as one."""
        self.staged.extend(chunks)
        self.nstaged += sum(len(c) for c in chunks)
        if self.nstaged >= _STAGE_MAX:
            self.flush()

    def add_zeros(self, count: int) -> None:
        """Count ``count`` values that are exactly 0."""
        if count:
            self.zeros += count
            self.n += count
            self.lo = min(self.lo, 0.0)
            self.hi = max(self.hi, 0.0)

    def flush(self) -> None:
        """Bin the staged values."""
        staged = self.staged
        if not self.nstaged:
            staged.clear()
            return
        if len(staged) == 1:
            arr = np.asarray(staged[0], dtype=np.float64)
        else:
            arr = np.concatenate([np.asarray(v, dtype=np.float64) for v in staged])
        self.staged = []
        self.nstaged = 0
        self.n += arr.size
        self.total += float(arr.sum())
        self.lo = min(self.lo, float(arr.min()))
        self.hi = max(self.hi, float(arr.max()))
        positive = arr > 0.0
        npos = int(np.count_nonzero(positive))
        self.zeros += arr.size - npos
        if npos:
            # floor(log(v / LO) / log G), computed in place (the same operations in order).
            x = np.divide(arr if npos == arr.size else arr[positive], LO)
            np.log(x, out=x)
            np.divide(x, _LOG_G, out=x)
            np.floor(x, out=x)
            idx = x.astype(np.int64)
            np.clip(idx, 0, NBUCKETS - 1, out=idx)
            self.counts += np.bincount(idx, minlength=NBUCKETS)

    def merge(self, other: Histogram) -> None:
        other.flush()
        self.flush()
        self.counts += other.counts
        self.zeros += other.zeros
        self.n += other.n
        self.total += other.total
        self.lo = min(self.lo, other.lo)
        self.hi = max(self.hi, other.hi)

    def count(self) -> int:
        return self.n + self.nstaged

    def mean(self) -> float | None:
        self.flush()
        return self.total / self.n if self.n else None

    def quantile(self, q: float) -> float | None:
        self.flush()
        if not self.n:
            return None
        return self.quantiles((q,))[0]

    def quantiles(self, qs: tuple[float, ...]) -> list[float | None]:
        self.flush()
        if not self.n:
            return [None for _ in qs]
        cum = np.cumsum(self.counts)
        out: list[float | None] = []
        for q in qs:
            rank = max(1, math.ceil(q * self.n - 1e-9))
            if rank <= self.zeros:
                out.append(0.0)
                continue
            if rank >= self.n:  # the largest value is known exactly
                out.append(self.hi)
                continue
            i = int(np.searchsorted(cum, rank - self.zeros))
            out.append(min(max(LO * G ** (i + 0.5), self.lo), self.hi))
        return out

    def fraction_above(self, x: float) -> float | None:
        """The share of values greater than ``x`` (exact at bucket edges, otherwise the bucket
        holding ``x`` counts in proportion to the log-distance, a within-bucket interpolation)."""
        self.flush()
        if not self.n:
            return None
        if x <= 0:
            return (self.n - self.zeros) / self.n
        f = math.log(x / LO) / _LOG_G
        i = int(math.floor(f))
        if i >= NBUCKETS:
            return 0.0
        above = float(self.counts[i + 1:].sum()) + float(self.counts[i]) * (1.0 - (f - i))
        return above / self.n

    def copy(self) -> Histogram:
        self.flush()
        h = Histogram()
        h.counts = self.counts.copy()
        h.zeros, h.n, h.total, h.lo, h.hi = self.zeros, self.n, self.total, self.lo, self.hi
        return h


def bucket(value: float) -> int:
    """The bucket of a positive value."""
    return min(max(int(math.floor(math.log(value / LO) / _LOG_G)), 0), NBUCKETS - 1)


def summarize(values: list[float] | list[np.ndarray], qs: tuple[float, ...]
              ) -> tuple[int, float | None, float | None, list[float | None]]:
    """Count, mean, maximum and quantiles of the few values of one tick (floats, or chunks of
    them as numpy arrays, each sorted, as the engine hands them over), as a histogram of them
    would report them: the nearest-rank value's bucket midpoint, clamped to the exact minimum
    and maximum (the bucket of the r-th smallest value is the r-th smallest bucket, so sorting
    the values replaces counting them). The mean sums the sorted values in order, one after
    another (a running sum, not numpy's pairwise one), on a list or an array alike."""
    if not len(values):
        return 0, None, None, [None for _ in qs]
    if isinstance(values[0], np.ndarray):
        n = sum(len(v) for v in values)
        if n <= _SMALL:  # a few values: Python's sort and sum cost less than numpy's calls
            if len(values) == 1:  # one chunk, sorted already
                return _summarize_list(values[0].tolist(), qs)
            vals: list[float] = []
            for v in values:
                vals.extend(v.tolist())
            vals.sort()  # sorted runs: merged in linear time
            return _summarize_list(vals, qs)
        vals = np.sort(np.concatenate(values)) if len(values) > 1 else values[0]
    else:
        if len(values) <= _SMALL:
            return _summarize_list(sorted(values), qs)
        vals = np.sort(np.asarray(values, dtype=np.float64))
    n = len(vals)
    zeros = int(np.searchsorted(vals, 0.0, side="right"))
    return _figures(vals, zeros, float(np.cumsum(vals)[-1]) / n, qs)


#: Up to this many values, ``summarize`` works on a Python list.
_SMALL = 512


def _summarize_list(vals: list[float], qs: tuple[float, ...]
                    ) -> tuple[int, float | None, float | None, list[float | None]]:
    """``summarize`` of sorted ``vals`` (a list), the same figures by the same operations."""
    return _figures(vals, bisect.bisect_right(vals, 0.0), sum(vals) / len(vals), qs)


def _figures(vals: Any, zeros: int, mean: float, qs: tuple[float, ...]
             ) -> tuple[int, float | None, float | None, list[float | None]]:
    """``summarize``'s figures of the sorted ``vals`` (a list or an array), ``zeros`` of them
    0, with their ``mean``."""
    n = len(vals)
    lo, hi = float(vals[0]), float(vals[-1])
    out: list[float | None] = []
    for q in qs:
        rank = max(1, math.ceil(q * n - 1e-9))
        if rank <= zeros:
            out.append(0.0)
        elif rank >= n:
            out.append(hi)
        else:
            out.append(min(max(LO * G ** (bucket(float(vals[rank - 1])) + 0.5), lo), hi))
    return n, mean, hi, out
