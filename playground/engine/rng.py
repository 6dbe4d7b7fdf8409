"""Random streams: one per (seed, node or edge, purpose), drawn in numpy blocks.

Terms
-----
stream
    An independent sequence of draws named by a key such as ``("api", "service")``. Its numpy
    ``Generator`` (PCG64) is seeded from the BLAKE2b hash of the run's seed and the key, never from
    Python's ``hash()`` (salted per process), so a stream gives the same numbers in any process.
    A stream serves one purpose only, so the draws one part of a design makes never shift because
    another part made more or fewer.
sampler
    A zero-argument callable returning the next draw, in seconds for a distribution. Draws are
    made ``BLOCK`` at a time with numpy and handed out one by one by ``itertools.chain``, so a
    draw costs one C-level call instead of one numpy call.

Determinism holds for the same engine version and numpy version: numpy documents that a
``Generator``'s samplers may change between its versions, so the numpy version is pinned with the
engine (requirements.txt) and part of what a golden-output test checks.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from playground.engine.document import Dist

BLOCK = 2048

Sampler = Callable[[], float]


def stream_seed(seed: int, *key: Any) -> int:
    """A 128-bit seed for the stream ``key`` of a run seeded ``seed``."""
    text = "\x1f".join(str(part) for part in (seed, *key)).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=16).digest(), "little")


def generator(seed: int, *key: Any) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(stream_seed(seed, *key)))


class Blocks:
    """The blocks of one stream, in order: ``next()`` gives the next as a list (for the pure
    loops' ``itertools.chain``), ``array()`` the next as a numpy array (for the compiled core).
    Either way each block comes once, so the stream's sequence is the same."""

    __slots__ = ("make",)

    def __init__(self, make: Callable[[int], np.ndarray]) -> None:
        self.make = make

    def __iter__(self) -> Iterator[list[float]]:
        return self

    def __next__(self) -> list[float]:
        return self.make(BLOCK).tolist()

    def array(self) -> np.ndarray:
        return self.make(BLOCK)


def _from_blocks(make: Callable[[int], np.ndarray]) -> Sampler:
    return itertools.chain.from_iterable(Blocks(make)).__next__


def split(fn: Sampler) -> tuple[list[float], Blocks] | float:
    """Take a block sampler apart: the draws left in its current block and the blocks after
    them (the sampler must not be used again); a constant sampler gives its value."""
    it = fn.__self__  # type: ignore[attr-defined]
    if isinstance(it, itertools.repeat):
        return float(fn())
    source, *active = it.__reduce__()[2]
    if not isinstance(source, Blocks):
        raise TypeError(f"not a block sampler: {fn!r}")
    return (list(active[0]) if active else []), source


def join(rest: list[float], source: Blocks) -> Sampler:
    """A sampler giving ``rest``, then the blocks of ``source``."""
    return itertools.chain(rest, itertools.chain.from_iterable(source)).__next__


def uniform(seed: int, *key: Any) -> Sampler:
    """Uniform draws in [0, 1)."""
    return _from_blocks(generator(seed, *key).random)


def constant(value: float) -> Sampler:
    return itertools.repeat(float(value)).__next__


def is_zero(dist: Dist) -> bool:
    """True when every draw of ``dist`` is 0 (no delay at all)."""
    if dist.kind == "uniform":
        return (dist.max or 0.0) <= 0.0
    return dist.mean <= 0.0


def sampler(dist: Dist, seed: int, *key: Any, scale: float = 1e-3) -> Sampler:
    """Draws of ``dist`` (milliseconds in the document) times ``scale`` (to seconds by default)."""
    if is_zero(dist):
        return constant(0.0)
    gen = generator(seed, *key)
    kind = dist.kind
    mean = dist.mean * scale
    if kind == "const":
        return constant(mean)
    if kind == "exp":
        return _from_blocks(lambda n: gen.exponential(mean, n))
    if kind == "lognormal":
        cv = float(dist.cv or 0.0)
        sigma2 = float(np.log1p(cv * cv))
        mu = float(np.log(mean)) - sigma2 / 2
        sigma = sigma2 ** 0.5
        return _from_blocks(lambda n: gen.lognormal(mu, sigma, n))
    if kind == "uniform":
        lo = float(dist.min or 0.0) * scale
        hi = float(dist.max or 0.0) * scale
        return _from_blocks(lambda n: gen.uniform(lo, hi, n))
    if kind == "erlang":
        k = int(dist.k or 1)
        return _from_blocks(lambda n: gen.gamma(k, mean / k, n))
    raise ValueError(f"unknown distribution {kind!r}")


def mean_s(dist: Dist) -> float:
    """The mean of ``dist`` in seconds."""
    if dist.kind == "uniform":
        return (float(dist.min or 0.0) + float(dist.max or 0.0)) / 2e3
    return dist.mean / 1e3
