"""The compiled core (compiled.py, jitcore.py) gives the output the general event loop gave
before it was deleted, byte for byte (``references.json``, recorded from it: see
``helpers.same_as_reference``): on the reference designs, on single stations, on every feature a
design may use, on random call-tree designs, and with instance life (kills, deploys, drains,
scaling, autoscaling) and live controls applied between its events. The same code runs as plain
Python with ``NUMBA_DISABLE_JIT=1``, with the same bytes."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from playground.engine import compiled
from playground.engine.limits import Limits
from playground.engine.schema import load
from playground.engine.simulation import Simulation
from tests.engine.helpers import design, node, output_on, same_as_reference
from tests.engine.helpers import station as station_design

ROOT = Path(__file__).resolve().parents[2]

_same = same_as_reference


def three_tier(duration_s: float = 10.0, rps: float = 2000.0) -> dict[str, Any]:
    return design([node("users", "client", rps=rps),
                   node("lb", "load_balancer", algorithm="round_robin"),
                   node("api", "service", instances=8, workers=16,
                        service_ms={"dist": "lognormal", "mean": 12, "cv": 1}),
                   node("redis", "store", role="state", latency_ms=1),
                   node("db", "database", latency_ms=5)],
                  [("users", "lb"), ("lb", "api"), ("api", "redis"),
                   {"from": "api", "to": "db", "calls": 0.3}], duration_s, warmup_s=2)


def tree(client: dict[str, Any] | None = None, edge: dict[str, Any] | None = None,
         algorithm: str = "round_robin", **scenario: Any) -> dict[str, Any]:
    """client -> balancer -> api (2 x 2 workers, queue 4) -> db and an external service."""
    return design([node("c", "client", rps=300, **(client or {})),
                   node("lb", "load_balancer", algorithm=algorithm),
                   node("api", "service", instances=2, workers=2, queue=4, service_ms=4),
                   node("db", "database", connections=3, queue=5, latency_ms=3),
                   node("ext", "external", latency_ms=2, error_rate=0.05)],
                  [("c", "lb"), ("lb", "api"), {"from": "api", "to": "db", **(edge or {})},
                   {"from": "api", "to": "ext", "calls": 0.5}],
                  scenario.pop("duration_s", 12), **scenario)


CASES: dict[str, tuple[dict[str, Any], Limits | None]] = {
    "three-tier": (three_tier(), None),
    "overload-and-errors": (tree(), None),
    "random-balancer": (tree(algorithm="random"), None),
    "least-connections": (tree(algorithm="least_connections"), None),
    "client-timeouts-retries-backoff": (
        tree(client={"timeout_ms": 15, "retries": 2, "backoff_ms": 5,
                     "retry_on": ["timeout", "overload", "error"]}), None),
    "edge-latency-timeout-retries": (
        tree(edge={"latency_ms": {"dist": "uniform", "min": 0.5, "max": 3}, "timeout_ms": 6,
                   "retries": 2, "calls": 2.5}), None),
    "traffic-ramps-warmup-ticks": (
        tree(tick_s=2, warmup_s=4, duration_s=20,
             traffic=[{"at_s": 4, "multiplier": 3, "ramp_s": 5},
                      {"at_s": 12, "multiplier": 0.2, "ramp_s": 0}]), None),
    "in-flight-cap": (station_design(1000, 50, 1, queue=None, duration_s=5),
                      Limits(max_in_flight=41)),
    "drain-incomplete": (station_design(20, {"dist": "const", "mean": 61000}, 100,
                                        duration_s=3), None),
    "no-request-at-all": (station_design(0.01, 1, 1, duration_s=2), None),
    "cache-aside-warming": (
        design([node("c", "client", rps=400),
                node("lb", "load_balancer", algorithm="least_connections"),
                node("api", "service", instances=2, workers=4, queue=10, service_ms=3),
                node("cache", "store", role="cache", keys=500, hit_ratio=0.8, capacity=3),
                node("db", "database", connections=4, latency_ms=4)],
               [("c", "lb"), ("lb", "api"), ("api", "cache"), ("cache", "db")], 10,
               warmup_s=1), None),
    "cdn-in-front-and-a-cache-without-a-backend": (
        design([node("c", "client", rps=300),
                node("edge", "cdn", hit_ratio=0.7, latency_ms=3),
                node("s", "service", instances=2, workers=2, queue=2, service_ms=5),
                node("cache", "store", role="cache", keys=50)],
               [("c", "edge"), ("edge", "s"), ("s", "cache")], 10), None),
    "object-storage-and-erlang": (
        design([node("c", "client", rps=200),
                node("s", "service", instances=3, workers=1, queue=None,
                     service_ms={"dist": "erlang", "mean": 9, "k": 3}),
                node("o", "object_storage", latency_ms={"dist": "const", "mean": 2})],
               [("c", "s"), ("s", "o")], 10), None),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_compiled_core_output_equals_the_general_loop_byte_for_byte(name):
    doc, limits = CASES[name]
    _same(doc, limits)


#: Single stations (the designs the single-station loop, also deleted, took).
STATIONS: dict[str, tuple[dict[str, Any], Limits | None]] = {
    "mm1-warmup": (station_design(700, 1, 1, duration_s=40, warmup_s=5), None),
    "mmck-overload": (station_design(900, 2, 2, queue=3, duration_s=30, warmup_s=2), None),
    "md1": (station_design(800, {"dist": "const", "mean": 1}, 1, duration_s=20), None),
    "mg1-ticks": (station_design(600, {"dist": "lognormal", "mean": 1, "cv": 2}, 1,
                                 duration_s=30, tick_s=3, warmup_s=6), None),
    "database": (design([node("c", "client", rps=500),
                         node("db", "database", connections=3, latency_ms=5)],
                        [("c", "db")], 20, warmup_s=1), None),
    "no-request-at-all": (station_design(0.01, 1, 1, duration_s=1), None),
}


@pytest.mark.parametrize("name", sorted(STATIONS))
def test_a_single_station_gives_the_general_loops_bytes(name):
    _same(*STATIONS[name])


@pytest.mark.parametrize("control", [
    {"kind": "traffic", "multiplier": 2, "ramp_s": 3},
    {"kind": "event", "action": "outage", "node": "s", "duration_s": 2},
    {"kind": "event", "action": "kill_instance", "node": "s"},
])
def test_a_live_control_on_a_single_station_gives_the_general_loops_bytes(control):
    doc = station_design(700, 1, 2, queue=5, duration_s=15, warmup_s=2)
    doc["nodes"][1]["params"]["startup_s"] = 2
    _same(doc, controls=[(6, control)])


def _plain(doc: dict[str, Any], limits: Limits | None = None) -> bool:
    return not Simulation(load(doc), limits=limits).core.full


def _forced_full(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every core run its full functions (compiled.Core.full), whatever its design."""
    def set_full(core: compiled.Core) -> None:
        core.full = True
    monkeypatch.setattr(compiled.Core, "_set_full", set_full)


