"""The simulation API, frames and summary, and the rules of SCHEMA.md "How a request moves"."""

from __future__ import annotations

import json
import math

import pytest

from playground.engine import ENGINE_VERSION
from playground.engine.limits import Limits
from playground.engine.schema import load
from playground.engine.simulation import Simulation, run
from tests.engine.helpers import design, node, simulate, station

FRAME_KEYS = {"seq", "t", "offered_rps", "ok_rps", "attempts_rps", "errors", "latency_ms",
              "users", "charges", "uploads", "cost_per_hour", "events", "nodes"}
FRAME_NODE_KEYS = {"utilization", "queue", "up", "starting", "rps", "errors"}
SUMMARY_KEYS = {"engine_version", "seed", "requests", "attempts", "ok", "incomplete", "errors",
                "latency_ms", "throughput_rps", "nodes", "users", "charges", "uploads", "cost"}
SUMMARY_NODE_KEYS = {"utilization", "mean_queue", "arrivals", "mean_sojourn_ms", "wait_ms"}
CAUSES = {"overload", "timeout", "unavailable", "session_lost", "upload_failed", "error"}


def _three_tier(**scenario):
    return design(
        [node("c", "client", rps=400),
         node("lb", "load_balancer"),
         node("api", "service", instances=2, workers=8),
         node("cache", "store", role="cache", keys=500),
         node("db", "database", latency_ms=4)],
        [("c", "lb"), ("lb", "api"), ("api", "cache"), ("cache", "db")],
        **{"duration_s": 10, **scenario})


def _strict_json(obj) -> str:
    return json.dumps(obj, sort_keys=True, allow_nan=False)


def test_frames_and_summary_have_schema_shapes_and_are_strict_json():
    out = run(load(_three_tier(warmup_s=2)), frames=True)
    frames, summary = out["frames"], out["summary"]
    assert [f["seq"] for f in frames] == list(range(1, 11))
    assert [f["t"] for f in frames] == [float(k) for k in range(1, 11)]
    for f in frames:
        assert FRAME_KEYS <= set(f)
        assert set(f["errors"]) == CAUSES
        assert {"p50", "p95", "p99", "max"} <= set(f["latency_ms"])
        assert set(f["users"]) == {"logins", "logged_out"}
        assert set(f["charges"]) == {"total", "duplicate"}
        assert set(f["uploads"]) == {"started", "failed"}
        assert list(f["nodes"]) == ["c", "lb", "api", "cache", "db"]
        for st in f["nodes"].values():
            assert FRAME_NODE_KEYS <= set(st)
        assert json.loads(_strict_json(f)) == f
    assert SUMMARY_KEYS <= set(summary)
    assert summary["engine_version"] == ENGINE_VERSION
    assert set(summary["errors"]) == CAUSES
    assert set(summary["latency_ms"]) >= {"mean", "p50", "p90", "p95", "p99", "p999", "max"}
    for st in summary["nodes"].values():
        assert SUMMARY_NODE_KEYS <= set(st)
        assert set(st["wait_ms"]) >= {"mean", "p50", "p99"}
    assert json.loads(_strict_json(summary)) == summary
    assert summary["throughput_rps"] == pytest.approx(summary["ok"] / 8, rel=1e-5)


def test_step_raises_stop_iteration_after_the_last_frame_and_iterates():
    sim = Simulation(load(_three_tier(duration_s=3)))
    assert not sim.done
    frames = list(sim)
    assert len(frames) == 3 and sim.done
    with pytest.raises(StopIteration):
        sim.step()
    assert sim.summary() is sim.summary()


def test_summary_without_stepping_makes_the_frames_itself():
    doc = load(_three_tier())
    assert Simulation(doc).summary() == run(doc)["summary"]


def test_percentiles_of_nothing_are_null():
    doc = design([node("c", "client", rps=0), node("s", "service")], [("c", "s")], 3)
    out = run(load(doc), frames=True)
    assert out["frames"][0]["latency_ms"]["p99"] is None
    assert out["summary"]["latency_ms"]["p50"] is None
    assert out["summary"]["latency_ms"]["mean"] is None
    assert out["summary"]["nodes"]["s"]["mean_sojourn_ms"] is None
    assert out["summary"]["requests"] == 0
    _strict_json(out)


