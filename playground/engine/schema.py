"""Validation, default filling, serialization and upgrade of the design document (SCHEMA.md).

This module and ``document.py`` are the only code that knows the document's shape; everything
else (the editor, the model field, the API, the CLI, the simulation) goes through them.

Terms
-----
obj
    A document as plain JSON data (dicts, lists, str, int, float, bool, None), parsed from text by
    ``loading.parse`` or handed over by a caller.
validate
    Report every problem in ``obj`` at once, each with its path (``problems.Problem``).
load
    Upgrade, validate, fill defaults and build the immutable ``Document``; raise ``DocumentError``
    with every problem when there is any.
dump
    The canonical JSON-able dict of a ``Document``, every default written out:
    ``load(dump(doc)) == doc``.
upgrade
    Bring a stored document of any known ``schema_version`` to the current one by applying the
    registered steps ``UPGRADES[n]`` (version n to n + 1) in turn. A missing version means 1.
sync graph
    Synchronous calls: edges with ``mode`` sync, leaving anything but a queue. A cycle in it is
    invalid.
hand-off graph
    Every edge, a queue's delivery to its worker included. A cycle in it that passes through an
    asynchronous edge or a delivery is a cycle of asynchronous hand-offs, also invalid.
owner
    A service or serverless node whose ``state`` is not "none": it keeps the workflow state of the
    clients whose synchronous calls reach it. A client reaches at most one owner.
control
    A change sent to a live run, applied at its next tick: ``{"kind": "event", "action", "node",
    ...}`` (an event without ``at_s``) or ``{"kind": "traffic", "multiplier", "ramp_s"}``.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import math
import re
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from playground.engine import traffic, work
from playground.engine.document import (
    ERROR_CAUSES,
    SCHEMA_VERSION,
    Autoscale,
    Dist,
    Document,
    Edge,
    Event,
    Node,
    Scenario,
    Settings,
    TrafficStep,
)
from playground.engine.limits import DEFAULT_LIMITS, Limits
from playground.engine.loading import parse, valid_unicode
from playground.engine.params import (
    ACTION_PARAMS,
    ACTION_TARGETS,
    AUTOSCALE_FIELDS,
    DIST_FIELDS,
    DIST_KINDS,
    EDGE_PARAMS,
    EVENT_PARAMS,
    KINDS,
    NODE_PARAMS,
    SCENARIO_PARAMS,
    TRAFFIC_CONTROL_PARAMS,
    TRAFFIC_PARAMS,
    Param,
)
from playground.engine.problems import DocumentError, Problem, join

ID_RE = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
MAX_TITLE = 200
MAX_LABEL = 100
MAX_FRAMES = 3600
#: Bounds on list lengths the size cap alone would let grow to tens of thousands.
MAX_TRAFFIC_STEPS = 1000
MAX_EVENTS = 1000
MAX_CYCLES_SHOWN = 10
MAX_HINTS = 20
#: Editor coordinates are finite and bounded so a layout cannot smuggle in absurd numbers.
MAX_COORD = 1e9

TOP_FIELDS = ("schema_version", "title", "nodes", "edges", "scenario", "layout")
NODE_FIELDS = ("id", "kind", "label", "params")
OWNER_KINDS = frozenset({"service", "serverless"})
ASYNC_CALLERS = frozenset({"service", "serverless", "worker"})
TERMINAL_KINDS = frozenset({"database", "object_storage", "external"})
#: Kinds an action fits; flush_cache is checked on the store's role too.
ACTION_KINDS: Mapping[str, frozenset[str]] = MappingProxyType({
    "kill_instance": frozenset({"service"}),
    "rolling_deploy": frozenset({"service"}),
    "scale": frozenset({"service"}),
    "outage": frozenset(KINDS) - {"client"},
    "slowdown": frozenset(KINDS) - {"client"},
    "flush_cache": frozenset({"store", "cdn"}),
    "instance_errors": frozenset({"service"}),
    "canary": frozenset({"service"}),
    "blue_green": frozenset({"service"}),
    "rollback": frozenset({"service"}),
})

#: Upgrade steps: ``UPGRADES[n]`` turns a version-n document into a version n + 1 one.
UPGRADES: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}

_TYPE_WORDS = {"bool": "true or false", "string": "a string"}
_BAD = object()  # a value that failed its check; never reaches a Document


def _fmt(x: float) -> str:
    if isinstance(x, float) and x.is_integer() and abs(x) < 1e16:
        return str(int(x))
    return str(x)


def _kind_name(kind: str, params: Mapping[str, Any] | None = None) -> str:
    if kind == "store" and params is not None and params.get("role") in ("cache", "state"):
        return f"{params['role']} store"
    return kind.replace("_", " ")


def _article(words: str) -> str:
    return ("an " if words[0] in "aeiou" else "a ") + words


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


class _Checker:
    """Collects problems while converting values; conversions of bad values give ``_BAD``."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))

    def obj(self, value: Any, path: str) -> dict[str, Any] | None:
        if isinstance(value, dict):
            return value
        self.add(path, f"must be an object, not {_type_name(value)}")
        return None

    def text(self, value: Any, path: str, most: int) -> str | None:
        """Free text of at most ``most`` characters that a database can store (valid UTF-8)."""
        if not isinstance(value, str):
            self.add(path, f"must be a string, not {_type_name(value)}")
        elif len(value) > most:
            self.add(path, f"at most {most} characters (has {len(value)})")
        elif not value.isascii() and not valid_unicode(value):
            self.add(path, "contains an unpaired surrogate (\\ud800-\\udfff)")
        else:
            return value
        return None

    def list(self, value: Any, path: str, most: int, what: str) -> list[Any]:
        if not isinstance(value, list):
            self.add(path, f"must be a list, not {_type_name(value)}")
            return []
        if len(value) > most:
            self.add(path, f"at most {most:,} {what} (has {len(value):,})")
            return []
        return value

    def unknown(self, obj: Mapping[str, Any], known: tuple[str, ...], path: str,
                what: str) -> None:
        hints = MAX_HINTS
        for key in obj:
            if key not in known:
                tail = ""
                # Suggestions cost a string comparison per known name: only for a few keys.
                if hints and isinstance(key, str) and len(key) <= 64:
                    hints -= 1
                    hint = difflib.get_close_matches(key, known, n=1)
                    tail = f" (did you mean '{hint[0]}'?)" if hint else ""
                self.add(join(path, str(key)), f"unknown {what}{tail}")

    def fields(self, obj: Mapping[str, Any], params: tuple[Param, ...], path: str,
               what: str = "field", extra: tuple[str, ...] = ()) -> dict[str, Any]:
        """Each param's converted value (default when absent); unknown keys reported."""
        self.unknown(obj, tuple(p.name for p in params) + extra, path, what)
        out: dict[str, Any] = {}
        for p in params:
            if p.name in obj:
                out[p.name] = self.value(p, obj[p.name], join(path, p.name))
            elif p.required:
                self.add(join(path, p.name), "is required")
                out[p.name] = _BAD
            else:
                out[p.name] = self.default(p)
        return out

    @staticmethod
    def default(p: Param) -> Any:
        if p.type == "dist":
            return Dist("exp", float(p.default))
        if p.type == "number" and p.default is not None:
            return float(p.default)
        if p.type == "object" and p.default is not None:  # an object of its fields' defaults
            return Settings(tuple((f.name, _Checker.default(f)) for f in p.fields))
        return p.default

    def value(self, p: Param, v: Any, path: str) -> Any:
        if v is None:
            if p.nullable:
                return None
            self.add(path, f"must not be null{self._expect(p)}")
            return _BAD
        if p.type in ("int", "number"):
            return self.number(p, v, path)
        if p.type in ("bool", "string"):
            want = bool if p.type == "bool" else str
            if isinstance(v, want):
                return v
            self.add(path, f"must be {_TYPE_WORDS[p.type]}, not {_type_name(v)}")
            return _BAD
        if p.type == "enum":
            if isinstance(v, str) and v in p.choices:
                return v
            self.add(path, "must be one of " + ", ".join(p.choices))
            return _BAD
        if p.type == "dist":
            return self.dist(p, v, path)
        if p.type == "causes":
            return self.causes(v, path)
        if p.type == "object" and p.name == "autoscale":
            return self.autoscale(v, path)
        if p.type == "object":
            obj = self.obj(v, path)
            if obj is None:
                return _BAD
            got = self.fields(obj, p.fields, path)
            if any(x is _BAD for x in got.values()):
                return _BAD
            return Settings(tuple((f.name, got[f.name]) for f in p.fields))
        raise AssertionError(f"no check for parameter type {p.type}")

    @staticmethod
    def _expect(p: Param) -> str:
        return {"int": " (an integer)", "number": " (a number)"}.get(p.type, "")

    def number(self, p: Param, v: Any, path: str) -> Any:
        want = "an integer" if p.type == "int" else "a number"
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            self.add(path, f"must be {want}, not {_type_name(v)}")
            return _BAD
        if isinstance(v, float) and not math.isfinite(v):
            self.add(path, "must be a finite number")
            return _BAD
        if p.type == "int" and isinstance(v, float) and not v.is_integer():
            self.add(path, "must be an integer")
            return _BAD
        # Compare before converting: a huge int would overflow float().
        if p.min is not None and (v <= p.min if p.min_exclusive else v < p.min):
            self.add(path, f"must be {'>' if p.min_exclusive else '>='} {_fmt(p.min)}")
            return _BAD
        if p.max is not None and (v >= p.max if p.max_exclusive else v > p.max):
            self.add(path, f"must be {'<' if p.max_exclusive else '<='} {_fmt(p.max)}")
            return _BAD
        return int(v) if p.type == "int" else float(v)

    def dist(self, p: Param, v: Any, path: str) -> Any:
        mean_param = Param("mean", "number", None, "", min=p.min, max=p.max)
        if not isinstance(v, dict):
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                self.add(path, f"must be a number or a distribution object, not {_type_name(v)}")
                return _BAD
            mean = self.number(mean_param, v, path)
            return _BAD if mean is _BAD else Dist("exp", mean)
        kind = v.get("dist")
        if kind not in DIST_KINDS:
            where = join(path, "dist")
            if "dist" not in v:
                self.add(where, "is required (one of " + ", ".join(DIST_KINDS) + ")")
            else:
                self.add(where, "must be one of " + ", ".join(DIST_KINDS))
            return _BAD
        specs = tuple(
            Param(f.name, f.type, f.default, f.help, min=p.min, max=p.max, required=True)
            if f.name in ("mean", "min", "max") else f
            for f in DIST_FIELDS[kind]
        )
        got = self.fields(v, specs, path, extra=("dist",))
        if any(x is _BAD for x in got.values()):
            return _BAD
        if kind == "uniform":
            if got["min"] > got["max"]:
                self.add(join(path, "max"), "must be >= min")
                return _BAD
            return Dist("uniform", (got["min"] + got["max"]) / 2, min=got["min"], max=got["max"])
        return Dist(kind, got["mean"], cv=got.get("cv"), k=got.get("k"))

    def causes(self, v: Any, path: str) -> Any:
        if not isinstance(v, list):
            self.add(path, f"must be a list of error causes, not {_type_name(v)}")
            return _BAD
        ok = True
        seen: set[str] = set()
        for i, cause in enumerate(v):
            if not isinstance(cause, str) or cause not in ERROR_CAUSES:
                self.add(join(path, i), "must be one of " + ", ".join(ERROR_CAUSES))
                ok = False
            elif cause in seen:
                self.add(join(path, i), f"'{cause}' is listed twice")
                ok = False
            else:
                seen.add(cause)
        return tuple(v) if ok else _BAD

    def autoscale(self, v: Any, path: str) -> Any:
        obj = self.obj(v, path)
        if obj is None:
            return _BAD
        got = self.fields(obj, AUTOSCALE_FIELDS, path)
        if any(x is _BAD for x in got.values()):
            return _BAD
        if got["min"] > got["max"]:
            self.add(join(path, "max"), "must be >= min")
            return _BAD
        return Autoscale(**got)


