"""Random design documents drawn from the parameter table (``params.py``), for the engine's tests.

Every parameter of every kind, edge, scenario, traffic step, event action and live control is
drawn by walking the table: a value inside its range or its choices (a distribution of any
``DIST_KINDS``, a nested object field by field, null where it is allowed), or left out for its
default. A parameter added to the table is drawn the moment it is there; a new *type* of
parameter makes ``draw`` raise until it is taught here.

What the table cannot say comes from docs/schema.md and is kept here: which kind may call which,
one state owner per client path with its state access, times within the run, durations and
frames that are multiples of ``tick_s``. And the designs are kept small so one runs in a few tens
of milliseconds: a few simulated seconds, tens of requests per second, short latencies, small
fleets, few users and keys, a bounded fan-out. Those caps are by unit (``SMALL_BY_UNIT``) and by
name (``SMALL_BY_NAME``); a number with neither is drawn up to ten above its minimum (or twice its
default), or its maximum when that is smaller.

Terms
-----
caller
    A kind that may have outgoing edges: load balancers, services, serverless functions,
    workers, cdns, queues and cache stores. Every other kind (state stores too) calls nothing;
    callers come before the kinds that call nothing, and every edge goes forward in the node
    list, so no design has a cycle.
"""

from __future__ import annotations

import math
import random
from typing import Any

from playground.engine import params as table
from playground.engine.params import Param
from playground.engine.schema import ASYNC_CALLERS, OWNER_KINDS, action_fits

#: The largest value drawn for a number, by its unit ("s": the run's duration, set per design).
SMALL_BY_UNIT: dict[str, float] = {
    "ms": 30, "requests/s": 80, "users": 40, "keys": 200, "instances": 4, "workers": 6,
    "connections": 6, "containers": 8, "requests": 10, "queries": 10, "operations": 20,
    "messages": 30, "parts": 5, "calls": 2.5, "x": 4,
}
#: ... and by name, before the unit.
SMALL_BY_NAME: dict[str, float] = {"retries": 3, "seed": 2**53 - 1}
#: Drawn always: their defaults would make a design too big to run quickly.
ALWAYS = frozenset({"rps"})
#: Share of optional parameters drawn (the rest keep their default) and of nullable ones null.
P_DRAWN = 0.7
P_NULL = 0.3
#: Expected calls one client request makes downstream, at most.
MAX_FANOUT = 10.0
#: Kinds with outgoing edges, and those whose one edge is the rule (with calls 1).
CALLERS = frozenset({"load_balancer", "service", "serverless", "worker", "cdn", "queue", "store"})
ONE_EDGE = frozenset({"client", "load_balancer", "queue"})
_TIMING = ("duration_s", "warmup_s", "tick_s")


def _bounds(p: Param, duration: float) -> tuple[float, float]:
    """The interval a number is drawn from: the table's range, cut to a small design's."""
    lo, hi = float(p.min or 0), float(p.max if p.max is not None else table.BIG)
    cap = SMALL_BY_NAME.get(p.name)
    if cap is None:
        cap = duration if p.unit == "s" else SMALL_BY_UNIT.get(p.unit)
    if cap is None:
        cap = max(lo + 10, 2 * float(p.default or 0))
    hi = min(hi, max(cap, lo))
    if p.min_exclusive:
        lo += 1 if p.type == "int" else max((hi - lo) * 0.02, 1e-3)
    if p.max_exclusive:
        hi -= 1 if p.type == "int" else max((hi - lo) * 0.02, 1e-3)
    return lo, max(lo, hi)


def _number(r: random.Random, p: Param, lo: float, hi: float) -> float | int:
    """A value in [lo, hi]: either end now and then, else uniform (rounded)."""
    u = r.random()
    if p.type == "int":
        lo_i, hi_i = math.ceil(lo), math.floor(hi)
        return lo_i if u < 0.15 else hi_i if u < 0.3 else r.randint(lo_i, hi_i)
    x = lo if u < 0.15 else hi if u < 0.3 else r.uniform(lo, hi)
    rounded = round(x, 3)
    return rounded if lo <= rounded <= hi else x