PLAIN = sorted(name for name, (doc, limits) in CASES.items() if _plain(doc, limits))


def test_most_cases_run_the_plain_functions():
    assert len(PLAIN) >= len(CASES) // 2, PLAIN


@pytest.mark.parametrize("name", PLAIN)
def test_a_plain_design_gives_the_same_bytes_on_the_full_functions(name, monkeypatch):
    """The plain functions are the full ones with the rarer features' code left out: a design
    that uses none of them gives the same bytes on either."""
    doc, limits = CASES[name]
    plain = output_on(doc, limits)
    _forced_full(monkeypatch)
    assert not _plain(doc, limits)
    assert output_on(doc, limits) == plain


@pytest.mark.parametrize("feature", [
    ("api", {"queue_policy": "lifo"}), ("api", {"max_queue_wait_ms": 100}),
    ("api", {"rate_limit": {"rps": 100}}), ("api", {"cores": 2}),
    ("c", {"retry_budget": {"ratio": 0.1}}),
    ("c", {"adaptive_throttle": {"k": 2}}),
    ("edge", {"retry_budget": {"ratio": 0.1}}), ("edge", {"backoff_ms": 10}),
    ("edge", {"max_concurrent": 5}), ("edge", {"circuit_breaker": {}}),
], ids=lambda f: next(iter(f[1])))
def test_a_design_using_a_rarer_feature_runs_the_full_functions(feature):
    where, params = feature
    doc = design([node("c", "client", rps=50), node("api", "service", instances=2)],
                 [("c", "api")], 2)
    assert _plain(doc)
    if where == "edge":
        doc["edges"][0].update(params)
    else:
        next(n for n in doc["nodes"] if n["id"] == where)["params"].update(params)
    assert not _plain(doc)


