"""Resilience (docs/schema.md "Resilience"): rate limits, retry budgets, backoff between an edge's
retries, bulkheads, LIFO queues and deadline shedding, each on its own against what theory or
the definition says it must do."""

from __future__ import annotations

import json
import math

import pytest

from tests.engine.helpers import design, node, output_on, simulate

BASE = ["error", "overload", "session_lost", "timeout", "unavailable", "upload_failed"]


def node_errors(frames: list[dict], node_id: str, cause: str, tick_s: float = 1.0) -> float:
    """A node's failures of ``cause`` over the run (frames give them per second)."""
    return sum(f["nodes"][node_id]["errors"].get(cause, 0.0) * tick_s for f in frames)


# ---------------------------------------------------------------------------- rate limits


def _limited(lam: float, rps: float, burst: float | None = None, duration_s: float = 200):
    limit = {"rps": rps} if burst is None else {"rps": rps, "burst": burst}
    return design([node("c", "client", rps=lam),
                   node("s", "service", instances=1, workers=1000, service_ms=1,
                        rate_limit=limit)],
                  [("c", "s")], duration_s, seed=3)


def test_a_token_bucket_passes_its_rate_when_offered_more():
    summary, frames, _ = simulate(_limited(400, 250))
    limited = summary["errors"]["rate_limited"]
    passed = summary["nodes"]["s"]["arrivals"] - limited
    # Offered 400/s against a bucket of 250/s: it passes 250/s, the burst at most on top.
    assert 250 * 200 <= passed <= 250 * 200 + 250
    assert summary["ok"] == pytest.approx(passed, abs=5)
    assert node_errors(frames, "s", "rate_limited") == pytest.approx(limited)


def test_a_token_bucket_passes_everything_offered_well_below_its_rate():
    summary, _, _ = simulate(_limited(100, 250))
    assert summary["errors"]["rate_limited"] == 0


def test_a_bucket_of_one_token_is_a_loss_system_of_one_server():
    # With burst 1 a token is back 1/rps after it was taken, and an arrival before that is
    # refused: an M/D/1/1 loss system, whose blocking is Erlang B's a / (1 + a) whatever the
    # service distribution (a = lam / rps = 1 here: one half).
    summary, _, _ = simulate(_limited(100, 100, burst=1))
    share = summary["errors"]["rate_limited"] / summary["requests"]
    assert share == pytest.approx(0.5, abs=0.015)


# ---------------------------------------------------------------------------- retries


def _failing_chain(tries_edge: dict, duration_s: float = 20.0, rps: float = 50.0):
    """client -> a -> b -> c, every call of c failing at once with ``error``; every edge with
    ``tries_edge`` (retries, budgets)."""
    edge = {"latency_ms": 0, **tries_edge}
    return design([node("cl", "client", rps=rps),
                   node("a", "service", instances=1, workers=10000, queue=None, service_ms=0),
                   node("b", "service", instances=1, workers=10000, queue=None, service_ms=0),
                   node("c", "external", latency_ms=0, error_rate=1)],
                  [{"from": "cl", "to": "a", **edge}, {"from": "a", "to": "b", **edge},
                   {"from": "b", "to": "c", **edge}], duration_s, seed=5)


def test_with_every_attempt_failing_calls_at_depth_d_are_the_product_of_the_tries():
    summary, _, _ = simulate(_failing_chain({"retries": 3}))
    n = summary["requests"]
    arrivals = {k: summary["nodes"][k]["arrivals"] for k in ("a", "b", "c")}
    assert n > 800
    assert arrivals == {"a": 4 * n, "b": 16 * n, "c": 64 * n}
    assert summary["errors"]["error"] == n and summary["attempts"] == 4 * n


@pytest.mark.parametrize("ratio,min_per_s", [(0.1, 0.0), (0.2, 2.0), (1.0, 0.0)])
def test_a_retry_budget_keeps_retries_within_ratio_times_first_attempts_plus_its_floor(
        ratio, min_per_s):
    duration = 20.0
    budget = {"ratio": ratio, "min_per_s": min_per_s}
    summary, _, _ = simulate(_failing_chain({"retries": 3, "retry_budget": budget}, duration))
    arrivals = {k: summary["nodes"][k]["arrivals"] for k in ("a", "b", "c")}
    first = {"a": summary["requests"], "b": arrivals["a"], "c": arrivals["b"]}
    for callee in ("a", "b", "c"):
        retries = arrivals[callee] - first[callee]
        bound = 10 * min_per_s + min_per_s * duration + ratio * first[callee]
        assert retries <= bound + 1e-9, callee
        # Every attempt fails, so the budget is spent as it fills: retries reach the bound but
        # for what the decay of the cap let go (a few seconds' deposits at the end).
        assert retries >= 0.8 * bound - 3, callee
    # Without a budget the bottom sees 64 calls a request; with one, a fraction of that.
    assert arrivals["c"] < 0.15 * 64 * summary["requests"]