# ---------------------------------------------------------------------------------------------
# Upgrade


def upgrade(obj: Any) -> Any:
    """``obj`` brought to ``SCHEMA_VERSION``; raises ``DocumentError`` for an unknown version.

    Anything that is not an object, or whose version is not an integer, is returned unchanged for
    ``validate`` to report. The input is never modified.
    """
    if not isinstance(obj, dict):
        return obj
    version = obj.get("schema_version", SCHEMA_VERSION)
    if isinstance(version, bool) or not isinstance(version, int):
        return obj
    if version > SCHEMA_VERSION:
        raise DocumentError([Problem("schema_version", _newer(version))])
    if version == SCHEMA_VERSION:
        return obj
    if version not in UPGRADES:
        raise DocumentError([Problem("schema_version", f"{version} is not a known version")])
    out = copy.deepcopy(obj)
    while version < SCHEMA_VERSION:
        if version not in UPGRADES:
            raise DocumentError([Problem("schema_version", f"no upgrade from version {version}")])
        out = UPGRADES[version](out)
        version += 1
        out["schema_version"] = version
    return out


def _newer(version: int) -> str:
    return (f"version {version} is newer than this engine knows ({SCHEMA_VERSION}); "
            "update the playground to open it")


# ---------------------------------------------------------------------------------------------
# The document


