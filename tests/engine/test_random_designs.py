"""200 random designs drawn from the parameter table (``random_designs.py``): each validates, runs
to its summary, and gives the bytes the general loop gave for it, recorded before that loop was
deleted (live controls included: ``helpers.same_as_reference``); and together they draw every parameter, choice, kind, action and
distribution of the table, found by walking the table, so a parameter added to ``params.py`` fails
here until the designs draw it (which they do on their own, walking the same table).

A run that fails with one of the engine bugs these designs found (``known_bug``), on a design that
has what that bug needs, is an expected failure naming the bug and the seed; any other failure
fails. Each bug is also reduced to a small design (``BUGS``)."""

from __future__ import annotations

import json
import random
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from playground.engine import params as table
from playground.engine.params import Param
from playground.engine.schema import validate
from tests.engine.helpers import design, node, output_on, same_as_reference
from tests.engine.random_designs import random_controls, random_design

SEEDS = range(200)

@cache
def case(seed: int) -> tuple[dict[str, Any], tuple[tuple[int, dict[str, Any]], ...]]:
    """The design of ``seed`` and the live controls sent to its run."""
    r = random.Random(seed)
    doc = random_design(r)
    return doc, tuple(random_controls(r, doc))


#: The 200 random designs as the table drew them when the general loop was deleted (engine
#: 1.6), with their live controls: the cases its recorded output covers. The table's draws
#: change as parameters join it; these stay, so the proof does too.
RECORDED = Path(__file__).with_name("reference_designs.json")


@cache
def recorded() -> list[dict[str, Any]]:
    return json.loads(RECORDED.read_text())


@pytest.mark.parametrize("seed", SEEDS)
def test_a_random_design_validates_and_runs_to_its_summary(seed):
    doc, controls = case(seed)
    assert validate(doc) == [], json.dumps(doc)
    out = json.loads(output_on(doc, controls=list(controls)))
    summary = out["summary"]
    assert len(out["frames"]) == round(doc["scenario"]["duration_s"] / doc["scenario"].get("tick_s", 1))
    assert 0 <= summary["ok"] <= summary["requests"] and summary["incomplete"] >= 0
    assert (summary["latency_ms"]["mean"] is not None) == (summary["ok"] > 0)


@pytest.mark.parametrize("seed", SEEDS)
def test_a_recorded_random_design_gives_the_general_loops_bytes(seed):
    entry = recorded()[seed]
    assert entry["seed"] == seed
    assert validate(entry["doc"]) == []
    same_as_reference(entry["doc"], controls=[(at, c) for at, c in entry["controls"]])


def _service(**params: Any) -> dict[str, Any]:
    return {"id": "api", "kind": "service", "params": params}


#: The engine bugs the random designs found (each raised, or gave other bytes on the compiled
#: core than on the general loop), reduced to a small design; each gives the recorded bytes.
BUGS = {
    # A synchronous call to a worker: it takes a worker or waits in its queue's FIFO.
    "sync-call-to-a-worker": design(
        [node("c", "client", rps=20), node("fn", "serverless"), node("w", "worker")],
        [("c", "fn"), ("fn", "w")], 2),
    # Instances leave while requests are on their way to them over a balancer edge: those
    # fail unavailable when they arrive, and are not failed (again) when the instance stops.
    "instance-leaves-while-a-request-is-in-transit": design(
        [node("c", "client"), node("lb", "load_balancer"), _service(instances=4)],
        [("c", "lb"), {"from": "lb", "to": "api", "latency_ms": 28.757}], 1,
        events=[{"at_s": 0.5, "action": "scale", "node": "api", "instances": 2}]),
    # A deploy under way is replaced by a newer one, or by autoscaling's changes.
    "rolling-deploy-under-autoscaling": design(
        [_service(instances=4, startup_s=0,
                  autoscale={"min": 1, "max": 3, "target_utilization": 1, "eval_s": 3})],
        [], 3, events=[{"at_s": 1, "action": "rolling_deploy", "node": "api", "drain": False}]),
    "two-rolling-deploys-overlap": design(
        [_service(startup_s=0.657)], [], 1,
        events=[{"at_s": 0, "action": "rolling_deploy", "node": "api", "interval_s": 1},
                {"at_s": 0.668, "action": "rolling_deploy", "node": "api", "drain": False}]),
    # The core's workflow table lost deletions to a hash computed with a signed overflow.
    "session-lost-retried": design(
        [node("c", "client", workflow="session", retries=1, retry_on=["session_lost"]),
         _service(state="local")], [("c", "api")], 2),
}