def test_a_client_retry_budget_bounds_the_clients_own_retries():
    duration = 30.0
    doc = design([node("cl", "client", rps=100, retries=5, retry_on=["error"], backoff_ms=1,
                       retry_budget={"ratio": 0.2, "min_per_s": 1}),
                  node("x", "external", latency_ms=0, error_rate=1)],
                 [("cl", "x")], duration, seed=2)
    summary, _, _ = simulate(doc)
    retries = summary["attempts"] - summary["requests"]
    bound = 10 * 1 + 1 * (duration + 1) + 0.2 * summary["requests"]
    assert 0.8 * bound <= retries <= bound
    no_budget = json.loads(output_on({**doc, "nodes": [
        {**doc["nodes"][0], "params": {**doc["nodes"][0]["params"], "retry_budget": None}},
        doc["nodes"][1]]}))["summary"]
    assert no_budget["attempts"] == 6 * no_budget["requests"]


def test_an_edges_retries_wait_a_full_jitter_exponential_backoff():
    # Each request fails after three retries that wait uniform(0, 100), (0, 200), (0, 400) ms.
    doc = design([node("cl", "client", rps=400),
                  node("x", "external", latency_ms=0, error_rate=1)],
                 [{"from": "cl", "to": "x", "retries": 3, "backoff_ms": 100}], 60, seed=4)
    summary, _, _ = simulate(doc)
    n = summary["requests"]
    mean = summary["latency_all_ms"]["mean"]
    sd = math.sqrt((100**2 + 200**2 + 400**2) / 12)
    assert summary["errors"]["error"] == summary["requests"] > 20000
    assert mean == pytest.approx(350, abs=4 * sd / math.sqrt(n))
    # The longest is below the sum of the caps.
    assert summary["latency_all_ms"]["max"] <= 700 * 1.01


# ---------------------------------------------------------------------------- bulkheads


def test_a_bulkhead_bounds_the_calls_in_flight_and_refuses_the_rest_at_the_caller():
    doc = design([node("cl", "client", rps=500),
                  node("a", "service", instances=1, workers=10000, queue=None, service_ms=0),
                  node("b", "service", instances=1, workers=10000, queue=None,
                       service_ms={"dist": "const", "mean": 100})],
                 [("cl", "a"), {"from": "a", "to": "b", "max_concurrent": 20}], 60, seed=6)
    summary, frames, _ = simulate(doc)
    b = summary["nodes"]["b"]
    # At most 20 calls at b at any moment, so at most 200/s at 100 ms each.
    assert 18 <= b["mean_present"] <= 20
    assert b["arrivals"] <= 200 * 60 + 20
    refused = node_errors(frames, "a", "overload")
    assert refused == pytest.approx(summary["errors"]["overload"])
    assert refused == pytest.approx(summary["requests"] - b["arrivals"], abs=25)


# ---------------------------------------------------------------------------- queues


def _mm1(policy: str, max_wait_ms: float | None = None, lam: float = 800, seed: int = 8):
    return design([node("cl", "client", rps=lam),
                   node("s", "service", instances=1, workers=1, queue=None, service_ms=1,
                        queue_policy=policy, max_queue_wait_ms=max_wait_ms)],
                  [("cl", "s")], 400, tick_s=2, warmup_s=10, seed=seed)


def test_lifo_keeps_the_mean_wait_and_moves_it_into_the_tail():
    fifo, _, _ = simulate(_mm1("fifo"))
    lifo, _, _ = simulate(_mm1("lifo"))
    wf, wl = fifo["nodes"]["s"]["wait_ms"], lifo["nodes"]["s"]["wait_ms"]
    # A work-conserving order does not change the mean wait (M/M/1: rho / (mu - lam) = 4 ms).
    assert wf["mean"] == pytest.approx(4.0, rel=0.1)
    assert wl["mean"] == pytest.approx(4.0, rel=0.15)
    # FIFO's median wait is ln(2 rho) / (mu - lam) = 2.35 ms; LIFO serves most arrivals
    # sooner and a few much later.
    assert wf["p50"] == pytest.approx(math.log(1.6) / 200 * 1e3, rel=0.1)
    assert wl["p50"] < 0.6 * wf["p50"]
    assert wl["p99"] > 1.5 * wf["p99"]


