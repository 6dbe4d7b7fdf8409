"""Faults and deploys (docs/schema.md, "Faults and deploys (engine 1.7)"), on real engine runs:
``instance_errors`` (a gray failure that fails fast, and the sinkhole it makes of a
least-connections balancer), a ``release`` rolled out by a rolling deploy, a ``canary`` whose gate
fails or passes, ``blue_green`` (a second fleet, one switch, the old one kept idle and billed for
``keep_s``), ``rollback``; each also as a live control; and their validation."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from playground.engine.schema import load, validate, validate_control
from playground.engine.simulation import Simulation
from tests.engine.helpers import design, node

ROOT = Path(__file__).resolve().parents[2]


def fleet(events: list[dict[str, Any]] | None = None, rps: float = 200, instances: int = 4,
          algorithm: str = "round_robin", duration_s: float = 30, service_ms: Any = None,
          **api: Any) -> dict[str, Any]:
    """client -> balancer (no delay, no cost) -> api (const 10 ms, starts in 1 s, $1/hour)."""
    params = {"instances": instances, "workers": 8, "queue": 64, "startup_s": 1,
              "cost_per_hour": 1.0,
              "service_ms": service_ms or {"dist": "const", "mean": 10}, **api}
    return design([node("c", "client", rps=rps),
                   node("lb", "load_balancer", algorithm=algorithm, latency_ms=0,
                        cost_per_hour=0),
                   node("api", "service", **params)],
                  [("c", "lb"), ("lb", "api")], duration_s, events=events or [])


def run(doc: dict[str, Any], controls: dict[int, dict[str, Any]] | None = None
        ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The summary and frames of ``doc``, each control applied live before its tick."""
    sim = Simulation(load(doc))
    frames = []
    while not sim.done:
        if controls and sim.k in controls:
            sim.apply(controls[sim.k])
        frames.append(sim.step())
    return sim.summary(), frames


def events(frames: list[dict[str, Any]], action: str) -> list[dict[str, Any]]:
    return [e for f in frames for e in f["events"] if e["action"] == action]


def error_share(frames: list[dict[str, Any]], t0: float, t1: float) -> float:
    """Errors per request over the frames ending in (t0, t1]."""
    got = [f for f in frames if t0 < f["t"] <= t1]
    return sum(f["errors"]["error"] for f in got) / sum(f["offered_rps"] for f in got)


def serving(frames: list[dict[str, Any]]) -> set[int]:
    """The api's instances running at the end, from the frames' instance events."""
    running: set[int] = set(range(4))
    for f in frames:
        for e in f["events"]:
            if e.get("node") == "api" and e["action"] == "instance_started":
                running.add(e["instance"])
            if e.get("node") == "api" and e["action"] in ("instance_stopped", "instance_lost"):
                running.discard(e["instance"])
    return running


# ---------------------------------------------------------------------------- instance_errors


def test_instance_errors_fail_their_share_at_once_with_no_service_time():
    doc = fleet([{"at_s": 0, "action": "instance_errors", "node": "api", "instance": 1}])
    summary, frames = run(doc)
    # Round robin over four: every fourth request lands on instance 1 and fails error.
    assert summary["errors"]["error"] / summary["requests"] == pytest.approx(0.25, abs=0.002)
    assert events(frames, "instance_errors")[0]["instance"] == 1
    # No service time: a quarter of the arrivals stay 0 ms, the others exactly 10 ms.
    assert summary["nodes"]["api"]["mean_sojourn_ms"] == pytest.approx(7.5, abs=0.05)
    assert summary["latency_ms"]["p50"] == pytest.approx(10, rel=0.01)


def test_instance_errors_take_the_lowest_numbered_up_and_end_after_duration_s():
    doc = fleet([{"at_s": 5, "action": "instance_errors", "node": "api", "error_rate": 0.5,
                  "duration_s": 10}])
    _, frames = run(doc)
    assert events(frames, "instance_errors")[0]["instance"] == 0
    assert events(frames, "instance_errors_end") == [
        {"t": 15.0, "action": "instance_errors_end", "node": "api", "instance": 0}]
    assert error_share(frames, 0, 5) == 0
    assert error_share(frames, 5, 15) == pytest.approx(0.125, abs=0.03)
    assert error_share(frames, 15, 30) == 0


