"""Circuit breakers (docs/schema.md "Resilience"): an edge's breaker opens on its window of
completed calls, fails calls circuit_open at once while open, lets probes through half-open and
closes or opens again on them; frames show its state and its changes. Real runs, counted
exactly where the design makes the count exact."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from playground.engine.document import causes_listed
from playground.engine.schema import validate
from tests.engine.helpers import design, node, output_on, simulate

ROOT = Path(__file__).resolve().parents[2]
BREAKER = {"failure_ratio": 0.5, "min_calls": 20, "window_s": 10, "open_s": 2,
           "half_open_calls": 3}


def _outage(breaker: dict, outage_s: float = 5.0, duration_s: float = 12, rps: float = 50,
            edge: dict | None = None, service_ms: object = 1, seed: int = 4) -> dict:
    """A client calling a service through a breaker; the service is out from 0 to ``outage_s``
    (its calls fail unavailable at once: a breaker's outcomes come at the call's own time)."""
    return design([node("c", "client", rps=rps),
                   node("s", "service", instances=1, workers=100, service_ms=service_ms,
                        startup_s=0)],
                  [{"from": "c", "to": "s", "circuit_breaker": breaker, **(edge or {})}],
                  duration_s, seed=seed,
                  events=[{"at_s": 0, "action": "outage", "node": "s", "duration_s": outage_s}])


def breaker_events(frames: list[dict]) -> list[tuple[float, str, str]]:
    return [(e["t"], e["action"], e["edge"]) for f in frames for e in f["events"]
            if e["action"].startswith("breaker_")]


def node_errors(frames: list[dict], node_id: str, cause: str) -> float:
    return round(sum(f["nodes"][node_id]["errors"].get(cause, 0.0) for f in frames), 6)


def test_an_outage_opens_the_breaker_probes_reopen_it_and_it_closes_once_the_callee_is_back():
    summary, frames, _ = simulate(_outage(BREAKER))
    events = breaker_events(frames)
    actions = [a for _, a, _ in events]
    assert {edge for _, _, edge in events} == {"c->s"}
    # closed -> open, then (half_open -> open) while the service is out, then half_open -> closed.
    assert actions[0] == "breaker_open" and actions[-2:] == ["breaker_half_open", "breaker_closed"]
    middle = actions[1:-2]
    assert middle == ["breaker_half_open", "breaker_open"] * (len(middle) // 2)
    reopened = len(middle) // 2
    assert reopened >= 1
    # Each half-open comes open_s after its opening, exactly; every probe failed during the
    # outage (it fails at once, so the breaker opens again at the probe's call), the last
    # half-open spell's probes came after it.
    for (t_open, a, _), (t_half, b, _) in zip(events[0:-1:2], events[1::2], strict=True):
        assert (a, b) == ("breaker_open", "breaker_half_open")
        assert t_half == pytest.approx(t_open + 2, abs=2e-6)
    for t, a, _ in events[2:-2:2]:
        assert a == "breaker_open" and t < 5
    assert events[-1][0] >= 5 and events[-1][0] >= events[-2][0]
    # Exact counts: the first min_calls calls reached the service and failed; then only one probe
    # per failed half-open spell, then the three probes that succeeded and every later call
    # (all successes). Everything else failed circuit_open at the client, at once.
    arrivals = summary["nodes"]["s"]["arrivals"]
    errors = summary["errors"]
    assert errors["unavailable"] == 20 + reopened
    assert arrivals == 20 + reopened + summary["ok"]
    assert errors["circuit_open"] == summary["requests"] - summary["ok"] - errors["unavailable"]
    assert errors["circuit_open"] > 0 and summary["incomplete"] == 0
    assert node_errors(frames, "c", "circuit_open") == errors["circuit_open"]
    assert node_errors(frames, "s", "circuit_open") == 0
    # No arrival at the service in a tick the breaker spent open from start to end.
    changes = [t for t, _, _ in events]
    for f in frames:
        t0 = f["t"] - 1
        if f["breakers"]["c->s"] == "open" and not any(t0 <= t < f["t"] for t in changes):
            assert f["nodes"]["s"]["rps"] == 0


def test_frames_show_each_breakers_state_after_its_last_change():
    _, frames, _ = simulate(_outage(BREAKER))
    state, seen = "closed", set()
    names = {"breaker_open": "open", "breaker_half_open": "half_open",
             "breaker_closed": "closed"}
    for f in frames:
        for e in f["events"]:
            if e["action"] in names:
                assert f["t"] - 1 <= e["t"] < f["t"]
                state = names[e["action"]]
        assert f["breakers"] == {"c->s": state}
        seen.add(state)
    assert seen == {"closed", "open"}  # frames fall where the breaker is closed or open here


def test_half_open_lets_only_its_probes_through_and_closes_when_they_all_succeeded():
    # Probes take 200 ms: while they are out, every other call fails circuit_open.
    breaker = {**BREAKER, "min_calls": 10, "open_s": 4}
    summary, frames, _ = simulate(_outage(breaker, outage_s=3, rps=100,
                                          service_ms={"dist": "const", "mean": 200}))
    events = breaker_events(frames)
    assert [a for _, a, _ in events] == ["breaker_open", "breaker_half_open", "breaker_closed"]
    t_half, t_closed = events[1][0], events[2][0]
    assert t_half == pytest.approx(events[0][0] + 4, abs=2e-6)
    assert t_closed - t_half >= 0.2 - 1e-6
    errors = summary["errors"]
    assert errors["unavailable"] == 10
    # Arrivals: the ten that opened it, then three probes, then every call after it closed.
    assert summary["nodes"]["s"]["arrivals"] == 10 + summary["ok"]
    tick = frames[int(t_half)]  # the tick the probes were out in
    assert tick["breakers"]["c->s"] == "closed" and tick["errors"]["circuit_open"] > 0


@pytest.mark.parametrize("min_calls", [1, 7, 30])
def test_the_breaker_opens_on_exactly_min_calls_failed_calls(min_calls):
    # open_s beyond the run: once open, no call reaches the service again.
    breaker = {**BREAKER, "min_calls": min_calls, "open_s": 100}
    summary, frames, _ = simulate(_outage(breaker, outage_s=10))
    assert summary["nodes"]["s"]["arrivals"] == min_calls
    assert summary["errors"]["unavailable"] == min_calls
    assert summary["errors"]["circuit_open"] == summary["requests"] - min_calls
    assert [a for _, a, _ in breaker_events(frames)] == ["breaker_open"]


def test_a_failed_share_below_failure_ratio_never_opens_it_and_one_above_does():
    def run(ratio: float) -> tuple[dict, list]:
        doc = design([node("c", "client", rps=100), node("x", "external", latency_ms=0,
                                                         error_rate=0.2)],
                     [{"from": "c", "to": "x",
                       "circuit_breaker": {**BREAKER, "failure_ratio": ratio}}], 30, seed=2)
        summary, frames, _ = simulate(doc)
        return summary, breaker_events(frames)

    summary, events = run(0.5)
    assert events == [] and summary["errors"]["circuit_open"] == 0
    assert summary["errors"]["error"] == pytest.approx(0.2 * summary["requests"], rel=0.1)
    summary, events = run(0.15)
    assert events and events[0][1] == "breaker_open" and summary["errors"]["circuit_open"] > 0


def test_retries_while_open_fail_at_once_without_reaching_the_callee():
    breaker = {**BREAKER, "min_calls": 6, "open_s": 100}
    summary, frames, _ = simulate(_outage(breaker, outage_s=10, edge={"retries": 3}))
    # Every request tried four times (edge retries of the client's call are its attempts);
    # only the first six calls reached the service, the others failed circuit_open at once.
    assert summary["attempts"] == 4 * summary["requests"]
    assert summary["nodes"]["s"]["arrivals"] == 6
    assert node_errors(frames, "c", "circuit_open") == summary["attempts"] - 6
    assert summary["latency_all_ms"]["max"] == 0
    # The second request's last two tries met the open breaker: it failed circuit_open.
    assert summary["errors"]["unavailable"] == 1
    assert summary["errors"]["circuit_open"] == summary["requests"] - 1


def test_a_timeout_is_a_failed_call_for_the_breaker():
    # The service answers in 50 ms, the client gives up after 10: every call times out.
    doc = design([node("c", "client", rps=50, timeout_ms=10),
                  node("s", "service", instances=1, workers=100,
                       service_ms={"dist": "const", "mean": 50})],
                 [{"from": "c", "to": "s", "circuit_breaker": {**BREAKER, "open_s": 100}}], 5,
                 seed=3)
    summary, frames, _ = simulate(doc)
    # It opens at the 20th timeout; a call made in the 10 ms before it was let through and
    # times out after (about one in two at 50 rps).
    timeouts = summary["errors"]["timeout"]
    assert 20 <= timeouts <= 22
    assert summary["nodes"]["s"]["arrivals"] == timeouts
    assert summary["errors"]["circuit_open"] == summary["requests"] - timeouts
    assert [a for _, a, _ in breaker_events(frames)] == ["breaker_open"]


def test_a_design_without_a_breaker_has_no_breakers_key_and_no_circuit_open():
    doc = _outage(BREAKER)
    del doc["edges"][0]["circuit_breaker"]
    summary, frames, _ = simulate(doc)
    assert all("breakers" not in f and "circuit_open" not in f["errors"] for f in frames)
    assert "circuit_open" not in summary["errors"]
    assert not breaker_events(frames)


def test_edges_between_the_same_nodes_are_named_by_document_order():
    doc = design([node("c", "client", rps=20), node("a", "service", startup_s=0),
                  node("b", "database")],
                 [("c", "a"), {"from": "a", "to": "b", "circuit_breaker": BREAKER},
                  ("a", "b"), {"from": "a", "to": "b", "circuit_breaker": {}}], 3)
    _, frames, _ = simulate(doc)
    assert frames[-1]["breakers"] == {"a->b": "closed", "a->b#3": "closed"}
    assert "circuit_open" in frames[-1]["errors"]


def test_causes_listed_names_circuit_open_for_a_design_with_a_breaker():
    nodes = [("client", {}), ("service", {})]
    assert "circuit_open" not in causes_listed(nodes, [{"from": "c", "to": "s"}])
    assert "circuit_open" in causes_listed(nodes, [{"from": "c", "to": "s",
                                                    "circuit_breaker": {}}])


@pytest.mark.parametrize(("breaker", "path", "message"), [
    ({"failure_ratio": 1.5}, "circuit_breaker.failure_ratio", "must be <= 1"),
    ({"failure_ratio": -0.1}, "circuit_breaker.failure_ratio", "must be >= 0"),
    ({"min_calls": 0}, "circuit_breaker.min_calls", "must be >= 1"),
    ({"min_calls": 2.5}, "circuit_breaker.min_calls", "integer"),
    ({"window_s": 0.05}, "circuit_breaker.window_s", "must be >= 0.1"),
    ({"window_s": 4000}, "circuit_breaker.window_s", "must be <= 3600"),
    ({"open_s": 0}, "circuit_breaker.open_s", "must be >= 0.1"),
    ({"half_open_calls": 1001}, "circuit_breaker.half_open_calls", "must be <= 1000"),
    ({"ratio": 0.5}, "circuit_breaker.ratio", "unknown field"),
    ("on", "circuit_breaker", "object"),
])
def test_the_parameter_validates_with_errors_naming_the_field(breaker, path, message):
    problems = validate(_outage(breaker))
    assert [p.path for p in problems] == [f"edges[0].{path}"]
    assert message in problems[0].message


def test_a_breaker_only_guards_synchronous_calls():
    doc = design([node("c", "client"), node("s", "service"), node("q", "queue"),
                  node("w", "worker")],
                 [("c", "s"), {"from": "s", "to": "q", "mode": "async", "circuit_breaker": {}},
                  {"from": "q", "to": "w", "circuit_breaker": {}}], 5)
    assert [p.path for p in validate(doc)] == ["edges[1].circuit_breaker",
                                               "edges[2].circuit_breaker"]
    assert validate(_outage({})) == []


def test_the_core_without_the_jit_gives_the_same_bytes():
    doc = _outage(BREAKER)
    compiled = output_on(doc)
    script = ("import json, sys; from tests.engine.helpers import output_on; "
              "sys.stdout.write(output_on(json.loads(sys.stdin.read())))")
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1", "PYTHONPATH": str(ROOT)}
    plain = subprocess.run([sys.executable, "-c", script], input=json.dumps(doc), cwd=ROOT,
                           env=env, capture_output=True, text=True, check=True, timeout=300)
    assert plain.stdout == compiled
    assert '"breaker_open"' in compiled


def _window_invariants(sim) -> tuple[int, int]:
    """The pool of window records after a frame: every record is in exactly one list (an
    edge's window, in time order, or the free list), and each window's counts are its
    records'. Returns (records in windows, pool size)."""
    from playground.engine import compiled as cc

    S = sim.core.S
    EI, M, RT, RI = S.EI, S.M, S.RT, S.RI
    seen: set[int] = set()
    for e in sim.breakers:
        r, last_t, n, failed = int(EI[cc.E_CBHEAD, e]), -1.0, 0, 0
        while r >= 0:
            assert r not in seen and RT[r] > last_t
            seen.add(r)
            last_t = float(RT[r])
            n += int(RI[cc.R_OK, r] + RI[cc.R_FAIL, r])
            failed += int(RI[cc.R_FAIL, r])
            if RI[cc.R_NEXT, r] < 0:
                assert EI[cc.E_CBTAIL, e] == r
            r = int(RI[cc.R_NEXT, r])
        assert (n, failed) == (EI[cc.E_CBN, e], EI[cc.E_CBF, e])
        if EI[cc.E_CBST, e] != cc.CB_CLOSED:
            assert n == 0
    used = len(seen)
    r, free = int(M[cc.M_RFREE]), 0
    while r >= 0:
        assert r not in seen
        seen.add(r)
        free += 1
        r = int(RI[cc.R_NEXT, r])
    assert free == M[cc.M_RNFREE] and len(seen) == RT.shape[0]
    return used, RT.shape[0]


def test_the_window_records_stay_consistent_as_their_pool_grows():
    breaker = {"failure_ratio": 0.3, "min_calls": 50, "window_s": 8, "open_s": 1,
               "half_open_calls": 5}
    doc = design([node("c", "client", rps=1500, timeout_ms=200, retries=1,
                       retry_on=["timeout", "circuit_open"], backoff_ms=5),
                  node("s", "service", instances=3, workers=20, service_ms=5, startup_s=1),
                  node("x", "external", latency_ms=10, error_rate=0.1)],
                 [{"from": "c", "to": "s",
                   "circuit_breaker": {**breaker, "failure_ratio": 0.5, "window_s": 2}},
                  {"from": "s", "to": "x", "calls": 0.5, "timeout_ms": 30, "retries": 1,
                   "circuit_breaker": breaker}], 12,
                 events=[{"at_s": 3, "action": "kill_instance", "node": "s"},
                         {"at_s": 6, "action": "slowdown", "node": "s", "factor": 20,
                          "duration_s": 2}])
    _, frames, probes = simulate(doc, probe=_window_invariants)
    # The windows held thousands of completions (one record per edge and time): more than the
    # pool's first 1,024 records.
    assert max(p[0] for p in probes) > 5000 and probes[-1][1] > 1024
    assert {e for _, _, e in breaker_events(frames)} >= {"c->s"}