@pytest.mark.parametrize("control", [
    {"kind": "event", "action": "instance_errors", "node": "api", "instance": 0},
    {"kind": "event", "action": "canary", "node": "api", "weight": 0.5, "watch_s": 2,
     "release": {"error_rate": 0.5}},
    {"kind": "event", "action": "rolling_deploy", "node": "api", "interval_s": 0,
     "release": {"slowdown": 2}},
], ids=lambda c: c["action"])
def test_a_live_fault_or_release_switches_a_plain_run_to_the_full_functions(control):
    """Faults and releases come at run time: the core takes the full functions from then on,
    and the run gives the bytes it gives when it takes them from the start."""
    doc = design([node("c", "client", rps=200), node("api", "service", instances=3,
                                                     startup_s=0)], [("c", "api")], 8)
    sim = Simulation(load(doc))
    sim.step()
    assert not sim.core.full
    sim.apply(control)
    sim.step()
    sim.step()
    assert sim.core.full
    switched = output_on(doc, controls=[(1, control)])
    with pytest.MonkeyPatch.context() as mp:
        _forced_full(mp)
        assert output_on(doc, controls=[(1, control)]) == switched


def test_the_cases_exercise_what_they_name():
    summary = json.loads(_same(*CASES["client-timeouts-retries-backoff"]))["summary"]
    assert summary["attempts"] > summary["requests"]
    assert summary["errors"]["timeout"] > 0 or summary["errors"]["overload"] > 0
    summary = json.loads(_same(*CASES["overload-and-errors"]))["summary"]
    assert summary["errors"]["overload"] > 0 and summary["errors"]["error"] > 0
    summary = json.loads(_same(*CASES["drain-incomplete"]))["summary"]
    assert summary["incomplete"] > 0


def _random_design(r: random.Random) -> dict[str, Any]:
    """A random call-tree design: clients, maybe balancers, services calling each other (to
    higher-numbered ones only, so no cycle) and leaves, with random distributions, edge
    parameters, client retries and traffic."""
    def dist() -> Any:
        mean = r.choice([0.5, 2, 5, 12])
        return r.choice([mean, {"dist": "const", "mean": mean},
                         {"dist": "lognormal", "mean": mean, "cv": r.choice([0.5, 2])},
                         {"dist": "uniform", "min": 0, "max": 2 * mean},
                         {"dist": "erlang", "mean": mean, "k": 2}])

    nodes, edges = [], []
    services = [f"s{i}" for i in range(r.randint(1, 3))]
    for sid in services:
        nodes.append(node(sid, "service", instances=r.randint(1, 3), workers=r.randint(1, 6),
                          queue=r.choice([None, 0, 3, 20]), service_ms=dist()))
    leaves = []
    for j in range(r.randint(0, 3)):
        kind = r.choice(["database", "store", "object_storage", "external", "cache"])
        lid = f"l{j}"
        params: dict[str, Any] = {"latency_ms": dist()}
        if kind == "database":
            params.update(connections=r.randint(1, 8), queue=r.choice([None, 2]))
        elif kind == "store":
            params.update(role="state", capacity=r.randint(2, 50))
        elif kind == "external":
            params.update(error_rate=r.choice([0, 0.1]))
        elif kind == "cache":
            kind = "store"
            params.update(role="cache", keys=r.choice([20, 3000]), hit_ratio=r.random(),
                          capacity=r.randint(2, 50))
        nodes.append(node(lid, kind, **params))
        leaves.append(lid)

    def edge(src: str, dst: str) -> dict[str, Any]:
        e: dict[str, Any] = {"from": src, "to": dst}
        if r.random() < 0.5:
            e["calls"] = r.choice([0.3, 1, 2, 2.5])
        if r.random() < 0.3:
            e["latency_ms"] = dist()
        if r.random() < 0.3:
            e["timeout_ms"] = r.choice([5, 30])
            e["retries"] = r.randint(0, 2)
        return e

    for i, sid in enumerate(services):
        for later in services[i + 1:] + leaves:
            if r.random() < 0.5:
                edges.append(edge(sid, later))
    # A miss at a cache goes to a database, if there is one after it.
    for j, lid in enumerate(leaves):
        later_dbs = [m for m in leaves[j + 1:] if nodes[len(services) + leaves.index(m)]["kind"]
                     == "database"]
        if nodes[len(services) + j]["params"].get("role") == "cache" and later_dbs:
            edges.append(edge(lid, later_dbs[0]))
    for k in range(r.randint(1, 2)):
        cid = f"c{k}"
        cp: dict[str, Any] = {"rps": r.choice([50, 200, 600])}
        if r.random() < 0.4:
            cp.update(timeout_ms=r.choice([10, 50]), retries=r.randint(0, 2),
                      backoff_ms=r.choice([1, 20]),
                      retry_on=r.sample(["timeout", "overload", "unavailable", "error"], 2))
        nodes.insert(0, node(cid, "client", **cp))
        target = r.choice(services)
        if r.random() < 0.6:
            lb = f"lb{k}"
            nodes.append(node(lb, "load_balancer", latency_ms=r.choice([0, 0.1]),
                              algorithm=r.choice(["round_robin", "random",
                                                  "least_connections"])))
            edges.append({"from": cid, "to": lb})
            edges.append({"from": lb, "to": target})
        elif r.random() < 0.3:
            cdn = f"cdn{k}"
            nodes.append(node(cdn, "cdn", hit_ratio=r.random(), latency_ms=dist()))
            edges.append({"from": cid, "to": cdn})
            edges.append({"from": cdn, "to": target})
        else:
            edges.append({"from": cid, "to": target})
    tick = r.choice([0.5, 1, 2])
    duration = tick * r.randint(4, 12)
    scenario: dict[str, Any] = {"warmup_s": tick * r.randint(0, 2)}
    if r.random() < 0.4:
        scenario["traffic"] = [{"at_s": duration / 3, "multiplier": r.choice([0.5, 3]),
                                "ramp_s": r.choice([0, 3])}]
    if r.random() < 0.5:
        scenario["events"] = [_random_event(r, nodes, duration) for _ in range(r.randint(1, 3))]
    if r.random() < 0.15:
        svc = next(n for n in nodes if n["kind"] == "service")
        svc["params"]["autoscale"] = {"min": 1, "max": 4, "target_utilization": 0.5,
                                      "eval_s": tick * 2, "cooldown_s": tick}
    return design(nodes, edges, duration, tick_s=tick, seed=r.randint(0, 10**6), **scenario)