def test_instance_errors_on_an_instance_not_running_do_nothing():
    doc = fleet([{"at_s": 1, "action": "instance_errors", "node": "api", "instance": 9}])
    summary, frames = run(doc)
    assert events(frames, "instance_errors")[0]["skipped"] == "no such instance"
    assert summary["errors"]["error"] == 0


def test_a_fast_failing_instance_is_a_sinkhole_for_least_connections():
    """It holds nothing, so least connections sends it more than its share."""
    def share(algorithm: str) -> float:
        doc = fleet([{"at_s": 0, "action": "instance_errors", "node": "api", "instance": 3}],
                    rps=1200, algorithm=algorithm, service_ms={"dist": "const", "mean": 20})
        summary, _ = run(doc)
        return summary["errors"]["error"] / summary["requests"]

    assert share("round_robin") == pytest.approx(0.25, abs=0.002)
    assert share("least_connections") > 0.4


# ---------------------------------------------------------------------------- releases


def test_a_release_with_errors_rolls_out_and_errors_grow_as_instances_are_replaced():
    doc = fleet([{"at_s": 5, "action": "rolling_deploy", "node": "api", "interval_s": 2,
                  "release": {"error_rate": 0.2}}], duration_s=40)
    summary, frames = run(doc)
    ready = [e["t"] for e in events(frames, "instance_ready")]
    assert len(ready) == 4 and ready[-1] < 25
    assert error_share(frames, 0, 5) == 0
    # A quarter of the fleet more on the new version after each batch serves (at 6, 9, 12, 15).
    shares = [error_share(frames, a, a + 3) for a in (6, 9, 12)] + [error_share(frames, 16, 40)]
    assert shares == pytest.approx([0.05, 0.1, 0.15, 0.2], abs=0.045)
    assert serving(frames) == {4, 5, 6, 7}
    # The errors come after the work: those requests took their 10 ms too.
    assert summary["nodes"]["api"]["mean_sojourn_ms"] == pytest.approx(10, abs=0.05)


def test_a_release_slowdown_multiplies_the_new_versions_service_times():
    doc = fleet([{"at_s": 2, "action": "rolling_deploy", "node": "api", "batch": 4,
                  "release": {"slowdown": 3}}], duration_s=10)
    _, frames = run(doc)
    assert frames[0]["latency_ms"]["max"] == pytest.approx(10, rel=0.01)
    assert frames[-1]["latency_ms"]["p50"] == pytest.approx(30, rel=0.01)


def test_a_release_that_changes_nothing_makes_no_draw():
    """A release of error rate 0 and slowdown 1 gives the plain deploy's summary exactly."""
    def summary(release: dict[str, Any] | None) -> dict[str, Any]:
        ev = {"at_s": 3, "action": "rolling_deploy", "node": "api", "interval_s": 1}
        return run(fleet([{**ev, "release": release} if release else ev],
                         service_ms=8, duration_s=15))[0]

    assert summary({"error_rate": 0, "slowdown": 1}) == summary(None)


# ---------------------------------------------------------------------------- canary


def test_a_bad_canary_fails_its_gate_is_stopped_and_the_fleet_is_unchanged():
    doc = fleet([{"at_s": 2, "action": "canary", "node": "api", "weight": 0.2, "watch_s": 10,
                  "release": {"error_rate": 0.5}}])
    summary, frames = run(doc)
    started = events(frames, "canary_started")
    assert started == [{"t": 3.0, "action": "canary_started", "node": "api", "instance": 4,
                        "weight": 0.2}]
    failed = events(frames, "canary_failed")
    assert len(failed) == 1 and failed[0]["t"] == 13.0 and failed[0]["instance"] == 4
    assert failed[0]["requests"] == pytest.approx(0.2 * 200 * 10, rel=0.15)
    assert failed[0]["error_ratio"] == pytest.approx(0.5, abs=0.07)
    assert failed[0]["errors"] == round(failed[0]["error_ratio"] * failed[0]["requests"])
    assert not events(frames, "canary_passed")
    assert serving(frames) == {0, 1, 2, 3}
    assert [e["instance"] for e in events(frames, "instance_stopped")] == [4]
    assert error_share(frames, 3, 13) == pytest.approx(0.1, abs=0.03)
    assert error_share(frames, 14, 30) == 0
    assert frames[-1]["nodes"]["api"]["up"] == 4