class _Graph:
    """The nodes and the edges that passed their own checks, for the whole-design rules."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}          # id -> position in nodes
        # Every well-formed id in the node list, also of nodes that failed their own checks: a
        # reference to one of those is not reported again as "unknown node".
        self.listed: set[str] = set()
        # Nodes with an outgoing edge that failed its own checks: rules that count a node's
        # edges would only repeat that problem in a misleading form, so they skip these.
        self.incomplete: set[str] = set()
        self.kind: dict[str, str] = {}
        self.params: dict[str, dict[str, Any]] = {}
        self.edges: list[tuple[int, str, str, dict[str, Any]]] = []  # (index, src, dst, fields)

    def out(self, node_id: str) -> list[tuple[int, str, str, dict[str, Any]]]:
        return [e for e in self.edges if e[1] == node_id]

    def name(self, node_id: str) -> str:
        return _kind_name(self.kind[node_id], self.params.get(node_id))

    def role(self, node_id: str) -> Any:
        return self.params.get(node_id, {}).get("role")


def _check(obj: Any, limits: Limits) -> tuple[list[Problem], Document | None]:
    c = _Checker()
    try:
        obj = upgrade(obj)
    except DocumentError as e:
        return e.problems, None
    doc = c.obj(obj, "")
    if doc is None:
        return c.problems, None
    c.unknown(doc, TOP_FIELDS, "", "field")
    version = doc.get("schema_version", SCHEMA_VERSION)
    if isinstance(version, bool) or not isinstance(version, int):
        # Any other version was upgraded above, or refused there.
        c.add("schema_version", "must be an integer")
    title = c.text(doc.get("title", ""), "title", MAX_TITLE) or ""

    g = _Graph()
    nodes = _check_nodes(c, doc, g, limits)
    edges = _check_edges(c, doc, g, limits)
    _check_edge_rules(c, g)
    acyclic = _check_cycles(c, g)
    _check_state(c, g)
    scenario = _check_scenario(c, doc.get("scenario", {}), g)
    layout = _check_layout(c, doc.get("layout", {}), g)
    if not c.problems and acyclic and scenario is not None:
        _check_load(c, g, scenario, limits)
    if c.problems:
        return c.problems, None
    assert scenario is not None
    return [], Document(
        nodes=tuple(nodes), edges=tuple(edges), scenario=scenario, title=title,
        layout=MappingProxyType(layout), schema_version=SCHEMA_VERSION,
    )


def _check_nodes(c: _Checker, doc: dict[str, Any], g: _Graph, limits: Limits) -> list[Node]:
    if "nodes" not in doc:
        c.add("nodes", "is required")
        return []
    out: list[Node] = []
    for i, raw in enumerate(c.list(doc["nodes"], "nodes", limits.max_nodes, "nodes")):
        path = join("nodes", i)
        n = c.obj(raw, path)
        if n is None:
            continue
        c.unknown(n, NODE_FIELDS, path, "field")
        node_id = n.get("id")
        id_ok = False
        if "id" not in n:
            c.add(join(path, "id"), "is required")
        elif not isinstance(node_id, str) or not ID_RE.match(node_id):
            c.add(join(path, "id"), "must match ^[a-z][a-z0-9_-]{0,63}$ (lowercase letters, "
                  "digits, _ and -, starting with a letter)")
        elif node_id in g.index:
            c.add(join(path, "id"), f"duplicate id '{node_id}' (also nodes[{g.index[node_id]}])")
        else:
            id_ok = True
        if isinstance(node_id, str):
            g.listed.add(node_id)
        label = n.get("label")
        if label is not None:
            label = c.text(label, join(path, "label"), MAX_LABEL)
        kind = n.get("kind")
        if "kind" not in n:
            c.add(join(path, "kind"), "is required")
            continue
        if not isinstance(kind, str) or kind not in KINDS:
            shown = f"'{kind}'" if isinstance(kind, str) else _type_name(kind)
            c.add(join(path, "kind"), f"unknown kind {shown} (one of {', '.join(KINDS)})")
            continue
        raw_params = n.get("params", {})
        params_obj = c.obj(raw_params, join(path, "params"))
        if params_obj is None:
            continue
        params = c.fields(params_obj, NODE_PARAMS[kind], join(path, "params"),
                          f"parameter for {_article(kind.replace('_', ' '))}")
        if id_ok:
            g.index[node_id] = i
            g.kind[node_id] = kind
            g.params[node_id] = params
            out.append(Node(node_id, kind, MappingProxyType(params), label))
    return out


def _check_edges(c: _Checker, doc: dict[str, Any], g: _Graph, limits: Limits) -> list[Edge]:
    out: list[Edge] = []
    known = ("from", "to") + tuple(p.name for p in EDGE_PARAMS)
    for i, raw in enumerate(c.list(doc.get("edges", []), "edges", limits.max_edges, "edges")):
        path = join("edges", i)
        e = c.obj(raw, path)
        if e is None:
            continue
        ends: list[str] = []
        for end in ("from", "to"):
            value = e.get(end)
            if end not in e:
                c.add(join(path, end), "is required")
            elif not isinstance(value, str):
                c.add(join(path, end), f"must be a node id, not {_type_name(value)}")
            elif value not in g.index:
                if value not in g.listed:
                    c.add(join(path, end), f"unknown node '{value[:64]}'")
            else:
                ends.append(value)
        fields = c.fields(e, EDGE_PARAMS, path, extra=known[:2])
        if len(ends) == 2 and all(v is not _BAD for v in fields.values()):
            g.edges.append((i, ends[0], ends[1], fields))
            out.append(Edge(ends[0], ends[1], **fields))
        elif isinstance(e.get("from"), str):
            g.incomplete.add(e["from"])
    return out


def _check_edge_rules(c: _Checker, g: _Graph) -> None:
    for i, src, dst, f in g.edges:
        path = join("edges", i)
        sk, dk = g.kind[src], g.kind[dst]
        if dk == "client":
            c.add(join(path, "to"), "nothing may call a client")
            continue
        if sk in TERMINAL_KINDS or (sk == "store" and g.role(src) == "state"):
            c.add(path, f"{_article(g.name(src))} calls nothing ('{src}' cannot have outgoing "
                  "edges)")
            continue
        if f["mode"] == "async":
            if sk not in ASYNC_CALLERS:
                c.add(join(path, "mode"), f"only a service, serverless or worker calls "
                      f"asynchronously, not {_article(g.name(src))}")
            elif dk != "queue":
                c.add(join(path, "mode"), "an asynchronous edge must go to a queue")
        if f.get("circuit_breaker") is not None and (f["mode"] == "async" or sk == "queue"):
            c.add(join(path, "circuit_breaker"), "a circuit breaker guards synchronous calls: "
                  "not an asynchronous edge or a queue's delivery")
        allowed: frozenset[str] | None = None
        if sk == "load_balancer":
            allowed = frozenset({"service", "serverless"})
        elif sk == "queue":
            allowed = frozenset({"worker"})
        elif sk in ("client", "store", "cdn"):
            allowed = frozenset(KINDS) - {"client", "queue", "worker"}
        if allowed is not None and dk not in allowed:
            c.add(join(path, "to"), f"{_article(g.name(src))} cannot call "
                  f"{_article(g.name(dst))}")
        if sk in ("client", "load_balancer", "queue") and f["calls"] != 1:
            c.add(join(path, "calls"), f"must be 1 on the edge of {_article(g.name(src))}")
    for node_id, kind in g.kind.items():
        if kind in ("client", "load_balancer", "queue") and node_id not in g.incomplete:
            n = len(g.out(node_id))
            if n != 1:
                target = {"client": "", "load_balancer": " to a service or serverless",
                          "queue": " to a worker"}[kind]
                c.add(join("nodes", g.index[node_id]),
                      f"{_article(g.name(node_id))} needs exactly one outgoing edge{target} "
                      f"(has {n})")


def _sync_edges(g: _Graph) -> list[tuple[int, str, str]]:
    return [(i, s, d) for i, s, d, f in g.edges if f["mode"] == "sync" and g.kind[s] != "queue"]


def _find_cycle(adj: dict[str, list[tuple[int, str]]], start: str, first: tuple[int, str]
                ) -> list[tuple[int, str]] | None:
    """A path of (edge, node) from ``first`` back to ``start``, breadth first, or None."""
    prev: dict[str, tuple[int, str] | None] = {first[1]: None}
    via: dict[str, int] = {first[1]: first[0]}
    frontier = [first[1]]
    while frontier:
        nxt: list[str] = []
        for u in frontier:
            if u == start:
                steps: list[tuple[int, str]] = []
                node: str | None = u
                while node is not None:
                    steps.append((via[node], node))
                    back = prev[node]
                    node = back[1] if back else None
                return steps[::-1]
            for edge, v in adj.get(u, []):
                if v not in prev:
                    prev[v] = (edge, u)
                    via[v] = edge
                    nxt.append(v)
        frontier = nxt
    return None


def _cycles(edges: list[tuple[int, str, str]], through: set[int] | None = None
            ) -> list[list[tuple[int, str]]]:
    """Distinct cycles, one per edge that closes one; with ``through``, only cycles using one of
    those edges. Each cycle is a list of (edge index, node reached)."""
    adj: dict[str, list[tuple[int, str]]] = {}
    for i, s, d in edges:
        adj.setdefault(s, []).append((i, d))
    found: list[list[tuple[int, str]]] = []
    seen: set[frozenset[int]] = set()
    for i, s, d in edges:
        if through is not None and i not in through:
            continue
        cycle = _find_cycle(adj, s, (i, d))
        if cycle is None:
            continue
        key = frozenset(e for e, _ in cycle)
        if key not in seen:
            seen.add(key)
            found.append(cycle)
    return found


def _check_cycles(c: _Checker, g: _Graph) -> bool:
    sync = _sync_edges(g)
    handoffs = {i for i, s, _, f in g.edges if f["mode"] == "async" or g.kind[s] == "queue"}
    every = [(i, s, d) for i, s, d, _ in g.edges]
    found = False
    for what, edges, cycles in (
            ("synchronous calls", sync, _cycles(sync)),
            ("asynchronous hand-offs", every, _cycles(every, through=handoffs))):
        found = found or bool(cycles)
        starts = {i: s for i, s, _ in edges}
        for cycle in cycles[:MAX_CYCLES_SHOWN]:
            names = " -> ".join([starts[cycle[0][0]]] + [n for _, n in cycle])
            c.add(join("edges", min(e for e, _ in cycle)), f"{what} form a cycle: {names}")
        if len(cycles) > MAX_CYCLES_SHOWN:
            # A dense tangle has hundreds; the first few are enough to start untangling.
            c.add("edges", f"{what} form {len(cycles) - MAX_CYCLES_SHOWN} more cycles")
    return not found


def _reach(g: _Graph, start: str) -> list[str]:
    """Nodes reached from ``start`` by synchronous calls, in breadth-first order."""
    adj: dict[str, list[str]] = {}
    for _, s, d in _sync_edges(g):
        adj.setdefault(s, []).append(d)
    seen = {start}
    order: list[str] = []
    frontier = [start]
    while frontier:
        nxt = []
        for u in frontier:
            for v in adj.get(u, []):
                if v not in seen:
                    seen.add(v)
                    order.append(v)
                    nxt.append(v)
        frontier = nxt
    return order


def _owner(g: _Graph, node_id: str) -> bool:
    return g.kind[node_id] in OWNER_KINDS and g.params[node_id].get("state") not in ("none", _BAD)


def _check_state(c: _Checker, g: _Graph) -> None:
    reported: set[tuple[str, ...]] = set()
    for client in (n for n, k in g.kind.items() if k == "client"):
        owners = tuple(n for n in _reach(g, client) if _owner(g, n))
        if len(owners) > 1 and owners not in reported:
            reported.add(owners)
            names = ", ".join(f"'{o}'" for o in owners[:-1]) + f" and '{owners[-1]}'"
            last = owners[-1]
            c.add(join(join(join("nodes", g.index[last]), "params"), "state"),
                  f"client '{client}' reaches {len(owners)} state owners, {names}; each client "
                  "path has at most one (set the others' state to none)")
    for node_id in g.kind:
        if not _owner(g, node_id) or g.params[node_id]["state"] != "external" \
                or node_id in g.incomplete:
            continue
        access = [(i, f) for i, _, d, f in g.out(node_id)
                  if f["mode"] == "sync"
                  and (g.kind[d] == "object_storage" or (g.kind[d] == "store"
                                                         and g.role(d) == "state"))]
        path = join(join(join("nodes", g.index[node_id]), "params"), "state")
        if len(access) != 1:
            c.add(path, "external state needs exactly one synchronous edge to a state store or "
                  f"an object_storage (has {len(access)})")
        elif access[0][1]["calls"] != 1:
            c.add(join(join("edges", access[0][0]), "calls"),
                  "must be 1: this edge is the state access of an external-state owner")


def _on_tick(value: float, tick: float) -> bool:
    n = round(value / tick)
    return abs(n * tick - value) <= 1e-9 * max(1.0, abs(value))


def _check_scenario(c: _Checker, raw: Any, g: _Graph) -> Scenario | None:
    s = c.obj(raw, "scenario")
    if s is None:
        return None
    fields = c.fields(s, SCENARIO_PARAMS, "scenario", extra=("traffic", "events"))
    duration, warmup, tick = fields["duration_s"], fields["warmup_s"], fields["tick_s"]
    timing_ok = _BAD not in (duration, warmup, tick)
    if timing_ok:
        if not _on_tick(duration, tick):
            c.add("scenario.duration_s", f"must be a multiple of tick_s ({_fmt(tick)})")
        elif duration / tick > MAX_FRAMES + 1e-9:
            c.add("scenario.tick_s", f"at most {MAX_FRAMES:,} frames per run: duration_s / "
                  f"tick_s is {_fmt(round(duration / tick))}")
        if not _on_tick(warmup, tick):
            c.add("scenario.warmup_s", f"must be a multiple of tick_s ({_fmt(tick)})")
        if warmup >= duration:
            c.add("scenario.warmup_s", f"must be < duration_s ({_fmt(duration)})")
    end = duration if timing_ok else None

    steps: list[TrafficStep] = []
    for i, raw_step in enumerate(c.list(s.get("traffic", []), "scenario.traffic",
                                        MAX_TRAFFIC_STEPS, "traffic steps")):
        path = join("scenario.traffic", i)
        step = c.obj(raw_step, path)
        if step is None:
            continue
        got = c.fields(step, TRAFFIC_PARAMS, path)
        _within(c, got["at_s"], end, join(path, "at_s"))
        if _BAD not in got.values():
            steps.append(TrafficStep(**got))

    events: list[Event] = []
    for i, raw_event in enumerate(c.list(s.get("events", []), "scenario.events", MAX_EVENTS,
                                         "events")):
        path = join("scenario.events", i)
        event = _check_event(c, raw_event, path, g, with_time=True)
        if event is not None:
            _within(c, event.at_s, end, join(path, "at_s"))
            events.append(event)
    if _BAD in fields.values():
        return None
    return Scenario(duration_s=duration, warmup_s=warmup, tick_s=tick, seed=fields["seed"],
                    traffic=tuple(steps), events=tuple(events))


def _within(c: _Checker, at: Any, end: float | None, path: str) -> None:
    if at is not _BAD and end is not None and at >= end:
        c.add(path, f"must be within the run (< duration_s, {_fmt(end)})")


def action_fits(action: str, kind: str, params: Mapping[str, Any]) -> bool:
    """Whether ``action`` may target a node of ``kind`` with ``params``."""
    if kind not in ACTION_KINDS.get(action, ()):
        return False
    return not (action == "flush_cache" and kind == "store" and params.get("role") != "cache")


def _check_event(c: _Checker, raw: Any, path: str, g: _Graph, with_time: bool,
                 extra: tuple[str, ...] = ()) -> Event | None:
    ev = c.obj(raw, path)
    if ev is None:
        return None
    base = EVENT_PARAMS if with_time else EVENT_PARAMS[1:]
    action = ev.get("action")
    own = ACTION_PARAMS.get(action, ()) if isinstance(action, str) else ()
    got = c.fields(ev, base + own, path, extra=extra)
    node = got["node"]
    if node is not _BAD:
        if node not in g.kind:
            if node not in g.listed:
                c.add(join(path, "node"), f"unknown node '{node[:64]}'")
        elif got["action"] is not _BAD and not action_fits(got["action"], g.kind[node],
                                                           g.params[node]):
            c.add(join(path, "node"), f"{got['action']} fits {ACTION_TARGETS[got['action']]}, "
                  f"not {_article(g.name(node))}")
    if _BAD in got.values() or (node not in g.kind):
        return None
    args = {p.name: got[p.name] for p in own}
    return Event(at_s=got.get("at_s", 0.0), action=got["action"], node=node,
                 args=MappingProxyType(args))


def _check_layout(c: _Checker, raw: Any, g: _Graph) -> dict[str, Mapping[str, float]]:
    layout = c.obj(raw, "layout")
    out: dict[str, Mapping[str, float]] = {}
    if layout is None:
        return out
    coord = Param("x", "number", None, "", min=-MAX_COORD, max=MAX_COORD, required=True)
    for key, value in layout.items():
        path = join("layout", str(key))
        if key not in g.index:
            if key not in g.listed:
                c.add(path, "unknown node")
            continue
        pos = c.obj(value, path)
        if pos is None:
            continue
        got = c.fields(pos, (coord, dataclasses.replace(coord, name="y")), path)
        if _BAD not in got.values():
            out[key] = MappingProxyType(got)
    return out


def _check_load(c: _Checker, g: _Graph, scenario: Scenario, limits: Limits) -> None:
    points = traffic.profile((s.at_s, s.multiplier, s.ramp_s) for s in scenario.traffic)
    area = traffic.integral(points, scenario.duration_s)
    expected = sum(g.params[n]["rps"] for n, k in g.kind.items() if k == "client") * area
    if expected > limits.max_expected_requests:
        c.add("scenario.duration_s", f"the run would emit about {expected:,.0f} requests; the "
              f"limit is {limits.max_expected_requests:,.0f} (lower rps, the traffic multipliers "
              "or duration_s)")
    visits: dict[str, float] = {}

    def downstream(node: str) -> float:
        # Acyclic here, and at most max_nodes deep, so recursion is bounded.
        if node not in visits:
            visits[node] = sum(f["calls"] * (1.0 + downstream(d)) for _, _, d, f in g.out(node))
        return visits[node]

    for node, kind in g.kind.items():
        if kind == "client":
            fanout = downstream(node)
            if fanout > limits.max_calls_per_request:
                c.add(join("nodes", g.index[node]), f"each request would cause about "
                      f"{fanout:,.0f} calls downstream; the limit is "
                      f"{limits.max_calls_per_request:,.0f} (lower the edges' calls)")
    est = estimate_of(g, scenario)
    if est.calls > limits.max_work:
        c.add("scenario", work.describe(est, limits.max_work))


def estimate_of(g: _Graph, scenario: Scenario) -> work.Estimate:
    """The work estimate (``work.py``) of a design whose graph passed its checks."""
    out: dict[str, list[work.EdgeWork]] = {}
    for _, src, dst, f in g.edges:
        out.setdefault(src, []).append((dst, float(f["calls"]), int(f.get("retries") or 0)))
    clients = [(n, float(g.params[n]["rps"]), int(g.params[n].get("retries") or 0))
               for n, k in g.kind.items() if k == "client"]
    steps = [(s.at_s, s.multiplier, s.ramp_s) for s in scenario.traffic]
    return work.estimate(clients, out, steps, scenario.duration_s)


# ---------------------------------------------------------------------------------------------
# Public API


def validate(obj: Any, limits: Limits = DEFAULT_LIMITS) -> list[Problem]:
    """Every problem in the document ``obj`` (after upgrade); [] if it is valid."""
    return _check(obj, limits)[0]


def load(obj_or_text: Any, limits: Limits = DEFAULT_LIMITS) -> Document:
    """The ``Document`` for JSON/YAML text or parsed data; ``DocumentError`` lists every problem."""
    if isinstance(obj_or_text, Document):
        return obj_or_text
    if isinstance(obj_or_text, (str, bytes, bytearray)):
        obj_or_text = parse(bytes(obj_or_text) if isinstance(obj_or_text, bytearray)
                            else obj_or_text, limits=limits)
    problems, doc = _check(obj_or_text, limits)
    if problems or doc is None:
        raise DocumentError(problems)
    return doc


def dump(doc: Document) -> dict[str, Any]:
    """The canonical JSON-able dict of ``doc``, every default written out."""
    return doc.to_dict()


def validate_control(control: Any, document: Document) -> list[Problem]:
    """Every problem in a live-run control for a run of ``document``; [] if it can apply."""
    return _check_control(control, document)[0]


def parse_control(control: Any, document: Document) -> Event | TrafficStep:
    """The typed control: an ``Event`` or a ``TrafficStep`` whose ``at_s`` is 0.0, for the
    simulation to replace with the time of the tick that applies it. Text is parsed as JSON/YAML
    first. Raises ``DocumentError``."""
    if isinstance(control, (str, bytes)):
        control = parse(control)
    problems, out = _check_control(control, document)
    if problems or out is None:
        raise DocumentError(problems)
    return out


def _check_control(control: Any, document: Document
                   ) -> tuple[list[Problem], Event | TrafficStep | None]:
    c = _Checker()
    obj = c.obj(control, "")
    if obj is None:
        return c.problems, None
    kind = obj.get("kind")
    if kind not in ("event", "traffic"):
        c.add("kind", "must be event or traffic")
        return c.problems, None
    if "at_s" in obj:
        c.add("at_s", "a control has no time: it applies at the next tick")
    if kind == "traffic":
        got = c.fields(obj, TRAFFIC_CONTROL_PARAMS, "", extra=("kind", "at_s"))
        if c.problems:
            return c.problems, None
        return [], TrafficStep(at_s=0.0, **got)
    g = _Graph()
    for n in document.nodes:
        g.index[n.id] = len(g.index)
        g.listed.add(n.id)
        g.kind[n.id] = n.kind
        g.params[n.id] = dict(n.params)
    event = _check_event(c, obj, "", g, with_time=False, extra=("kind", "at_s"))
    if c.problems:
        return c.problems, None
    return [], event