def _random_event(r: random.Random, nodes: list[dict[str, Any]], duration: float
                  ) -> dict[str, Any]:
    """A scheduled event on a random node it fits."""
    at = round(r.uniform(0, duration * 0.8), 2)
    services = [n["id"] for n in nodes if n["kind"] == "service"]
    caches = [n["id"] for n in nodes
              if n["kind"] == "cdn" or n["params"].get("role") == "cache"]
    others = [n["id"] for n in nodes if n["kind"] != "client"]
    actions = ["outage", "slowdown", "kill_instance", "rolling_deploy", "scale"]
    action = r.choice(actions + (["flush_cache"] * 2 if caches else []))
    if action == "outage":
        return {"at_s": at, "action": action, "node": r.choice(others),
                "duration_s": r.choice([0.5, 2])}
    if action == "slowdown":
        return {"at_s": at, "action": action, "node": r.choice(others),
                "factor": r.choice([0.5, 4]), "duration_s": 2}
    if action == "flush_cache":
        return {"at_s": at, "action": action, "node": r.choice(caches)}
    node_id = r.choice(services)
    if action == "kill_instance":
        return {"at_s": at, "action": action, "node": node_id}
    if action == "rolling_deploy":
        return {"at_s": at, "action": action, "node": node_id, "interval_s": 1,
                "drain": r.random() < 0.5}
    return {"at_s": at, "action": action, "node": node_id, "instances": r.randint(1, 4)}


@pytest.mark.parametrize("k", range(60))
def test_random_call_tree_designs_give_the_same_bytes_on_both_loops(k):
    doc = _random_design(random.Random(k))
    _same(doc)