def draw(r: random.Random, p: Param, duration: float) -> Any:
    """A value of ``p`` the table allows, in a small design of ``duration`` seconds."""
    if p.nullable and r.random() < P_NULL:
        return None
    if p.type in ("int", "number"):
        return _number(r, p, *_bounds(p, duration))
    if p.type == "bool":
        return r.random() < 0.5
    if p.type == "enum":
        return r.choice(p.choices)
    if p.type == "causes":
        return r.sample(p.choices, r.randint(0, len(p.choices)))
    if p.type == "dist":
        return _dist(r, p, duration)
    if p.type == "object":
        return _fields(r, p.fields, duration)
    raise NotImplementedError(f"random_designs.draw: no way to draw a {p.type} ({p.name}) yet")


def _dist(r: random.Random, p: Param, duration: float) -> Any:
    """A distribution: a plain number (an exponential's mean) or an object of any kind whose
    mean, min and max keep ``p``'s bounds."""
    kind = r.choice(table.DIST_KINDS)
    if kind == "exp" and r.random() < 0.5:
        return _number(r, p, *_bounds(p, duration))
    out: dict[str, Any] = {"dist": kind}
    for f in table.DIST_FIELDS[kind]:
        if f.name in ("mean", "min", "max"):
            out[f.name] = _number(r, p, *_bounds(p, duration))
        else:
            out[f.name] = draw(r, f, duration)
    return _ordered(out)


def _ordered(obj: dict[str, Any]) -> dict[str, Any]:
    """A ``min`` above its ``max`` swapped (uniform distributions, autoscaling)."""
    if isinstance(obj.get("min"), (int, float)) and isinstance(obj.get("max"), (int, float)) \
            and obj["min"] > obj["max"]:
        obj["min"], obj["max"] = obj["max"], obj["min"]
    return obj


