"""Closed forms of queueing theory, to set beside what the simulation measures.

Pure functions of the arrival rate and the service time; no simulation here.

Terms
-----
lam
    Arrival rate (customers per second), Poisson.
mean_s
    Mean service time in seconds (``1 / mu``).
c
    Servers (workers). ``K`` is the most customers in the system, in service and waiting
    (``M/M/c/K``: the queue holds ``K - c``; an arrival that finds ``K`` present is blocked).
a, rho
    Offered load ``a = lam * mean_s`` (in erlangs) and utilization ``rho = a / c``.
Wq, W
    Mean wait in the queue and mean time in the system (wait plus service), in seconds.
Lq, L
    Mean number waiting and mean number present (Little's law: ``L = lam W``).
P_wait
    The chance an arrival waits at all (Erlang C for ``M/M/c``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Result:
    rho: float
    P_wait: float
    Wq: float
    W: float
    Lq: float
    L: float
    P_block: float = 0.0
    throughput: float = 0.0

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def _check(lam: float, mean_s: float, c: int) -> None:
    if lam <= 0 or mean_s <= 0:
        raise ValueError("lam and mean_s must be > 0")
    if c < 1 or int(c) != c:
        raise ValueError("c must be a whole number >= 1")


def erlang_b(c: int, a: float) -> float:
    """Blocking probability of M/M/c/c with offered load ``a`` (stable recursion)."""
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    return b


def erlang_c(c: int, a: float) -> float:
    """The chance an arrival waits in M/M/c with offered load ``a`` (< c)."""
    if a >= c:
        return 1.0
    b = erlang_b(c, a)
    return c * b / (c - a * (1 - b))


def mm1(lam: float, mean_s: float) -> Result:
    return mmc(lam, mean_s, 1)


def mmc(lam: float, mean_s: float, c: int) -> Result:
    """M/M/c with an unbounded FIFO queue; needs ``rho < 1``."""
    _check(lam, mean_s, c)
    a = lam * mean_s
    rho = a / c
    if rho >= 1:
        raise ValueError("unstable: rho must be < 1")
    p_wait = erlang_c(c, a)
    wq = p_wait * mean_s / (c - a)
    return Result(rho=rho, P_wait=p_wait, Wq=wq, W=wq + mean_s, Lq=lam * wq, L=lam * (wq + mean_s),
                  throughput=lam)


def mmc_wait_quantile(lam: float, mean_s: float, c: int, q: float) -> float:
    """The ``q`` quantile of the wait in M/M/c: ``P(Wq > t) = C e^{-(c mu - lam) t}``."""
    r = mmc(lam, mean_s, c)
    if 1 - q >= r.P_wait:
        return 0.0
    return math.log(r.P_wait / (1 - q)) / (c / mean_s - lam)


def mmck(lam: float, mean_s: float, c: int, K: int) -> Result:
    """M/M/c/K: ``c`` servers, at most ``K >= c`` present; any load."""
    _check(lam, mean_s, c)
    if K < c or int(K) != K:
        raise ValueError("K must be a whole number >= c")
    a = lam * mean_s
    # Unnormalized probabilities of n present, built by ratios to stay finite.
    weights = [1.0]
    for n in range(1, K + 1):
        weights.append(weights[-1] * a / min(n, c))
    total = math.fsum(weights)
    p = [w / total for w in weights]
    p_block = p[K]
    lam_eff = lam * (1 - p_block)
    L = math.fsum(n * pn for n, pn in enumerate(p))
    Lq = math.fsum((n - c) * pn for n, pn in enumerate(p) if n > c)
    p_wait_arrival = math.fsum(p[c:K]) / (1 - p_block) if p_block < 1 else 1.0
    W = L / lam_eff if lam_eff > 0 else 0.0
    Wq = Lq / lam_eff if lam_eff > 0 else 0.0
    return Result(rho=lam_eff * mean_s / c, P_wait=p_wait_arrival, Wq=Wq, W=W, Lq=Lq, L=L,
                  P_block=p_block, throughput=lam_eff)


def mg1(lam: float, mean_s: float, cv: float) -> Result:
    """M/G/1 (Pollaczek-Khinchine): service with mean ``mean_s`` and coefficient of variation
    ``cv``; ``Wq = lam E[S^2] / (2 (1 - rho))``."""
    _check(lam, mean_s, 1)
    rho = lam * mean_s
    if rho >= 1:
        raise ValueError("unstable: rho must be < 1")
    second_moment = mean_s * mean_s * (1 + cv * cv)
    wq = lam * second_moment / (2 * (1 - rho))
    return Result(rho=rho, P_wait=rho, Wq=wq, W=wq + mean_s, Lq=lam * wq, L=lam * (wq + mean_s),
                  throughput=lam)


def md1(lam: float, mean_s: float) -> Result:
    """M/D/1: constant service time, ``Wq = rho mean_s / (2 (1 - rho))``."""
    return mg1(lam, mean_s, 0.0)