@pytest.mark.parametrize("control", [
    {"kind": "traffic", "multiplier": 2, "ramp_s": 3},
    {"kind": "event", "action": "outage", "node": "db", "duration_s": 2},
    {"kind": "event", "action": "kill_instance", "node": "api"},
    {"kind": "event", "action": "slowdown", "node": "api", "factor": 3, "duration_s": 2},
    {"kind": "event", "action": "flush_cache", "node": "cache"},
])
def test_a_live_control_is_applied_in_the_core_with_the_same_bytes(control):
    # Timeouts and retries leave stale events and visits in flight at the control.
    doc = tree(client={"timeout_ms": 15, "retries": 1, "backoff_ms": 5,
                       "retry_on": ["timeout", "overload"]},
               edge={"latency_ms": 1, "timeout_ms": 6, "retries": 1},
               traffic=[{"at_s": 9, "multiplier": 1.5, "ramp_s": 1}])
    doc["nodes"][2]["params"]["startup_s"] = 2
    # A cache with its keys seen, and a flush of it.
    doc["nodes"].append(node("cache", "store", role="cache", keys=2000))
    doc["edges"].append({"from": "api", "to": "cache"})
    _same(doc, controls=[(5, control)])


def _stateful(workflow: str, state: str, algorithm: str = "round_robin", **client: Any
              ) -> dict[str, Any]:
    """A client with a workflow, a balancer, an owner keeping its state where ``state`` says (a
    state store for external, with a timeout and retries on the state edge), a database and an
    external service; small, so that users come back and instances disagree."""
    doc = tree(client={"workflow": workflow, "users": 60, **client}, algorithm=algorithm,
               duration_s=10)
    doc["nodes"][2]["params"].update(state=state, instances=3, workers=3)
    doc["nodes"].append(node("redis", "store", role="state", latency_ms=0.4, capacity=4))
    doc["edges"].insert(2, {"from": "api", "to": "redis", "timeout_ms": 2, "retries": 1})
    return doc


STATEFUL = {
    "session-local": _stateful("session", "local"),
    "session-external": _stateful("session", "external"),
    "session-token": _stateful("session", "token"),
    "session-local-sticky": _stateful("session", "local", "sticky"),
    "stateless-sticky": _stateful("stateless", "none", "sticky"),
    "upload-local": _stateful("upload", "local", parts=3),
    "upload-external": _stateful("upload", "external", parts=4),
    "upload-local-sticky": _stateful("upload", "local", "sticky", parts=3),
    "payment-keys-local": _stateful("payment", "local", idempotency_keys=True, retries=2,
                                    timeout_ms=8, retry_on=["timeout", "error"]),
    "payment-keys-external": _stateful("payment", "external", idempotency_keys=True,
                                       retries=2, timeout_ms=8),
    "payment-no-keys": _stateful("payment", "none", retries=2, timeout_ms=8),
}


@pytest.mark.parametrize("name", sorted(STATEFUL))
def test_workflows_and_sticky_balancers_run_in_the_core_with_the_same_bytes(name):
    out = json.loads(_same(STATEFUL[name]))
    summary = out["summary"]
    workflow = STATEFUL[name]["nodes"][0]["params"]["workflow"]
    # The case reaches what it names.
    if workflow == "session":
        assert summary["users"]["logins"] > 0
        if name == "session-local":
            assert summary["errors"].get("session_lost", 0) > 0
    elif workflow == "upload":
        assert summary["uploads"]["started"] > 0
    elif workflow == "payment":
        assert summary["charges"]["total"] > 0
        if name == "payment-no-keys":
            assert summary["charges"]["duplicate"] > 0


@pytest.mark.parametrize("control", [
    {"kind": "event", "action": "kill_instance", "node": "api"},
    {"kind": "event", "action": "outage", "node": "redis", "duration_s": 2},
])
def test_workflow_state_survives_live_controls(control):
    """Sessions, pins and deferred visits in the core, an instance killed or a store down."""
    for name in ("session-local-sticky", "upload-local", "payment-keys-external"):
        _same(STATEFUL[name], controls=[(4, control)])