def _fields(r: random.Random, params: tuple[Param, ...], duration: float,
            skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """Required fields always, optional ones now and then."""
    out = {p.name: draw(r, p, duration) for p in params
           if p.name not in skip and (p.required or p.name in ALWAYS or r.random() < P_DRAWN)}
    return _ordered(out)


def _at(r: random.Random, duration: float) -> float:
    """A time within the run (< duration_s)."""
    return min(round(r.uniform(0, duration), 3), round(duration * 0.99, 3))


def _fits(nodes: list[dict[str, Any]], action: str) -> list[str]:
    return [n["id"] for n in nodes if action_fits(action, n["kind"], n["params"])]


def random_event(r: random.Random, nodes: list[dict[str, Any]], duration: float,
                 control: bool = False) -> dict[str, Any] | None:
    """An event (or, with ``control``, a live event control) on a node its action fits."""
    base = table.EVENT_PARAMS[1:] if control else table.EVENT_PARAMS
    action_param = next(p for p in base if p.name == "action")
    actions = [a for a in action_param.choices if _fits(nodes, a)]
    if not actions:
        return None
    action = r.choice(actions)
    out: dict[str, Any] = {"kind": "event"} if control else {"at_s": _at(r, duration)}
    out.update(action=action, node=r.choice(_fits(nodes, action)))
    out.update(_fields(r, base + table.ACTION_PARAMS[action], duration,
                       skip=("at_s", "action", "node")))
    return out


def random_controls(r: random.Random, doc: dict[str, Any]) -> list[tuple[int, dict[str, Any]]]:
    """Live controls for a run of ``doc``: ``(tick before which it applies, control)``, from
    the table's traffic-control fields and event actions."""
    sc = doc["scenario"]
    duration = sc["duration_s"]
    ticks = round(duration / sc["tick_s"])
    out = []
    for _ in range(r.choice([0, 1, 2, 3, 4, 5])):
        if r.random() < 0.25:
            control: dict[str, Any] | None = {
                "kind": "traffic", **_fields(r, table.TRAFFIC_CONTROL_PARAMS, duration)}
        else:
            control = random_event(r, doc["nodes"], duration, control=True)
        if control is not None:
            out.append((r.randrange(ticks), control))
    return sorted(out, key=lambda c: c[0])


# ---------------------------------------------------------------------------- the graph


def _calls(src: dict[str, Any], dst: dict[str, Any]) -> bool:
    """Whether ``src`` may call ``dst`` (docs/schema.md, "Which kind may call which")."""
    sk, dk = src["kind"], dst["kind"]
    if dk == "client" or sk not in CALLERS | {"client"}:
        return False
    if sk == "store" and src["params"].get("role", "cache") != "cache":
        return False
    if sk == "load_balancer":
        return dk in ("service", "serverless")
    if sk == "queue":
        return dk == "worker"
    if sk in ("client", "store", "cdn"):
        return dk not in ("queue", "worker")
    return True


def _edge(r: random.Random, src: dict[str, Any], dst: dict[str, Any],
          duration: float) -> dict[str, Any]:
    e = {"from": src["id"], "to": dst["id"], **_fields(r, table.EDGE_PARAMS, duration)}
    if src["kind"] in ONE_EDGE:
        e.pop("calls", None)
    if e.get("mode") == "async" and not (src["kind"] in ASYNC_CALLERS and dst["kind"] == "queue"):
        e["mode"] = "sync"
    if e.get("mode") == "async" or src["kind"] == "queue":  # a breaker guards synchronous calls
        e.pop("circuit_breaker", None)
    return e


def _node(r: random.Random, i: int, kind: str, duration: float) -> dict[str, Any]:
    params = _fields(r, table.NODE_PARAMS[kind], duration)
    return {"id": f"{kind.replace('_', '')[:6]}{i}", "kind": kind, "params": params}


def _is_caller(n: dict[str, Any]) -> bool:
    return n["kind"] in CALLERS and not (n["kind"] == "store"
                                         and n["params"].get("role", "cache") != "cache")


def _sync_reach(nodes: list[dict[str, Any]], edges: list[dict[str, Any]], start: str) -> set[str]:
    kind = {n["id"]: n["kind"] for n in nodes}
    seen, todo = set(), [start]
    while todo:
        u = todo.pop()
        for e in edges:
            if e["from"] == u and kind[u] != "queue" and e.get("mode", "sync") == "sync" \
                    and e["to"] not in seen:
                seen.add(e["to"])
                todo.append(e["to"])
    return seen


def _owners(r: random.Random, nodes: list[dict[str, Any]], edges: list[dict[str, Any]],
            duration: float) -> list[dict[str, Any]]:
    """At most one state owner per client path, each external one with its one state access
    (the edges returned)."""
    reach = [_sync_reach(nodes, edges, n["id"]) for n in nodes if n["kind"] == "client"]
    kept: set[str] = set()
    for n in r.sample(nodes, len(nodes)):
        if n["kind"] not in OWNER_KINDS or n["params"].get("state", "none") == "none":
            continue
        if any(n["id"] in seen and seen & kept for seen in reach):
            n["params"]["state"] = "none"
        else:
            kept.add(n["id"])
    by_id = {n["id"]: n for n in nodes}

    def store_of_state(node_id: str) -> bool:
        m = by_id[node_id]
        return m["kind"] == "object_storage" or (m["kind"] == "store"
                                                 and m["params"].get("role", "cache") == "state")

    accesses = []
    for n in nodes:
        if n["id"] not in kept or n["params"]["state"] != "external":
            continue
        access = [e for e in edges if e["from"] == n["id"] and store_of_state(e["to"])
                  and e.get("mode", "sync") == "sync"]
        for extra in access[1:]:
            edges.remove(extra)
        if access:
            access[0].pop("calls", None)
            accesses.append(access[0])
            continue
        later = nodes[nodes.index(n) + 1:]
        targets = [m for m in later if store_of_state(m["id"])]
        if not targets:
            new = _node(r, len(nodes), "store", duration)
            new["params"]["role"] = "state"
            nodes.append(new)
            by_id[new["id"]] = new
            targets = [new]
        edge = _edge(r, n, r.choice(targets), duration)
        edge.pop("calls", None)
        edge["mode"] = "sync"
        edges.append(edge)
        accesses.append(edge)
    return accesses


def _fanout(nodes: list[dict[str, Any]], edges: list[dict[str, Any]]) -> float:
    """The most expected calls downstream of one client request (every edge, async too)."""
    memo: dict[str, float] = {}

    def down(u: str) -> float:
        if u not in memo:
            memo[u] = sum(e.get("calls", 1) * (1 + down(e["to"])) for e in edges
                          if e["from"] == u)
        return memo[u]

    return max((down(n["id"]) for n in nodes if n["kind"] == "client"), default=0.0)


def _trim(r: random.Random, nodes: list[dict[str, Any]], edges: list[dict[str, Any]],
          keep: list[dict[str, Any]]) -> None:
    """Fewer calls, then fewer edges (but the one edge of a client, balancer or queue, and those
    in ``keep``), until the fan-out is small."""
    kind = {n["id"]: n["kind"] for n in nodes}
    while _fanout(nodes, edges) > MAX_FANOUT:
        many = [e for e in edges if e.get("calls", 1) > 1]
        if many:
            r.choice(many)["calls"] = 1
            continue
        optional = [e for e in edges if kind[e["from"]] not in ONE_EDGE
                    and not any(e is k for k in keep)]
        if not optional:
            return
        edges.remove(r.choice(optional))


def random_design(r: random.Random, max_nodes: int = 7) -> dict[str, Any]:
    """A valid design document (``schema_version`` 1) whose every value is drawn from the table:
    one or two clients, up to ``max_nodes`` other nodes of any kind, edges the rules allow, a
    few seconds of scenario with traffic steps and events."""
    tick = r.choice([0.25, 0.5, 1.0, 2.0])
    frames = r.randint(math.ceil(1 / tick), max(math.ceil(1 / tick), math.floor(4 / tick)))
    duration = tick * frames
    kinds = [k for k in table.KINDS if k != "client"]
    others = [r.choice(kinds) for _ in range(r.randint(1, max_nodes))]
    nodes = [_node(r, i, "client", duration) for i in range(r.randint(1, 2))]
    nodes += [_node(r, len(nodes) + i, k, duration) for i, k in enumerate(others)]
    # Callers first, in a random order; then the kinds that call nothing.
    callers = [n for n in nodes if n["kind"] != "client" and _is_caller(n)]
    r.shuffle(callers)
    nodes = [n for n in nodes if n["kind"] == "client"] + callers + [
        n for n in nodes if n["kind"] != "client" and not _is_caller(n)]
    edges: list[dict[str, Any]] = []
    i = 0
    while i < len(nodes):
        src = nodes[i]
        later = [m for m in nodes[i + 1:] if _calls(src, m)]
        if src["kind"] in ONE_EDGE:
            if not later:
                need = {"load_balancer": ["service", "serverless"], "queue": ["worker"]}.get(
                    src["kind"], ["service", "serverless", "database", "external",
                                  "object_storage"])
                later = [_node(r, len(nodes), r.choice(need), duration)]
                nodes.append(later[0])
            edges.append(_edge(r, src, r.choice(later), duration))
        elif _is_caller(src):
            for dst in r.sample(later, min(len(later), r.randint(0, 3))):
                edges.append(_edge(r, src, dst, duration))
        i += 1
    _trim(r, nodes, edges, _owners(r, nodes, edges, duration))
    scenario = _fields(r, table.SCENARIO_PARAMS, duration, skip=_TIMING)
    scenario.update(duration_s=duration, tick_s=tick)
    if r.random() < P_DRAWN:
        scenario["warmup_s"] = tick * r.randrange(frames)
    scenario["traffic"] = [
        {**_fields(r, table.TRAFFIC_PARAMS, duration), "at_s": _at(r, duration)}
        for _ in range(r.choice([0, 0, 1, 2, 3]))]
    events = [random_event(r, nodes, duration) for _ in range(r.choice([0, 1, 2, 3, 4, 5]))]
    scenario["events"] = [e for e in events if e is not None]
    return {"schema_version": 1, "title": f"random {r.random():.6f}", "nodes": nodes,
            "edges": edges, "scenario": scenario}