def test_seed_defaults_to_the_scenario_and_can_be_overridden():
    doc = load(_three_tier(seed=7))
    a = Simulation(doc).summary()
    b = Simulation(doc, seed=8).summary()
    assert a["seed"] == 7 and b["seed"] == 8
    assert a != b
    assert Simulation(doc, seed=7).summary() == a


def test_tick_size_never_changes_what_happens():
    one = run(load(_three_tier(duration_s=12, tick_s=1)))["summary"]
    three = run(load(_three_tier(duration_s=12, tick_s=3)))["summary"]
    assert one == three


def test_requests_counted_once_with_attempts_and_outcomes_adding_up():
    doc = station(lam=500, service=3, workers=1, queue=2, duration_s=10)
    summary = run(load(doc))["summary"]
    errors = sum(summary["errors"].values())
    assert summary["errors"]["overload"] > 0
    assert summary["requests"] == summary["ok"] + errors + summary["incomplete"]
    assert summary["attempts"] == summary["requests"]


def test_client_timeout_fails_timeout_while_the_callee_keeps_working():
    doc = design([node("c", "client", rps=50, timeout_ms=20),
                  node("s", "service", workers=100, service_ms={"dist": "const", "mean": 50})],
                 [("c", "s")], 10)
    summary, frames, _ = simulate(doc)
    assert summary["ok"] == 0
    assert summary["errors"]["timeout"] == summary["requests"]
    # The service finished every request although nobody waited for the answers.
    assert summary["nodes"]["s"]["mean_sojourn_ms"] == pytest.approx(50.0)
    assert summary["nodes"]["s"]["utilization"] > 0
    # Counted once, at the client that gave up.
    assert frames[5]["nodes"]["c"]["errors"]["timeout"] == frames[5]["errors"]["timeout"]
    assert "timeout" not in frames[5]["nodes"]["s"]["errors"]


def test_edge_latency_counts_inside_the_edge_timeout():
    doc = design([node("c", "client", rps=50),
                  node("s", "service", workers=100, service_ms=0),
                  node("db", "database", latency_ms={"dist": "const", "mean": 1})],
                 [("c", "s"),
                  {"from": "s", "to": "db", "timeout_ms": 20,
                   "latency_ms": {"dist": "const", "mean": 30}}], 5)
    summary = run(load(doc))["summary"]
    assert summary["errors"]["timeout"] == summary["requests"]


def test_client_retries_with_backoff_count_every_attempt():
    doc = design([node("c", "client", rps=50, timeout_ms=10, retries=2, backoff_ms=100),
                  node("s", "service", workers=100, service_ms={"dist": "const", "mean": 30})],
                 [("c", "s")], 10)
    summary = run(load(doc))["summary"]
    assert summary["errors"]["timeout"] == summary["requests"]
    assert summary["attempts"] == 3 * summary["requests"]


def test_client_retries_only_causes_in_retry_on():
    doc = design([node("c", "client", rps=50, retries=3, retry_on=["timeout"]),
                  node("s", "service", instances=1, workers=1, queue=0, service_ms=500)],
                 [("c", "s")], 10)
    summary = run(load(doc))["summary"]
    assert summary["errors"]["overload"] > 0
    assert summary["attempts"] == summary["requests"]


def test_a_retried_request_that_succeeds_counts_ok_with_latency_from_emission():
    doc = design([node("c", "client", rps=20, timeout_ms=20, retries=1, backoff_ms=0),
                  node("s", "service", workers=100,
                       service_ms={"dist": "uniform", "min": 10, "max": 30})],
                 [("c", "s")], 30)
    summary = run(load(doc))["summary"]
    assert summary["ok"] > 0.6 * summary["requests"]
    assert summary["attempts"] > summary["requests"]
    # A second attempt starts after the first timed out: more than 20 ms in all.
    assert summary["latency_ms"]["max"] > 30