KINDS_BEYOND = {
    "queue-sync-worker-db": design(
        [node("c", "client", rps=300),
         node("api", "service", instances=2, workers=2, queue=4, service_ms=3),
         node("q", "queue", max_depth=50, latency_ms=1), node("w", "worker", workers=2, service_ms=8),
         node("db", "database", connections=2, latency_ms=2)],
        [("c", "api"), ("api", "q"), ("q", "w"), ("w", "db")], 10),
    "queue-async-full-with-retries": design(
        [node("c", "client", rps=300),
         node("api", "service", instances=2, workers=2, queue=4, service_ms=3),
         node("q", "queue", max_depth=20, latency_ms=1), node("w", "worker", workers=1, service_ms=8)],
        [("c", "api"), {"from": "api", "to": "q", "mode": "async", "latency_ms": 0.5, "retries": 1},
         ("q", "w")], 10),
    "serverless-cold-starts-and-sessions": design(
        [node("c", "client", rps=300, workflow="session", users=50),
         node("fn", "serverless", max_concurrency=5, keep_warm_s=0.5, state="external"),
         node("kv", "store", role="state", latency_ms=0.3)], [("c", "fn"), ("fn", "kv")], 10),
    "cache-beyond-2-24-keys": design(
        [node("c", "client", rps=300), node("api", "service"),
         node("cache", "store", role="cache", keys=2**25), node("db", "database")],
        [("c", "api"), ("api", "cache"), ("cache", "db")], 5),
}


@pytest.mark.parametrize("name", sorted(KINDS_BEYOND))
def test_queues_workers_serverless_and_huge_caches_run_in_the_core_with_the_same_bytes(name):
    summary = json.loads(_same(KINDS_BEYOND[name]))["summary"]
    nodes = summary["nodes"]
    if "q" in nodes:
        assert nodes["w"]["arrivals"] > 0 and nodes["q"]["arrivals"] > 0
    if name.startswith("queue-async"):
        assert summary["errors"].get("overload", 0) > 0 or nodes["q"]["mean_queue"] > 0
    if "fn" in nodes:
        assert nodes["fn"]["arrivals"] > 0 and summary["users"]["logins"] > 0


@pytest.mark.parametrize("action", [
    {"action": "outage", "node": "db", "duration_s": 2},
    {"action": "slowdown", "node": "api", "factor": 4, "duration_s": 2},
    {"action": "flush_cache", "node": "cache"},
    {"action": "kill_instance", "node": "api"},
    {"action": "rolling_deploy", "node": "api", "interval_s": 1},
    {"action": "scale", "node": "api", "instances": 3},
])
def test_scheduled_events_run_in_the_core_mid_tick(action):
    doc = tree(tick_s=2, duration_s=12)
    doc["nodes"][2]["params"]["startup_s"] = 1
    doc["nodes"].append(node("cache", "store", role="cache", keys=300))
    doc["edges"].append({"from": "api", "to": "cache"})
    doc["scenario"]["events"] = [{"at_s": 5.3, **action}]
    out = json.loads(_same(doc))
    frame = out["frames"][2]  # the tick of [4, 6) s
    assert frame["events"][0]["action"] == action["action"]


def test_memory_follows_requests_in_flight_not_run_length():
    sim = Simulation(load(station_design(500, 4, 4, queue=10, duration_s=200,
                                         balancer="round_robin")))
    assert sim.core is not None
    peak = 0
    while not sim.done:
        sim.step()
        peak = max(peak, sim.live_visits())
    assert 0 < peak < 200
    assert sim.core.S.VI.shape[0] == 4096  # the visit arrays never had to grow


def test_the_same_code_runs_as_plain_python_with_the_same_bytes(tmp_path):
    """One source: with numba's JIT off (``NUMBA_DISABLE_JIT=1``) jitcore's functions run as
    Python, for debugging and coverage, and give the compiled functions' bytes."""
    path = tmp_path / "three-tier.json"
    path.write_text(json.dumps(three_tier(4)))

    def cli(jit_off: str) -> str:
        env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "NUMBA_DISABLE_JIT": jit_off,
               "PYTHONHASHSEED": jit_off}
        return subprocess.run([sys.executable, "-m", "playground.engine", str(path), "--frames",
                               "--seed", "5"], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=300, check=True).stdout

    compiled_, plain = cli("0"), cli("1")
    assert json.loads(compiled_)["summary"]["requests"] > 3000
    assert compiled_ == plain


