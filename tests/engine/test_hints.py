"""Hints before running: each from a document built here, the load estimate held against queueing
theory (M/M/c: rho = lambda x mean service / c) and against the engine's own measurement."""

from __future__ import annotations

import re

import pytest

from playground.engine import load, run
from playground.engine.hints import hints, hints_for, loads


def doc(*, rps=100, workflow="stateless", instances=2, workers=8, service_ms=10, state="none",
        algorithm="round_robin", client=None, api=None, db=None, edge=None, events=(), traffic=(),
        duration_s=60, lb=True):
    nodes = [{"id": "users", "kind": "client", "params": {"rps": rps, "workflow": workflow, **(client or {})}}]
    edges = []
    if lb:
        nodes.append({"id": "lb", "kind": "load_balancer", "params": {"algorithm": algorithm, "latency_ms": 0}})
        edges += [{"from": "users", "to": "lb"}, {"from": "lb", "to": "api"}]
    else:
        edges.append({"from": "users", "to": "api"})
    nodes.append({"id": "api", "kind": "service", "params": {"instances": instances, "workers": workers,
                                                              "service_ms": service_ms, "state": state,
                                                              **(api or {})}})
    if db is not None:
        nodes.append({"id": "db", "kind": "database", "params": db})
        edges.append({"from": "api", "to": "db", **(edge or {})})
    return load({"schema_version": 1, "nodes": nodes, "edges": edges,
                 "scenario": {"duration_s": duration_s, "seed": 2, "events": list(events),
                              "traffic": list(traffic)}})


def texts(d, node=None):
    return [h["text"] for h in hints(d) if node is None or h["node"] == node]


def only(d, pattern, node=None):
    found = [t for t in texts(d, node) if re.search(pattern, t)]
    assert len(found) == 1, (pattern, hints(d))
    return found[0]


@pytest.mark.parametrize(("rps", "instances", "workers", "service_ms"), [
    (2350, 2, 8, 8), (1200, 1, 16, 12), (110, 3, 1, 25)])
def test_the_load_hint_is_rho_of_queueing_theory(rps, instances, workers, service_ms):
    d = doc(rps=rps, instances=instances, workers=workers, service_ms=service_ms)
    rho = rps * service_ms / 1000 / (instances * workers)
    assert loads(d)["api"].utilization == pytest.approx(rho)
    text = only(d, r"of its capacity", "api")
    assert text.startswith(f"api: about {rho * 100:,.0f}% of its capacity")
    assert ("expect overload; add instances or workers" in text) == (rho >= 1)


def test_a_design_well_within_capacity_has_no_load_hint():
    assert not [t for t in texts(doc(rps=100)) if "capacity" in t]


def test_the_engine_measures_the_utilization_the_hint_predicts():
    d = doc(rps=1400, instances=2, workers=8, service_ms=10, lb=True, duration_s=120)
    predicted = loads(d)["api"].utilization
    assert predicted == pytest.approx(0.875)
    measured = run(d, seed=4)["summary"]["nodes"]["api"]["utilization"]
    assert abs(measured - predicted) / predicted < 0.04
    assert "queue and latency will grow" in only(d, r"of its capacity", "api")


def test_the_load_follows_the_peak_multiplier_downstream_calls_and_cache_misses():
    d = load({"schema_version": 1, "nodes": [
        {"id": "c", "kind": "client", "params": {"rps": 200}},
        {"id": "api", "kind": "service", "params": {"instances": 1, "workers": 4, "service_ms": 2}},
        {"id": "cache", "kind": "store", "params": {"role": "cache", "hit_ratio": 0.75, "latency_ms": 1}},
        {"id": "db", "kind": "database", "params": {"latency_ms": 10, "connections": 10}}],
        "edges": [{"from": "c", "to": "api"}, {"from": "api", "to": "cache", "calls": 2},
                  {"from": "cache", "to": "db"}],
        "scenario": {"duration_s": 60, "traffic": [{"at_s": 30, "multiplier": 3, "ramp_s": 10}]}})
    est = loads(d)
    assert est["cache"].arrivals_rps == pytest.approx(200 * 3 * 2)
    assert est["db"].arrivals_rps == pytest.approx(200 * 3 * 2 * 0.25)
    assert est["db"].utilization == pytest.approx(300 * 0.010 / 10)
    # api's worker is held for its own work and both cache calls (a miss waits for db).
    assert est["api"].holding_ms == pytest.approx(2 + 2 * (1 + 0.25 * 10))
    assert "at the traffic peak (x3)" in only(d, r"of its capacity", "api")