@pytest.mark.parametrize("name", sorted(BUGS))
def test_the_engine_bugs_found_stay_fixed(name):
    doc = BUGS[name]
    assert validate(doc) == []
    for seed in range(40):
        seeded = {**doc, "scenario": {**doc["scenario"], "seed": seed}}
        fast = same_as_reference(seeded)
    summary = json.loads(fast)["summary"]
    if name == "sync-call-to-a-worker":
        assert summary["nodes"]["w"]["arrivals"] > 0 and summary["ok"] > 0
    if name == "instance-leaves-while-a-request-is-in-transit":
        assert summary["requests"] > 0


# ---------------------------------------------------------------------------- coverage


def walk(params: tuple[Param, ...], section: str, values: dict[str, Any] | None) -> set[tuple]:
    """What ``values`` draws of ``params``: each name, each choice, null, true and false, each
    distribution and its fields, each field of a nested object. With ``values`` None: all there
    is to draw."""
    out: set[tuple] = set()
    for p in params:
        if values is not None and p.name not in values:
            continue
        v = values[p.name] if values is not None else None
        out.add((section, p.name))
        if p.nullable and (values is None or v is None):
            out.add((section, p.name, None))
        if values is not None and v is None:
            continue
        if p.type in ("enum", "causes"):
            drawn = p.choices if values is None else [v] if p.type == "enum" else v
            out |= {(section, p.name, c) for c in drawn}
        elif p.type == "bool":
            out |= {(section, p.name, b) for b in ((True, False) if values is None else (v,))}
        elif p.type == "dist":
            out |= _dist(v, values is None)
        elif p.type == "object":
            out |= walk(p.fields, f"{section}.{p.name}", v if values is not None else None)
    return out


def _dist(v: Any, everything: bool) -> set[tuple]:
    if everything:
        return {("dist", d, f.name) for d, fs in table.DIST_FIELDS.items() for f in fs} | {
            ("dist", d) for d in table.DIST_KINDS}
    if not isinstance(v, dict):
        return {("dist", "exp")}
    return {("dist", v["dist"])} | {("dist", v["dist"], k) for k in v if k != "dist"}


def _event(e: dict[str, Any] | None, section: str, base: tuple[Param, ...]) -> set[tuple]:
    action = None if e is None else e["action"]
    out = walk(base, section, e)
    for a, ps in table.ACTION_PARAMS.items():
        if e is None or a == action:
            out |= {(f"{section}.{a}",)} | walk(ps, f"{section}.{a}", e)
    return out


def drawn(doc: dict[str, Any] | None, controls: tuple = ()) -> set[tuple]:
    """Everything ``doc`` and its ``controls`` draw; with ``doc`` None, everything the table
    offers to draw."""
    every = doc is None
    out: set[tuple] = set()
    for kind in table.KINDS:
        nodes = [None] if every else [n for n in doc["nodes"] if n["kind"] == kind]
        for n in nodes:
            out |= {("kind", kind)} | walk(table.NODE_PARAMS[kind], kind, n and n["params"])
    for e in [None] if every else doc["edges"]:
        out |= walk(table.EDGE_PARAMS, "edge", e)
    sc = None if every else doc["scenario"]
    out |= walk(table.SCENARIO_PARAMS, "scenario", sc)
    for step in [None] if every else sc["traffic"]:
        out |= walk(table.TRAFFIC_PARAMS, "traffic", step)
    for e in [None] if every else sc["events"]:
        out |= _event(e, "event", table.EVENT_PARAMS)
    for c in [None, None] if every else [c for _, c in controls]:
        if c is None or c["kind"] == "traffic":
            out |= {("control", "traffic")} | walk(table.TRAFFIC_CONTROL_PARAMS, "control.traffic", c)
        if c is None or c["kind"] == "event":
            out |= {("control", "event")} | _event(c, "control.event", table.EVENT_PARAMS[1:])
    return out


def test_the_designs_draw_everything_the_table_has():
    want = drawn(None)
    got: set[tuple] = set()
    for seed in SEEDS:
        got |= drawn(*case(seed))
    assert got <= want, f"drawn but not in the table: {sorted(got - want, key=str)}"
    assert want - got == set(), f"never drawn in {len(SEEDS)} designs: " + ", ".join(
        map(str, sorted(want - got, key=str)))


def test_the_table_walk_sees_every_kind_action_choice_and_distribution():
    want = drawn(None)
    assert {("kind", k) for k in table.KINDS} <= want
    assert {(f"event.{a}",) for a in table.ACTION_PARAMS} <= want
    assert {("dist", d) for d in table.DIST_KINDS} <= want
    assert ("service", "state", "token") in want and ("edge", "mode", "async") in want
    assert ("service.autoscale", "eval_s") in want and ("client", "retry_on", "error") in want
    assert ("control.event.scale", "instances") in want and ("edge", "timeout_ms", None) in want