def _fleet(events: list[dict[str, Any]], workflow: str = "session") -> dict[str, Any]:
    """Sessions on local state behind a balancer that checks health, an autoscaled service of
    four (so scaling drains instances now and then), client timeouts and balancer retries."""
    doc = design([node("c", "client", rps=300, workflow=workflow, users=100, timeout_ms=50,
                       retries=1),
                  node("lb", "load_balancer", health_check_s=2),
                  node("api", "service", instances=4, workers=2, queue=4, service_ms=3,
                       state="local", startup_s=1,
                       autoscale={"min": 2, "max": 6, "target_utilization": 0.5, "eval_s": 2,
                                  "cooldown_s": 2}),
                  node("db", "database", connections=3, latency_ms=2)],
                 [("c", "lb"), {"from": "lb", "to": "api", "retries": 1}, ("api", "db")], 14)
    doc["scenario"]["events"] = events
    return doc


LIFE = {
    "kill-two": _fleet([{"at_s": 3.5, "action": "kill_instance", "node": "api", "count": 2}]),
    "deploy-draining": _fleet([{"at_s": 2.5, "action": "rolling_deploy", "node": "api",
                                "batch": 2, "interval_s": 1}]),
    "deploy-without-drain": _fleet([{"at_s": 2.5, "action": "rolling_deploy", "node": "api",
                                     "drain": False}]),
    "scale-in-and-out": _fleet([{"at_s": 2.5, "action": "scale", "node": "api", "instances": 2},
                                {"at_s": 6, "action": "scale", "node": "api", "instances": 5}]),
    "autoscaling-only": _fleet([]),
    "uploads-and-a-kill": _fleet([{"at_s": 3.5, "action": "kill_instance", "node": "api"}],
                                 workflow="upload"),
}
LIVE = [(3, {"kind": "event", "action": "kill_instance", "node": "api"}),
        (5, {"kind": "traffic", "multiplier": 2.5, "ramp_s": 2}),
        (8, {"kind": "event", "action": "outage", "node": "db", "duration_s": 1})]


@pytest.mark.parametrize("live", [False, True])
@pytest.mark.parametrize("name", sorted(LIFE))
def test_instance_life_runs_in_the_core_with_the_same_bytes(name, live):
    """Kills, drains (an instance stops when its last request leaves, mid-event: Python stops
    it after the event with the tokens the core set aside), deploys, scaling, autoscaling and
    live controls, all without leaving the core."""
    out = json.loads(_same(LIFE[name], controls=LIVE if live else None))
    actions = {e["action"] for f in out["frames"] for e in f["events"]}
    assert "autoscale" in actions or "instance_stopped" in actions or "instance_lost" in actions
    if name == "deploy-draining":
        assert {"instance_draining", "instance_stopped", "instance_ready"} <= actions


@pytest.mark.parametrize("slug", ["vercel", "netflix", "rolling-deploy", "retry-storm"])
def test_between_ticks_only_the_lists_frames_changed_go_back_and_they_all_do(monkeypatch, slug):
    """At the start of each tick only the counters frames changed are copied from the
    simulation's lists into the arrays (``Core._load(diff=True)``): afterwards the arrays hold
    every list exactly, as a full copy would; with a live control between two ticks too."""
    import numpy as np
    import yaml

    from playground.engine.compiled import _NODE_FLOATS, _NODE_INTS, Core

    doc = yaml.safe_load((ROOT / "templates_lib" / f"{slug}.yaml").read_text())["document"]
    load_ = Core._load
    checked = []

    def checked_load(self, diff=False):
        load_(self, diff)
        sim, S = self.sim, self.S
        nn = len(sim.ids)
        for row, name in _NODE_INTS:
            assert S.NI[row, :nn].tolist() == getattr(sim, name), name
        for row, name in _NODE_FLOATS:
            assert S.NF[row, :nn].tolist() == getattr(sim, name), name
        assert S.NERR[:nn].tolist() == sim.n_err
        assert S.F.tolist() == sim.F and S.W.tolist() == sim.W
        checked.append(diff)

    monkeypatch.setattr(Core, "_load", checked_load)
    sim = Simulation(load(doc))
    node_id = next(n["id"] for n in doc["nodes"] if n["kind"] in ("service", "serverless"))
    for k in range(sim.n_ticks):
        if k == 15:
            sim.apply({"kind": "traffic", "multiplier": 1.5, "ramp_s": 0})
        if k == 25:
            sim.apply({"kind": "event", "action": "slowdown", "node": node_id, "factor": 2,
                       "duration_s": 5})
        sim.step()
    assert checked.count(True) >= 30
    assert np.isfinite(sim.summary()["latency_ms"]["mean"] or 0.0)