def test_edge_retries_repeat_at_once_and_each_failure_counts_where_it_started():
    doc = design([node("c", "client", rps=100),
                  node("s", "service", workers=50, service_ms=1),
                  node("x", "external", latency_ms=2, error_rate=1)],
                 [("c", "s"), {"from": "s", "to": "x", "retries": 2}], 10)
    summary, frames, _ = simulate(doc)
    assert summary["errors"]["error"] == summary["requests"]
    assert summary["nodes"]["x"]["arrivals"] == 3 * summary["nodes"]["s"]["arrivals"]
    errs = sum(f["nodes"]["x"]["errors"].get("error", 0) for f in frames)
    assert errs == pytest.approx(3 * summary["requests"], rel=0.01)
    assert all("error" not in f["nodes"]["s"]["errors"] for f in frames)


def test_fractional_calls_make_the_expected_number_of_calls():
    doc = design([node("c", "client", rps=1000),
                  node("s", "service", workers=100, service_ms=1),
                  node("a", "database", latency_ms=1),
                  node("b", "store", role="state", latency_ms=1)],
                 [("c", "s"), {"from": "s", "to": "a", "calls": 2.5},
                  {"from": "s", "to": "b", "calls": 0.3}], 20)
    summary = run(load(doc))["summary"]
    n = summary["nodes"]["s"]["arrivals"]
    assert summary["nodes"]["a"]["arrivals"] / n == pytest.approx(2.5, abs=0.02)
    assert summary["nodes"]["b"]["arrivals"] / n == pytest.approx(0.3, abs=0.01)


def test_calls_are_made_one_after_another_in_edge_order():
    doc = design([node("c", "client", rps=10),
                  node("s", "service", workers=100, service_ms=0),
                  node("a", "database", latency_ms={"dist": "const", "mean": 3}),
                  node("b", "database", latency_ms={"dist": "const", "mean": 4})],
                 [("c", "s"), {"from": "s", "to": "a", "calls": 2}, ("s", "b")], 10)
    summary = run(load(doc))["summary"]
    assert summary["latency_ms"]["p50"] == pytest.approx(10.0, rel=0.01)
    assert summary["latency_ms"]["max"] == pytest.approx(10.0, rel=1e-6)


def test_async_work_stays_out_of_client_latency_and_errors():
    doc = design([node("c", "client", rps=100),
                  node("s", "service", workers=50, service_ms={"dist": "const", "mean": 2}),
                  node("q", "queue", max_depth=100000, latency_ms=1),
                  node("w", "worker", workers=100, service_ms=300),
                  node("x", "external", latency_ms=1, error_rate=1)],
                 [("c", "s"), {"from": "s", "to": "q", "mode": "async"}, ("q", "w"),
                  ("w", "x")], 20, warmup_s=2)
    summary = run(load(doc))["summary"]
    assert summary["ok"] == summary["requests"]
    assert summary["latency_ms"]["max"] == pytest.approx(2.0, rel=1e-6)
    assert summary["nodes"]["w"]["arrivals"] == pytest.approx(summary["requests"], rel=0.02)
    assert summary["nodes"]["x"]["arrivals"] == pytest.approx(summary["requests"], rel=0.02)
    assert summary["nodes"]["w"]["mean_sojourn_ms"] > 300


def test_a_full_queue_fails_the_caller_overload_counted_at_the_queue():
    doc = design([node("c", "client", rps=200),
                  node("s", "service", workers=50, service_ms=1),
                  node("q", "queue", max_depth=20),
                  node("w", "worker", workers=1, service_ms={"dist": "const", "mean": 100})],
                 [("c", "s"), {"from": "s", "to": "q", "mode": "async"}, ("q", "w")], 10)
    summary, frames, _ = simulate(doc)
    assert summary["errors"]["overload"] > 0.9 * summary["requests"]
    assert frames[-1]["nodes"]["q"]["errors"]["overload"] > 0
    assert "overload" not in frames[-1]["nodes"]["s"]["errors"]
    # A worker drains the queue at its own pace: 10 messages a second.
    assert summary["nodes"]["w"]["arrivals"] == pytest.approx(100, abs=3)
    assert summary["nodes"]["q"]["mean_queue"] == pytest.approx(20, abs=2)