def test_a_canary_whose_p99_is_above_the_gate_fails():
    doc = fleet([{"at_s": 1, "action": "canary", "node": "api", "weight": 0.3, "watch_s": 5,
                  "gate": {"max_error_ratio": 0.01, "max_p99_ms": 30},
                  "release": {"slowdown": 5}}], duration_s=10)
    _, frames = run(doc)
    failed = events(frames, "canary_failed")[0]
    assert failed["errors"] == 0 and failed["p99_ms"] == pytest.approx(50, rel=0.01)


def test_a_good_canary_passes_and_the_fleet_is_replaced():
    doc = fleet([{"at_s": 2, "action": "canary", "node": "api", "weight": 0.1, "watch_s": 5,
                  "gate": {"max_p99_ms": 12}}], rps=50, duration_s=120)
    summary, frames = run(doc)
    passed = events(frames, "canary_passed")
    assert len(passed) == 1 and passed[0]["t"] == 8.0 and passed[0]["errors"] == 0
    assert passed[0]["p99_ms"] == pytest.approx(10, rel=0.01)
    # The canary took the newest old instance's place; the rest were replaced one by one.
    assert [e["instance"] for e in events(frames, "instance_stopped")] == [3, 0, 1, 2]
    assert serving(frames) == {4, 5, 6, 7}
    assert frames[-1]["nodes"]["api"]["up"] == 4
    assert summary["errors"]["error"] == 0 and summary["errors"]["unavailable"] == 0


def test_a_canary_then_blue_green_switches_to_a_fleet_around_the_canary():
    doc = fleet([{"at_s": 1, "action": "canary", "node": "api", "watch_s": 3,
                  "then": "blue_green"}], duration_s=20)
    _, frames = run(doc)
    switched = events(frames, "blue_green_switched")
    assert switched[0]["instances"] == [4, 5, 6, 7] and switched[0]["kept"] == [0, 1, 2, 3]


# ---------------------------------------------------------------------------- blue-green


def test_a_new_deploy_stops_the_fleet_a_blue_green_kept_so_fleets_never_pile_up():
    # Ten blue-greens 3 s apart, each keeping the old fleet for 300 s: each new one drains and
    # stops the fleet the last one kept, so at most two fleets run (and are billed) at a time.
    doc = fleet([{"at_s": 3 + 3 * k, "action": "blue_green", "node": "api", "keep_s": 300}
                 for k in range(10)], instances=2, duration_s=40)
    _, frames = run(doc)
    assert max(f["cost_per_hour"] for f in frames) <= 6  # serving, kept or new, and draining
    assert frames[-1]["cost_per_hour"] == 4              # the last switch's kept fleet, idle
    assert len(events(frames, "blue_green_switched")) == 10


def test_blue_green_launches_a_fleet_switches_at_once_and_keeps_the_old_idle_for_keep_s():
    doc = fleet([{"at_s": 5, "action": "blue_green", "node": "api", "keep_s": 10,
                  "release": {"slowdown": 2}}], instances=2, duration_s=30)
    summary, frames = run(doc)
    cost = {f["t"]: f["cost_per_hour"] for f in frames}
    assert cost[5.0] == 2 and cost[6.0] == 4      # the new fleet is billed from its launch
    assert cost[16.0] == 4                         # the old one, idle, until keep_s is over
    assert cost[18.0] == 2
    assert events(frames, "blue_green_switched") == [
        {"t": 6.0, "action": "blue_green_switched", "node": "api", "instances": [2, 3],
         "kept": [0, 1]}]
    assert [(e["t"], e["instance"]) for e in events(frames, "instance_stopped")] == [
        (16.0, 0), (16.0, 1)]
    # All traffic moves at the switch: 10 ms before it, 20 ms (the new version) right after.
    assert frames[5]["latency_ms"]["max"] == pytest.approx(10, rel=0.01)
    assert frames[6]["latency_ms"]["p50"] == pytest.approx(20, rel=0.01)
    assert frames[6]["latency_ms"]["p50"] == frames[6]["latency_ms"]["max"]
    assert frames[10]["nodes"]["api"]["up"] == 4
    assert summary["errors"]["unavailable"] == 0
    assert summary["cost"]["total"] == pytest.approx((2 * 30 + 2 * 11) / 3600, abs=1e-6)


# ---------------------------------------------------------------------------- rollback