def test_local_sessions_behind_round_robin_and_the_fix():
    text = only(doc(workflow="session", state="local", instances=4), r"sessions in instance memory", "api")
    assert "behind round robin (lb)" in text and "about 75% of follow-up requests" in text
    assert "state external" in text and "sticky" in text
    assert not [t for t in texts(doc(workflow="session", state="local", instances=4, algorithm="sticky"))
                if "instance memory" in t]
    killed = doc(workflow="session", state="local", algorithm="sticky",
                 events=[{"at_s": 10, "action": "kill_instance", "node": "api"}])
    assert "logs its users out" in only(killed, r"instance memory", "api")


def test_uploads_on_local_disk():
    text = only(doc(workflow="upload", state="local", instances=2), r"upload parts on local disk", "api")
    assert "about 88% with 2 instances" in text  # 1 - 2^(1-4): all four parts on one of two instances


def test_payments_retried_without_keys_and_keys_in_one_instances_memory():
    text = only(doc(workflow="payment", client={"retries": 2, "timeout_ms": 100}), r"without idempotency keys")
    assert "set idempotency_keys on users" in text
    keyed = doc(workflow="payment", state="local", client={"retries": 2, "timeout_ms": 100, "idempotency_keys": True})
    assert "a retried payment that lands on another instance charges again" in only(keyed, r"idempotency keys in instance memory")
    assert not [t for t in texts(doc(workflow="payment", client={"timeout_ms": 100})) if "idempotency" in t]


def test_retries_at_several_layers_give_the_worst_amplification():
    d = doc(client={"retries": 3, "timeout_ms": 500}, db={}, edge={"retries": 2, "timeout_ms": 50})
    text = only(d, r"retries at 2 layers")
    assert "(users 3, api→db 2)" in text and "up to 4 x 3 = 12 attempts" in text
    assert not [t for t in texts(doc(client={"retries": 3, "timeout_ms": 500})) if "layers" in t]


def test_calls_without_timeouts():
    assert "never retried" in only(doc(client={"retries": 2}), r"has no timeout_ms", "users")
    edge = doc(db={"queue": 10}, edge={"retries": 2})
    assert only(edge, r"api→db retries 2x but has no timeout_ms", "api")
    busy_db = doc(rps=1000, db={"latency_ms": 10, "connections": 10})  # db at 100%, queue unbounded
    assert "db queues without bound" in only(busy_db, r"has no timeout_ms", "users")
    assert not [t for t in texts(doc(rps=100, db={})) if "timeout_ms" in t]


def test_an_unbounded_queue_under_retries():
    d = doc(db={}, edge={"retries": 1, "timeout_ms": 100})
    assert "bound the queue" in only(d, r"unbounded queue", "db")
    assert not [t for t in texts(doc(db={"queue": 100}, edge={"retries": 1, "timeout_ms": 100})) if "unbounded" in t]


def test_a_single_instance_that_nothing_replaces():
    kill = {"at_s": 20, "action": "kill_instance", "node": "api"}
    gone = doc(instances=1, api={"replace": False}, events=[kill])
    assert "down for the rest of the run" in only(gone, r"single instance", "api")
    replaced = doc(instances=1, api={"startup_s": 30}, events=[kill])
    assert "until its replacement starts (30 s" in only(replaced, r"single instance", "api")
    deployed = doc(instances=1, events=[{"at_s": 20, "action": "rolling_deploy", "node": "api"}])
    assert "deploys it at 20 s" in only(deployed, r"single instance", "api")
    assert not [t for t in texts(doc(instances=2, events=[kill])) if "single" in t]


def test_hints_for_a_document_that_does_not_load_are_empty():
    assert hints_for({"nodes": [{"id": "x", "kind": "nope"}]}) == []
    assert hints_for(doc(rps=5000).to_dict())