def test_a_sync_enqueue_waits_for_the_queue_latency_only():
    doc = design([node("c", "client", rps=50),
                  node("s", "service", workers=50, service_ms=0),
                  node("q", "queue", latency_ms={"dist": "const", "mean": 5}),
                  node("w", "worker", workers=1, service_ms=1000)],
                 [("c", "s"), ("s", "q"), ("q", "w")], 5)
    summary = run(load(doc))["summary"]
    assert summary["ok"] == summary["requests"]
    assert summary["latency_ms"]["max"] == pytest.approx(5.0, rel=1e-6)


def test_cache_hits_follow_the_key_model_and_misses_go_along_its_edges():
    keys, ratio = 200, 0.8
    doc = design([node("c", "client", rps=2000),
                  node("cache", "store", role="cache", keys=keys, hit_ratio=ratio,
                       latency_ms=1),
                  node("db", "database", latency_ms=5)],
                 [("c", "cache"), ("cache", "db")], 20, warmup_s=2,
                 events=[{"at_s": 10, "action": "flush_cache", "node": "cache"}])
    summary, frames, _ = simulate(doc)
    # Warm: a miss is 1 - hit_ratio; the flush brings a burst of misses that warms again.
    warm = [f["nodes"]["db"]["rps"] / f["nodes"]["cache"]["rps"] for f in frames[3:10]]
    assert sum(warm) / len(warm) == pytest.approx(1 - ratio, abs=0.02)
    assert frames[0]["nodes"]["db"]["rps"] > frames[5]["nodes"]["db"]["rps"]
    assert frames[10]["nodes"]["db"]["rps"] > 1.1 * frames[9]["nodes"]["db"]["rps"]
    assert frames[10]["events"] == [{"t": 10.0, "action": "flush_cache", "node": "cache"}]
    # A miss takes the cache's latency and then the database's.
    assert summary["latency_ms"]["max"] > 5


def test_a_cache_without_out_edges_answers_a_miss_as_a_hit():
    doc = design([node("c", "client", rps=100),
                  node("cache", "store", role="cache", latency_ms={"dist": "const",
                                                                    "mean": 1})],
                 [("c", "cache")], 5)
    summary = run(load(doc))["summary"]
    assert summary["ok"] == summary["requests"]
    assert summary["latency_ms"]["max"] == pytest.approx(1.0)


def test_store_capacity_has_no_queue():
    doc = design([node("c", "client", rps=1000),
                  node("st", "store", role="state", capacity=2, latency_ms=5)],
                 [("c", "st")], 5)
    summary = run(load(doc))["summary"]
    assert summary["errors"]["overload"] > 0.3 * summary["requests"]
    assert summary["nodes"]["st"]["wait_ms"]["p99"] == 0.0


def test_database_is_one_fifo_pool_for_all_callers():
    # Two services share one connection: 60 rps x 2 queries x 5 ms keeps it 60% busy.
    doc = design([node("c", "client", rps=60),
                  node("a", "service", workers=100, service_ms=0),
                  node("b", "service", workers=100, service_ms=0),
                  node("db", "database", connections=1, latency_ms=5)],
                 [("c", "a"), ("a", "db"), ("a", "b"), ("b", "db")], 100, warmup_s=2)
    summary = run(load(doc))["summary"]
    db = summary["nodes"]["db"]
    assert db["utilization"] == pytest.approx(0.6, abs=0.05)
    assert db["arrivals"] == pytest.approx(2 * summary["requests"], rel=0.01)
    assert db["wait_ms"]["mean"] > 1
    assert db["mean_queue"] > 0.3


def test_without_a_balancer_calls_spread_round_robin_over_instances():
    # Two instances of one worker each, a constant 10 ms at 150 rps: alone, one instance would
    # queue without end; round robin keeps each at 0.75.
    doc = station(lam=150, service={"dist": "const", "mean": 10}, workers=1, instances=2,
                  queue=None, duration_s=60, warmup_s=5)
    summary = run(load(doc))["summary"]
    assert summary["nodes"]["s"]["utilization"] == pytest.approx(0.75, abs=0.03)
    assert summary["latency_ms"]["mean"] < 30