def test_rollback_restores_the_old_version_by_a_rolling_deploy():
    doc = fleet([{"at_s": 2, "action": "rolling_deploy", "node": "api", "interval_s": 0,
                  "release": {"error_rate": 0.3}},
                 {"at_s": 12, "action": "rollback", "node": "api"}], rps=100, duration_s=120)
    _, frames = run(doc)
    assert events(frames, "rollback")[0]["to"] == "rolling"
    assert error_share(frames, 7, 12) == pytest.approx(0.3, abs=0.06)
    # A rolling deploy with the defaults: one instance, then 30 s, and so on.
    assert error_share(frames, 14, 43) == pytest.approx(0.225, abs=0.04)
    assert error_share(frames, 110, 120) == 0
    assert serving(frames) == {8, 9, 10, 11}


def test_rollback_during_a_deploy_keeps_the_instances_still_on_the_old_version():
    doc = fleet([{"at_s": 2, "action": "rolling_deploy", "node": "api", "interval_s": 5,
                  "release": {"error_rate": 1}},
                 {"at_s": 6, "action": "rollback", "node": "api"}], duration_s=30)
    _, frames = run(doc)
    # Instance 0 was replaced by 4 (ready at 3); the rollback at 6 ends the deploy and
    # replaces 4 alone (by 5): 1, 2 and 3, still on the old version, never leave.
    assert serving(frames) == {1, 2, 3, 5}
    assert error_share(frames, 3, 6) == pytest.approx(0.25, abs=0.05)
    assert error_share(frames, 7, 30) == 0


def test_rollback_within_keep_s_of_a_blue_green_switch_brings_back_the_kept_fleet_at_once():
    doc = fleet([{"at_s": 2, "action": "blue_green", "node": "api", "keep_s": 30,
                  "release": {"error_rate": 1}},
                 {"at_s": 8, "action": "rollback", "node": "api"}], instances=2)
    _, frames = run(doc)
    assert events(frames, "rollback")[0]["to"] == "kept fleet"
    assert error_share(frames, 4, 8) == pytest.approx(1.0)
    # Requests the new fleet held at the rollback still fail after their work; no others.
    assert error_share(frames, 8, 9) < 0.02
    assert error_share(frames, 9, 30) == 0
    assert serving(frames) == {0, 1}


def test_rollback_with_no_deploy_to_roll_back_does_nothing():
    doc = fleet([{"at_s": 2, "action": "rollback", "node": "api"}], duration_s=5)
    summary, frames = run(doc)
    assert events(frames, "rollback") == [{"t": 2.0, "action": "rollback", "node": "api",
                                           "skipped": "no deploy to roll back"}]
    assert not events(frames, "instance_started")
    baseline, _ = run(fleet(duration_s=5))
    assert summary == baseline


# ---------------------------------------------------------------------------- live controls


@pytest.mark.parametrize("events_", [
    [{"action": "instance_errors", "node": "api", "instance": 2, "error_rate": 0.5,
      "duration_s": 4}],
    [{"action": "canary", "node": "api", "weight": 0.3, "watch_s": 3,
      "release": {"error_rate": 0.5}}],
    [{"action": "canary", "node": "api", "watch_s": 2, "then": "blue_green"}],
    [{"action": "blue_green", "node": "api", "keep_s": 3, "release": {"slowdown": 2}}],
    [{"action": "rolling_deploy", "node": "api", "interval_s": 1, "release": {"error_rate": 1}},
     {"action": "rollback", "node": "api"}],
], ids=["instance_errors", "canary", "canary-then-blue-green", "blue_green", "rollback"])
def test_each_works_as_a_live_control_as_it_does_scheduled(events_):
    """A live control applied before tick k does what the same event at k's start does."""
    at = [3, 8][:len(events_)]
    scheduled = fleet([{"at_s": float(a), **e} for a, e in zip(at, events_, strict=True)],
                      duration_s=20)
    live = {a: {"kind": "event", **e} for a, e in zip(at, events_, strict=True)}
    for control in live.values():
        assert validate_control(control, load(fleet())) == []
    s1, f1 = run(scheduled)
    s2, f2 = run(fleet(duration_s=20), live)
    assert f2 == f1 and s2 == s1
    assert any(f["events"] for f in f2[3:])


# ---------------------------------------------------------------------------- validation


