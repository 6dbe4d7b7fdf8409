"""The design document as typed, validated, defaults-filled objects.

Terms
-----
document
    The JSON/YAML object of SCHEMA.md (version 1): nodes, edges, scenario, layout.
Document
    The same after upgrade, validation and default filling: immutable dataclasses that the
    simulation reads. ``Document.to_dict()`` gives the canonical dict back (every default written
    out), and ``load(doc.to_dict()) == doc``.
Dist
    A latency or service-time distribution, in milliseconds. A plain number ``m`` in a document
    means ``Dist("exp", m)``; ``0`` means no delay.
params
    A node's parameters: every parameter of its kind, defaults filled. Latency and service-time
    parameters (``service_ms``, ``latency_ms``, ``cold_start_ms``) are ``Dist``; ``autoscale`` is an
    ``Autoscale`` or None; ``queue`` may be None (unbounded); ``retry_on`` is a tuple of causes;
    everything else is an int, float, bool or str as SCHEMA.md's table gives it (a number-typed
    parameter is always a float, an integer-typed one an int).
Event args
    An event's own fields (``count``, ``batch``, ``interval_s``, ``drain``, ``instances``,
    ``duration_s``, ``factor``), defaults filled; see ``params.ACTION_PARAMS``.

Only this module, ``params.py`` (the table of fields) and ``schema.py`` (the rules) know the
document's shape.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

SCHEMA_VERSION = 1

#: Parameters whose value is a distribution (a number is the mean of an exponential).
DIST_PARAMS = frozenset({"service_ms", "latency_ms", "cold_start_ms"})

ERROR_CAUSES = ("overload", "timeout", "unavailable", "session_lost", "upload_failed", "error",
                "circuit_open", "rate_limited", "shed")
#: The causes every design's frames and summary list; the others (SCHEMA.md "Extensions for
#: resilience, deploys and faults") are listed only by a design that can produce them.
BASE_CAUSES = ERROR_CAUSES[:6]


def causes_listed(nodes: Iterable[tuple[str, Mapping[str, Any]]],
                  edges: Iterable[Mapping[str, Any]] = ()) -> tuple[str, ...]:
    """The error causes a design's frames and summary list, in ``ERROR_CAUSES`` order, from its
    nodes' (kind, params) and its edges' fields (a mapping with ``circuit_breaker``, as in a
    document's JSON): the six of every design, and each cause of the resilience extensions one
    of its nodes or edges can produce."""
    extra = set()
    if any(e.get("circuit_breaker") is not None for e in edges):
        extra.add("circuit_open")
    for kind, params in nodes:
        if kind == "service" and params.get("max_queue_wait_ms") is not None:
            extra.add("shed")
        if (kind == "service" and params.get("rate_limit") is not None) or (
                kind == "client" and params.get("adaptive_throttle") is not None):
            extra.add("rate_limited")
    return tuple(c for c in ERROR_CAUSES if c in BASE_CAUSES or c in extra)


@dataclass(frozen=True)
class Dist:
    """A distribution of a duration in milliseconds.

    ``kind`` is one of exp, const, lognormal (``mean``, ``cv``), uniform (``min``, ``max``; ``mean``
    is their midpoint), erlang (``mean``, ``k``).
    """

    kind: str
    mean: float
    cv: float | None = None
    min: float | None = None
    max: float | None = None
    k: int | None = None

    def to_json(self) -> float | dict[str, Any]:
        if self.kind == "exp":
            return self.mean
        out: dict[str, Any] = {"dist": self.kind}
        if self.kind == "uniform":
            out.update(min=self.min, max=self.max)
        else:
            out["mean"] = self.mean
        if self.kind == "lognormal":
            out["cv"] = self.cv
        if self.kind == "erlang":
            out["k"] = self.k
        return out


@dataclass(frozen=True)
class Autoscale:
    min: int
    max: int
    target_utilization: float
    cooldown_s: float = 300.0
    eval_s: float = 60.0

    def to_json(self) -> dict[str, Any]:
        return {"min": self.min, "max": self.max, "target_utilization": self.target_utilization,
                "cooldown_s": self.cooldown_s, "eval_s": self.eval_s}


@dataclass(frozen=True)
class Settings:
    """A nested object parameter other than ``autoscale`` (``retry_budget``, ``rate_limit``):
    its fields, defaults filled, in table order; read as attributes (``budget.ratio``)."""

    items: tuple[tuple[str, Any], ...]

    def __getattr__(self, name: str) -> Any:
        for key, value in self.items:
            if key == name:
                return value
        raise AttributeError(name)

    def to_json(self) -> dict[str, Any]:
        return dict(self.items)


def _json(value: Any) -> Any:
    """A parameter value as JSON data."""
    if isinstance(value, (Dist, Autoscale, Settings)):
        return value.to_json()
    if isinstance(value, tuple):
        return list(value)
    return value


@dataclass(frozen=True)
class Node:
    id: str
    kind: str
    params: Mapping[str, Any]
    label: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "kind": self.kind,
                               "params": {k: _json(v) for k, v in self.params.items()}}
        if self.label is not None:
            out["label"] = self.label
        return out


@dataclass(frozen=True)
class Edge:
    src: str  # "from" in the document
    dst: str  # "to" in the document
    calls: float = 1.0
    mode: str = "sync"
    latency_ms: Dist = Dist("exp", 0.0)
    timeout_ms: float | None = None
    retries: int = 0
    backoff_ms: float = 0.0
    retry_budget: Settings | None = None
    max_concurrent: int | None = None
    circuit_breaker: Settings | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"from": self.src, "to": self.dst, "calls": self.calls, "mode": self.mode,
                "latency_ms": self.latency_ms.to_json(), "timeout_ms": self.timeout_ms,
                "retries": self.retries, "backoff_ms": self.backoff_ms,
                "retry_budget": _json(self.retry_budget), "max_concurrent": self.max_concurrent,
                "circuit_breaker": _json(self.circuit_breaker)}


@dataclass(frozen=True)
class TrafficStep:
    at_s: float
    multiplier: float
    ramp_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"at_s": self.at_s, "multiplier": self.multiplier, "ramp_s": self.ramp_s}


@dataclass(frozen=True)
class Event:
    """A scheduled operation. ``args`` holds the action's own fields (count, batch, factor, ...),
    defaults filled."""

    at_s: float
    action: str
    node: str
    args: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    def to_dict(self) -> dict[str, Any]:
        return {"at_s": self.at_s, "action": self.action, "node": self.node,
                **{k: _json(v) for k, v in self.args.items()}}


@dataclass(frozen=True)
class Scenario:
    duration_s: float = 60.0
    warmup_s: float = 0.0
    tick_s: float = 1.0
    seed: int = 0
    traffic: tuple[TrafficStep, ...] = ()
    events: tuple[Event, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"duration_s": self.duration_s, "warmup_s": self.warmup_s, "tick_s": self.tick_s,
                "seed": self.seed, "traffic": [s.to_dict() for s in self.traffic],
                "events": [e.to_dict() for e in self.events]}


@dataclass(frozen=True)
class Document:
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    scenario: Scenario
    title: str = ""
    layout: Mapping[str, Mapping[str, float]] = field(default_factory=lambda: MappingProxyType({}))
    schema_version: int = SCHEMA_VERSION

    def to_dict(self) -> dict[str, Any]:
        """The canonical JSON-able document: every default written out, keys as SCHEMA.md names
        them, lists in document order."""
        return {
            "schema_version": self.schema_version,
            "title": self.title,
            "nodes": [n.to_dict() for n in self.nodes],
            "edges": [e.to_dict() for e in self.edges],
            "scenario": self.scenario.to_dict(),
            "layout": {k: dict(v) for k, v in self.layout.items()},
        }

    def node(self, node_id: str) -> Node:
        for n in self.nodes:
            if n.id == node_id:
                return n
        raise KeyError(node_id)

    def out_edges(self, node_id: str) -> tuple[Edge, ...]:
        """Outgoing edges in document order, which is call order."""
        return tuple(e for e in self.edges if e.src == node_id)
