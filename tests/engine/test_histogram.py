"""The histogram's figures do not depend on how values reach it: as floats or as numpy chunks,
few or many, the same bytes (the engine hands them over in chunks)."""

from __future__ import annotations

import random

import numpy as np
import pytest

from playground.engine.histogram import Histogram, summarize

QS = (0.5, 0.95, 0.99)


def _values(n: int, seed: int) -> list[float]:
    r = random.Random(seed)
    return [0.0 if r.random() < 0.1 else r.lognormvariate(1.0, 1.5) for _ in range(n)]


@pytest.mark.parametrize("n", [1, 7, 512, 513, 5000])
def test_a_tick_summary_is_the_same_from_floats_and_from_sorted_chunks(n):
    values = _values(n, n)
    cut = n // 3
    chunks = [np.sort(np.array(values[:cut])), np.sort(np.array(values[cut:]))]
    chunks = [c for c in chunks if len(c)]
    assert summarize(chunks, QS) == summarize(values, QS)
    assert summarize([np.sort(np.array(values))], QS) == summarize(values, QS)  # one chunk
    # ... and the mean is the running sum of the sorted values, as Python adds them.
    assert summarize(values, QS)[1] == sum(sorted(values)) / n


def test_a_histogram_fed_chunks_equals_one_fed_floats():
    values = _values(200_000, 1)
    a, b = Histogram(), Histogram()
    for k in range(0, len(values), 30_000):
        a.stage_many(values[k:k + 30_000])
        b.stage_chunks([np.array(values[k:k + 30_000])])
    assert (a.quantiles((0.5, 0.99, 0.999)), a.mean(), a.n, a.zeros, a.hi) == \
        (b.quantiles((0.5, 0.99, 0.999)), b.mean(), b.n, b.zeros, b.hi)
    assert (a.counts == b.counts).all()