def test_traffic_steps_ramp_the_offered_rate():
    doc = design([node("c", "client", rps=500), node("s", "service", instances=20)],
                 [("c", "s")], 40,
                 traffic=[{"at_s": 10, "multiplier": 3, "ramp_s": 10},
                          {"at_s": 30, "multiplier": 0.5}])
    _, frames, _ = simulate(doc)
    rate = [f["offered_rps"] for f in frames]
    assert sum(rate[2:10]) / 8 == pytest.approx(500, rel=0.05)
    assert rate[14] == pytest.approx(500 * 2.0, rel=0.1)   # mid-ramp, t in [14, 15)
    assert sum(rate[21:30]) / 9 == pytest.approx(1500, rel=0.05)
    assert sum(rate[31:40]) / 9 == pytest.approx(250, rel=0.08)
    assert frames[10]["events"][0]["action"] == "traffic"


def test_live_traffic_control_applies_at_the_next_tick():
    sim = Simulation(load(design([node("c", "client", rps=500), node("s", "service")],
                                 [("c", "s")], 20)))
    for _ in range(5):
        sim.step()
    sim.apply({"kind": "traffic", "multiplier": 4, "ramp_s": 0})
    frames = [sim.step() for _ in range(5)]
    assert frames[0]["events"] == [{"t": 5.0, "action": "traffic", "multiplier": 4,
                                    "ramp_s": 0}]
    assert sum(f["offered_rps"] for f in frames) / 5 == pytest.approx(2000, rel=0.05)


def test_outage_fails_calls_unavailable_and_ends():
    doc = design([node("c", "client", rps=200), node("s", "service", workers=50),
                  node("db", "database")],
                 [("c", "s"), ("s", "db")], 20,
                 events=[{"at_s": 5, "action": "outage", "node": "db", "duration_s": 5}])
    summary, frames, _ = simulate(doc)
    assert frames[4]["errors"]["unavailable"] == 0
    assert frames[6]["errors"]["unavailable"] == pytest.approx(frames[6]["offered_rps"], rel=0.1)
    assert frames[6]["nodes"]["db"]["errors"]["unavailable"] > 0
    assert frames[6]["nodes"]["db"]["up"] == 0
    assert frames[12]["errors"]["unavailable"] == 0
    assert summary["errors"]["unavailable"] == pytest.approx(1000, rel=0.1)


def test_slowdown_multiplies_service_times_for_its_duration():
    doc = design([node("c", "client", rps=50),
                  node("s", "service", workers=100, service_ms={"dist": "const", "mean": 10})],
                 [("c", "s")], 20,
                 events=[{"at_s": 5, "action": "slowdown", "node": "s", "factor": 4,
                          "duration_s": 5}])
    _, frames, _ = simulate(doc)
    assert frames[3]["latency_ms"]["p50"] == pytest.approx(10, rel=0.01)
    assert frames[7]["latency_ms"]["p50"] == pytest.approx(40, rel=0.01)
    assert frames[15]["latency_ms"]["p50"] == pytest.approx(10, rel=0.01)


def test_requests_still_running_sixty_seconds_after_the_end_are_incomplete():
    doc = design([node("c", "client", rps=10),
                  node("s", "service", workers=1000, service_ms={"dist": "const",
                                                                 "mean": 90000})],
                 [("c", "s")], 5)
    summary = run(load(doc))["summary"]
    assert summary["incomplete"] == summary["requests"] > 0
    assert summary["ok"] == 0


def test_drained_requests_count_in_the_summary_but_make_no_frames():
    doc = design([node("c", "client", rps=100),
                  node("s", "service", workers=1000, service_ms={"dist": "const",
                                                                 "mean": 3000})],
                 [("c", "s")], 5)
    out = run(load(doc), frames=True)
    assert len(out["frames"]) == 5
    assert out["summary"]["ok"] == out["summary"]["requests"]


