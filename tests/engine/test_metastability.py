"""A retry storm is a metastable failure (Bronson et al., HotOS 2021): after a trigger, a system
whose clients retry stays down while the retries alone keep the load above capacity, and recovers
on its own when they do not; each cure ends it.

The set-up is the paper's: an open system of clients with a timeout and one retry, a service with
an unbounded queue, and a temporary slowdown as the trigger. The threshold is derived, not tuned:
once the queue's wait exceeds the clients' timeout, every request times out and is retried once,
so the service is offered 2 x lambda attempts. It stays down when 2 x lambda > mu (the capacity)
and recovers when 2 x lambda < mu, whatever the trigger was; with lambda < mu it is stable without
the trigger either way. So at rho = lambda / mu in (0.5, 1) the system is metastable, and at
rho < 0.5 it is not."""

from __future__ import annotations

import pytest

from tests.engine.helpers import design, node, simulate

MU = 1000.0  # 4 instances x 25 workers at 100 ms


def storm(rho: float, client: dict | None = None, api: dict | None = None, seed: int = 1,
          edge: dict | None = None, duration_s: float = 200) -> dict:
    users = {"rps": rho * MU, "timeout_ms": 1000, "retries": 1, "retry_on": ["timeout"],
             "backoff_ms": 100, **(client or {})}
    return design(
        [node("users", "client", **users),
         node("api", "service", instances=4, workers=25, queue=None, service_ms=100, startup_s=0,
              **(api or {}))],
        [{"from": "users", "to": "api", **(edge or {})}], duration_s, seed=seed,
        events=[{"at_s": 30, "action": "slowdown", "node": "api", "factor": 3, "duration_s": 20}])


def late(frames: list[dict], key: str) -> float:
    """The mean of a frame field over the last 60 s, long after the trigger ended (at 50 s)."""
    tail = frames[-60:]
    return sum(f[key] for f in tail) / len(tail)


@pytest.mark.parametrize("rho", [0.6, 0.7, 0.83, 0.9])
@pytest.mark.parametrize("seed", [1, 2])
def test_above_half_the_capacity_the_storm_outlives_its_trigger(rho, seed):
    _, frames, _ = simulate(storm(rho, seed=seed))
    # Every request times out and is retried once: 2 x lambda attempts against mu.
    assert late(frames, "ok_rps") < 0.02 * rho * MU
    assert late(frames, "attempts_rps") == pytest.approx(2 * rho * MU, rel=0.05)
    assert 2 * rho * MU > MU


@pytest.mark.parametrize("rho", [0.3, 0.4, 0.45])
def test_below_half_the_capacity_it_recovers_on_its_own(rho):
    _, frames, _ = simulate(storm(rho))
    assert late(frames, "ok_rps") == pytest.approx(rho * MU, rel=0.03)
    assert late(frames, "attempts_rps") == pytest.approx(rho * MU, rel=0.03)


CURES = {
    "no retries": {"client": {"retries": 0}},
    "retry budget": {"client": {"retry_budget": {"ratio": 0.1, "min_per_s": 10}}},
    "deadline shedding": {"api": {"max_queue_wait_ms": 500}},
    "lifo": {"api": {"queue_policy": "lifo"}},
    "circuit breaker": {"edge": {"circuit_breaker": {}}},
    "adaptive throttle": {"client": {"adaptive_throttle": {"k": 1.5, "window_s": 10}}},
}


@pytest.mark.parametrize("cure", sorted(CURES))
def test_each_cure_ends_the_storm_at_83_percent(cure):
    # A retry budget drains the queue of abandoned work slowly, at mu - 1.1 lambda = 87 a second:
    # the run is long enough for it to finish.
    _, frames, _ = simulate(storm(0.83, duration_s=400, **CURES[cure]))
    assert late(frames, "ok_rps") == pytest.approx(830, rel=0.04), cure
    assert late(frames, "attempts_rps") < 1.1 * 830
