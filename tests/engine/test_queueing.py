"""The engine against queueing theory: M/M/1, M/M/c (Erlang C) and its wait tail, M/M/c/K,
M/D/1, M/G/1 (Pollaczek-Khinchine), a random split over instances, least connections, and
Little's law on every node.

Each test runs a fixed seed at a load of at most 0.8 and allows ``helpers.Z`` batch-means
standard errors of the run itself, after asserting that this tolerance is at most 5%.
"""

from __future__ import annotations

import numpy as np

from tests.engine.helpers import (
    assert_close,
    batch_se,
    design,
    frame_means,
    mmc_response,
    mmc_wait_tail,
    mmck,
    node,
    pk_response,
    simulate,
    station,
)


def _response_check(doc, theory_s: float, what: str) -> dict:
    summary, frames, _ = simulate(doc)
    warm = round(doc["scenario"]["warmup_s"] / doc["scenario"]["tick_s"])
    vals, wts = frame_means(frames, warm)
    _, se = batch_se(vals, wts)
    assert summary["errors"]["overload"] == 0
    assert_close(summary["latency_ms"]["mean"], theory_s * 1e3, se, what)
    return summary


def test_mm1_mean_response_time_matches_theory():
    doc = station(lam=700, service=1, workers=1, duration_s=300, tick_s=2, warmup_s=2)
    _response_check(doc, mmc_response(700, 1000, 1), "M/M/1 response time")


def test_mmc_mean_response_time_matches_erlang_c():
    doc = station(lam=800, service=4, workers=4, duration_s=500, tick_s=2, warmup_s=2, seed=3)
    _response_check(doc, mmc_response(800, 250, 4), "M/M/4 response time")


def test_mmc_waiting_time_tail_matches_erlang_c():
    lam, mu, c = 800.0, 250.0, 4
    t_ms = 3.4  # P(Wq > t) is about 0.30 here
    theory = mmc_wait_tail(lam, mu, c, t_ms / 1e3)
    assert 0.1 < theory < 0.5

    def snapshot(sim):
        h = sim.node_wait_histogram("s")
        return h.counts.copy(), h.zeros, h.n

    doc = station(lam=lam, service=4, workers=c, duration_s=900, tick_s=3, warmup_s=3, seed=4)
    summary, _, snaps = simulate(doc, probe=snapshot)
    # Per-tick shares of waits above t, from the differences of cumulative histograms.
    from playground.engine.histogram import Histogram

    shares, counts = [], []
    prev = (np.zeros_like(snaps[0][0]), 0, 0)
    for snap in snaps:
        h = Histogram()
        h.counts = snap[0] - prev[0]
        h.zeros = snap[1] - prev[1]
        h.n = snap[2] - prev[2]
        h.lo, h.hi = 0.0, float("inf")
        if h.n:
            shares.append(h.fraction_above(t_ms))
            counts.append(h.n)
        prev = snap
    est, se = batch_se(shares, counts)
    assert_close(est, theory, se, "M/M/4 P(Wq > 3.4 ms)")
    # The summary's median wait agrees with the theoretical median of Wq.
    p50_theory = np.log(2 * mmc_wait_tail(lam, mu, c, 0.0)) / (c * mu - lam) * 1e3
    assert abs(summary["nodes"]["s"]["wait_ms"]["p50"] - p50_theory) < 0.1 * p50_theory


def test_mmck_blocking_and_admitted_response_match_theory():
    lam, mu, c, k = 800.0, 500.0, 2, 6
    doc = station(lam=lam, service=2, workers=c, queue=k - c, duration_s=600, tick_s=2,
                  warmup_s=2, seed=5)
    block, resp = mmck(lam, mu, c, k)
    summary, frames, _ = simulate(doc)
    share = [f["errors"]["overload"] / f["offered_rps"] for f in frames[1:]]
    _, se = batch_se(share, [f["offered_rps"] for f in frames[1:]])
    assert_close(summary["errors"]["overload"] / summary["requests"], block, se,
                 "M/M/2/6 blocking")
    vals, wts = frame_means(frames, 1)
    _, se = batch_se(vals, wts)
    assert_close(summary["latency_ms"]["mean"], resp * 1e3, se, "M/M/2/6 admitted response")
    # Every refusal is an overload counted at the service, none at the client.
    assert summary["requests"] == summary["ok"] + summary["errors"]["overload"]