@pytest.mark.parametrize(("event", "path", "message"), [
    ({"action": "instance_errors", "error_rate": 1.5}, "error_rate", "must be <= 1"),
    ({"action": "instance_errors", "instance": -1}, "instance", "must be >= 0"),
    ({"action": "instance_errors", "instance": 1.5}, "instance", "must be an integer"),
    ({"action": "instance_errors", "duration_s": 0}, "duration_s", "must be > 0"),
    ({"action": "rolling_deploy", "release": {"slowdown": 0}}, "release.slowdown",
     "must be >= 0.01"),
    ({"action": "rolling_deploy", "release": {"error_rate": 2}}, "release.error_rate",
     "must be <= 1"),
    ({"action": "rolling_deploy", "release": {"errors": 0.1}}, "release.errors",
     "unknown field (did you mean 'error_rate'?)"),
    ({"action": "rolling_deploy", "release": 0.1}, "release", "must be an object, not a number"),
    ({"action": "canary", "weight": 1.2}, "weight", "must be <= 1"),
    ({"action": "canary", "gate": {"max_error_ratio": -0.1}}, "gate.max_error_ratio",
     "must be >= 0"),
    ({"action": "canary", "gate": {"max_p99_ms": "fast"}}, "gate.max_p99_ms",
     "must be a number, not a string"),
    ({"action": "canary", "then": "sideways"}, "then", "must be one of rolling, blue_green"),
    ({"action": "blue_green", "keep_s": -1}, "keep_s", "must be >= 0"),
    ({"action": "rollback", "to": 3}, "to", "unknown field"),
])
def test_bad_fields_are_named(event, path, message):
    doc = fleet([{"at_s": 1, "node": "api", **event}])
    problems = [(p.path, p.message) for p in validate(doc)]
    assert (f"scenario.events[0].{path}", message) in problems, problems
    control = {"kind": "event", "node": "api", **event}
    assert (path, message) in [(p.path, p.message) for p in validate_control(control, load(fleet()))]


@pytest.mark.parametrize("action", ["instance_errors", "canary", "blue_green", "rollback"])
def test_the_new_actions_fit_a_service_only(action):
    doc = design([node("c", "client"), node("db", "database")], [("c", "db")], 5,
                 events=[{"at_s": 1, "action": action, "node": "db"}])
    assert [(p.path, p.message) for p in validate(doc)] == [
        ("scenario.events[0].node", f"{action} fits a service, not a database")]


def test_defaults_are_filled_and_dumped():
    doc = load(fleet([{"at_s": 1, "action": "canary", "node": "api"},
                      {"at_s": 2, "action": "instance_errors", "node": "api"},
                      {"at_s": 3, "action": "blue_green", "node": "api"}]))
    dumped = [e.to_dict() for e in doc.scenario.events]
    assert dumped == [
        {"at_s": 1.0, "action": "canary", "node": "api", "weight": 0.05, "watch_s": 60.0,
         "gate": {"max_error_ratio": 0.01, "max_p99_ms": None}, "release": None,
         "then": "rolling"},
        {"at_s": 2.0, "action": "instance_errors", "node": "api", "instance": None,
         "error_rate": 1.0, "duration_s": None},
        {"at_s": 3.0, "action": "blue_green", "node": "api", "release": None, "keep_s": 300.0}]
    assert load(doc.to_dict()) == doc


# ---------------------------------------------------------------------------- one source


def test_the_same_code_runs_as_plain_python_with_the_same_bytes(tmp_path):
    doc = fleet([{"at_s": 1, "action": "instance_errors", "node": "api", "error_rate": 0.3},
                 {"at_s": 2, "action": "canary", "node": "api", "watch_s": 2, "weight": 0.3,
                  "release": {"error_rate": 0.1, "slowdown": 1.5},
                  "gate": {"max_error_ratio": 0.5}},
                 {"at_s": 12, "action": "blue_green", "node": "api", "keep_s": 2},
                 {"at_s": 16, "action": "rollback", "node": "api"}],
                algorithm="least_connections", duration_s=20)
    path = tmp_path / "faults.json"
    path.write_text(json.dumps(doc))

    def cli(jit_off: str) -> str:
        env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "NUMBA_DISABLE_JIT": jit_off}
        return subprocess.run([sys.executable, "-m", "playground.engine", str(path), "--frames"],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
                              check=True).stdout

    compiled_, plain = cli("0"), cli("1")
    out = json.loads(compiled_)
    assert events(out["frames"], "canary_passed") and events(out["frames"], "rollback")
    assert compiled_ == plain