def test_in_flight_cap_refuses_new_requests_with_overload():
    doc = station(lam=1000, service=100, workers=1, queue=None, duration_s=5)
    summary, _, _ = simulate(doc, limits=Limits(max_in_flight=50))
    assert summary["errors"]["overload"] > 0.8 * summary["requests"]


def test_mean_of_latency_is_exact_and_percentiles_within_one_percent():
    doc = design([node("c", "client", rps=200),
                  node("s", "service", workers=1000,
                       service_ms={"dist": "uniform", "min": 10, "max": 30})],
                 [("c", "s")], 50)
    summary = run(load(doc))["summary"]
    lat = summary["latency_ms"]
    assert lat["mean"] == pytest.approx(20, rel=0.01)
    assert lat["p50"] == pytest.approx(20, rel=0.03)
    assert lat["p90"] == pytest.approx(28, rel=0.02)
    assert lat["max"] <= 30 and lat["p999"] <= lat["max"]


def test_histogram_relative_error_is_below_one_percent():
    from playground.engine.histogram import Histogram

    values = [10 ** (k / 97) for k in range(-300, 900)]
    for v in values:
        h = Histogram()
        h.add(v)
        h.add(1e12)
        h.add(1e-5)
        q = h.quantile(0.5)
        assert q is not None and abs(q - v) <= 0.01 * v
    h = Histogram()
    h.add_many(values)
    other = Histogram()
    other.add_many(values)
    h.merge(other)
    assert h.count() == 2 * len(values)
    assert h.quantile(1.0) == max(values)
    assert math.isclose(h.mean() or 0, sum(values) / len(values))


def test_a_vanishingly_small_traffic_multiplier_ends_emissions_instead_of_hanging():
    doc = design([node("c", "client", rps=100), node("s", "service")], [("c", "s")], 3,
                 traffic=[{"at_s": 2, "multiplier": 2.69, "ramp_s": 2},
                          {"at_s": 2, "multiplier": 5e-324, "ramp_s": 1}])
    summary = run(load(doc))["summary"]
    assert 150 < summary["requests"] < 300


def test_a_rate_that_underflows_to_zero_emits_nothing():
    doc = design([node("c", "client", rps=3.4e-276), node("s", "service")], [("c", "s")], 2,
                 traffic=[{"at_s": 0, "multiplier": 3.4e-276}])
    assert run(load(doc))["summary"]["requests"] == 0


def test_the_summary_gives_latency_of_all_requests_failures_included():
    """Every attempt times out at 20 ms (the service takes 100 ms): no success has a latency, and
    every request's latency, from its emission to its failure, is the timeout."""
    doc = design([node("c", "client", rps=50, timeout_ms=20),
                  node("s", "service", instances=1, workers=100, service_ms={"dist": "const", "mean": 100})],
                 [("c", "s")], 20)
    summary, _, _ = simulate(doc)
    assert summary["ok"] == 0 and summary["errors"]["timeout"] == summary["requests"] > 0
    assert summary["latency_ms"]["p50"] is None
    every = summary["latency_all_ms"]
    assert every["p50"] == pytest.approx(20, rel=0.01) and every["max"] == pytest.approx(20)
    assert every["mean"] == pytest.approx(20)


def test_latency_of_all_requests_mixes_successes_and_refusals():
    """One worker, no queue, past capacity: refused arrivals fail at once (0 ms), the rest take
    their service time; the mean of all is the successes' mean times their share."""
    doc = design([node("c", "client", rps=400),
                  node("s", "service", instances=1, workers=1, queue=0, service_ms={"dist": "const", "mean": 5})],
                 [("c", "s")], 30)
    summary, _, _ = simulate(doc)
    ok, failed = summary["ok"], summary["errors"]["overload"]
    assert failed > 0 and ok > 0
    assert summary["latency_ms"]["mean"] == pytest.approx(5)
    assert summary["latency_all_ms"]["mean"] == pytest.approx(5 * ok / (ok + failed), rel=1e-6)
    assert summary["latency_all_ms"]["p50"] == (0.0 if failed > ok else pytest.approx(5, rel=0.01))