def test_deadline_shedding_drops_what_waited_too_long_and_keeps_goodput_at_capacity():
    summary, frames, _ = simulate(_mm1("fifo", max_wait_ms=20, lam=1500))
    shed = summary["errors"]["shed"]
    span = 390
    assert summary["nodes"]["s"]["wait_ms"]["p99"] <= 20 * 1.01
    # Overloaded 1.5x: the worker stays busy, so goodput is its capacity and the rest is shed.
    assert summary["throughput_rps"] == pytest.approx(1000, rel=0.02)
    assert shed / span == pytest.approx(500, rel=0.05)
    assert node_errors(frames[5:], "s", "shed", 2.0) == pytest.approx(shed, rel=0.01)


# ---------------------------------------------------------------------------- output


def test_new_causes_are_listed_only_where_the_design_can_produce_them():
    plain, frames, _ = simulate(_mm1("fifo", lam=100))
    assert sorted(plain["errors"]) == BASE and sorted(frames[0]["errors"]) == BASE
    shedding, frames, _ = simulate(_mm1("fifo", max_wait_ms=5, lam=100))
    assert sorted(shedding["errors"]) == sorted([*BASE, "shed"])
    assert sorted(frames[0]["errors"]) == sorted([*BASE, "shed"])
    limited, _, _ = simulate(_limited(100, 250, duration_s=5))
    assert sorted(limited["errors"]) == sorted([*BASE, "rate_limited"])


# ---------------------------------------------------------------------------- processor sharing


@pytest.mark.parametrize("service", [1, {"dist": "const", "mean": 1}, {"dist": "lognormal", "mean": 1, "cv": 2}],
                         ids=["M/M/1-PS", "M/D/1-PS", "M/G/1-PS lognormal cv 2"])
def test_processor_sharing_is_insensitive_to_the_work_distribution(service):
    from tests.engine.helpers import assert_close, batch_se, frame_means

    # One core shared by every request in its own work (workers enough that none queues): the
    # mean response of M/G/1-PS is x / (1 - rho) whatever the distribution of the work.
    lam, x = 700.0, 1e-3
    doc = design([node("c", "client", rps=lam),
                  node("s", "service", instances=1, workers=10000, queue=None, service_ms=service,
                       cores=1)],
                 [("c", "s")], 1200, tick_s=4, warmup_s=4, seed=11)
    summary, frames, _ = simulate(doc)
    vals, wts = frame_means(frames, 1)
    _, se = batch_se(vals, wts)
    assert summary["errors"]["overload"] == 0
    assert_close(summary["latency_ms"]["mean"], x / (1 - lam * x) * 1e3, se, "M/G/1-PS response")


def test_without_sharing_the_same_fleet_is_far_faster_and_with_enough_cores_it_is_the_same():
    def doc(cores):
        return design([node("c", "client", rps=700),
                       node("s", "service", instances=1, workers=10000, queue=None,
                            service_ms={"dist": "const", "mean": 1}, cores=cores)],
                      [("c", "s")], 30, seed=2)
    plain, _, _ = simulate(doc(None))
    many, _, _ = simulate(doc(10000))
    one, _, _ = simulate(doc(1))
    assert plain["latency_ms"]["mean"] == pytest.approx(1.0, rel=1e-6)
    assert many["latency_ms"]["mean"] == pytest.approx(1.0, rel=1e-6)
    assert one["latency_ms"]["mean"] > 2.5


# ---------------------------------------------------------------------------- adaptive throttling


def _throttled(k: float, limit_rps: float | None, duration_s: float = 120):
    api = {"instances": 2, "workers": 1000, "queue": None, "service_ms": 1}
    if limit_rps is not None:
        api["rate_limit"] = {"rps": limit_rps}
    return design([node("c", "client", rps=1000, adaptive_throttle={"k": k, "window_s": 10}),
                   node("s", "service", **api)],
                  [("c", "s")], duration_s, warmup_s=20, seed=4)


@pytest.mark.parametrize("k", [1.5, 2.0, 3.0])
def test_an_adaptive_throttle_sends_k_times_what_the_backend_accepts(k):
    # The backend accepts 200 a second; the client rejects locally until it sends about k x 200.
    summary, frames, _ = simulate(_throttled(k, 200))
    span = 100
    sent = summary["nodes"]["s"]["arrivals"] / span
    local = node_errors(frames[20:], "c", "rate_limited") / span
    at_backend = node_errors(frames[20:], "s", "rate_limited") / span
    assert sent == pytest.approx(k * 200, rel=0.05)
    assert local == pytest.approx(1000 - k * 200, rel=0.05)
    assert sent - at_backend == pytest.approx(200, rel=0.03)


def test_an_adaptive_throttle_rejects_nothing_while_the_backend_accepts_everything():
    summary, _, _ = simulate(_throttled(2, None))
    assert summary["errors"]["rate_limited"] == 0
    assert summary["ok"] == summary["requests"]