def test_md1_mean_response_time_matches_pollaczek_khinchine():
    doc = station(lam=800, service={"dist": "const", "mean": 1}, workers=1, duration_s=300,
                  tick_s=1, warmup_s=1, seed=6)
    _response_check(doc, pk_response(800, 1e-3, 0.0), "M/D/1 response time")


def test_mg1_lognormal_mean_response_time_matches_pollaczek_khinchine():
    doc = station(lam=600, service={"dist": "lognormal", "mean": 1, "cv": 1.5}, workers=1,
                  duration_s=1000, tick_s=4, warmup_s=4, seed=7)
    _response_check(doc, pk_response(600, 1e-3, 1.5), "M/G/1 lognormal response time")


def test_random_split_over_instances_is_m_m_c_per_instance():
    n, c, lam_i = 4, 2, 800.0
    doc = station(lam=n * lam_i, service=2, workers=c, instances=n, balancer="random",
                  duration_s=240, tick_s=1, warmup_s=1, seed=8)
    _response_check(doc, mmc_response(lam_i, 500, c), "random split, M/M/2 per instance")


def test_least_connections_beats_random_at_the_same_load():
    out = {}
    for algo in ("random", "least_connections"):
        doc = station(lam=3200, service=2, workers=2, instances=4, balancer=algo,
                      duration_s=60, tick_s=1, warmup_s=1, seed=9)
        summary, frames, _ = simulate(doc)
        vals, wts = frame_means(frames, 1)
        out[algo] = (summary["latency_ms"]["mean"], batch_se(vals, wts)[1])
    (r, r_se), (lc, lc_se) = out["random"], out["least_connections"]
    assert r - lc > 4 * (r_se ** 2 + lc_se ** 2) ** 0.5
    assert lc < 0.8 * r


def test_littles_law_holds_on_every_node():
    doc = design(
        [node("c", "client", rps=1500, timeout_ms=200, retries=1),
         node("lb", "load_balancer", algorithm="least_connections"),
         node("api", "service", instances=3, workers=8, queue=20,
              service_ms={"dist": "erlang", "mean": 8, "k": 2}),
         node("cache", "store", role="cache", keys=2000, latency_ms=0.5, capacity=40),
         node("db", "database", latency_ms={"dist": "uniform", "min": 1, "max": 9},
              connections=12),
         node("jobs", "queue", max_depth=200, latency_ms=1),
         node("work", "worker", workers=6, service_ms=20),
         node("ext", "external", latency_ms=3, error_rate=0.01),
         node("files", "object_storage", latency_ms={"dist": "const", "mean": 4})],
        [("c", "lb"), ("lb", "api"),
         {"from": "api", "to": "cache", "latency_ms": 0.2},
         {"from": "cache", "to": "db"},
         {"from": "api", "to": "jobs", "mode": "async", "calls": 0.2},
         {"from": "api", "to": "ext", "calls": 0.5, "timeout_ms": 50, "retries": 1},
         ("jobs", "work"), {"from": "work", "to": "db", "calls": 1.5},
         {"from": "work", "to": "files"}],
        duration_s=120, tick_s=1, warmup_s=10, seed=11)
    summary, _, _ = simulate(doc)
    span = 110.0
    for nid, st in summary["nodes"].items():
        lam = st["arrivals"] / span
        little = lam * st["mean_sojourn_ms"] / 1e3
        assert st["arrivals"] > 1000, nid
        assert abs(st["mean_present"] - little) <= 0.02 * little, (nid, st)
