"""Round trips and robustness, over documents generated from the parameter table itself."""

from __future__ import annotations

import copy
import json
import math
from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from playground.engine import DocumentError, Limits, dump, load, validate
from playground.engine.document import ERROR_CAUSES
from playground.engine.params import AUTOSCALE_FIELDS, EDGE_PARAMS, KINDS, Param, node_params
from tests.engine.conftest import KITCHEN_SINK, resolves, schema_md_examples

UNBOUNDED = Limits(max_expected_requests=math.inf, max_calls_per_request=math.inf, max_work=math.inf)


def number(p: Param) -> st.SearchStrategy[Any]:
    if p.type == "int":
        lo = int(p.min) + (1 if p.min_exclusive else 0)
        return st.integers(lo, int(min(p.max, lo + 10**6)))
    return st.floats(p.min, p.max, exclude_min=p.min_exclusive, exclude_max=p.max_exclusive)


def mean_ms() -> st.SearchStrategy[float]:
    return st.floats(0, 1e6)


dists = st.one_of(
    mean_ms(),
    st.builds(lambda m: {"dist": "exp", "mean": m}, mean_ms()),
    st.builds(lambda m: {"dist": "const", "mean": m}, mean_ms()),
    st.builds(lambda m, cv: {"dist": "lognormal", "mean": m, "cv": cv}, mean_ms(),
              st.floats(0.01, 100)),
    st.builds(lambda a, b: {"dist": "uniform", "min": min(a, b), "max": max(a, b)}, mean_ms(),
              mean_ms()),
    st.builds(lambda m, k: {"dist": "erlang", "mean": m, "k": k}, mean_ms(),
              st.integers(1, 1000)),
)


def autoscale() -> st.SearchStrategy[dict[str, Any]]:
    fields = {f.name: number(f) for f in AUTOSCALE_FIELDS}

    def ordered(d: dict[str, Any]) -> dict[str, Any]:
        d["min"], d["max"] = sorted((d["min"], d["max"]))
        return d
    return st.fixed_dictionaries(fields).map(ordered)


def nested(p: Param) -> st.SearchStrategy[dict[str, Any]]:
    """A nested object other than autoscale: any of its fields, required ones always."""
    return st.fixed_dictionaries({f.name: value(f) for f in p.fields if f.required},
                                 optional={f.name: value(f) for f in p.fields if not f.required})


def value(p: Param) -> st.SearchStrategy[Any]:
    strategy: st.SearchStrategy[Any] = {
        "int": lambda: number(p), "number": lambda: number(p), "bool": st.booleans,
        "enum": lambda: st.sampled_from(p.choices), "dist": lambda: dists,
        "causes": lambda: st.lists(st.sampled_from(ERROR_CAUSES), unique=True),
        "object": autoscale if p.name == "autoscale" else lambda: nested(p),
    }[p.type]()
    return st.none() | strategy if p.nullable else strategy


def params(kind: str) -> st.SearchStrategy[dict[str, Any]]:
    # state stays out: a state other than none brings rules about the node's edges.
    optional = {p.name: value(p) for p in node_params(kind) if p.name != "state"}
    return st.fixed_dictionaries({}, optional=optional)


edge_fields = st.fixed_dictionaries(
    {}, optional={p.name: value(p) for p in EDGE_PARAMS if p.name not in ("calls", "mode")})


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    """One node of every kind, each with random valid parameters, wired by the edge rules."""
    nodes = [{"id": kind.replace("_", "-"), "kind": kind, "params": draw(params(kind))}
             for kind in KINDS]
    pairs = [("client", "service"), ("load-balancer", "service"), ("service", "database"),
             ("queue", "worker"), ("service", "queue"), ("store", "object-storage"),
             ("cdn", "external")]
    edges = [{"from": a, "to": b, **draw(edge_fields)} for a, b in pairs]
    edges[4]["mode"] = "async"
    for e in edges[3:5]:  # a queue's delivery and an asynchronous edge: no circuit breaker
        e.pop("circuit_breaker", None)
    nodes[5]["params"]["role"] = "cache"
    return {"title": draw(st.text(max_size=200)), "nodes": nodes, "edges": edges}


@settings(max_examples=150, deadline=None)
@given(documents())
def test_a_generated_document_loads_and_round_trips(obj):
    assert validate(obj, UNBOUNDED) == []
    doc = load(obj, UNBOUNDED)
    canonical = dump(doc)
    assert load(canonical, UNBOUNDED) == doc
    assert dump(load(canonical, UNBOUNDED)) == canonical
    text = json.dumps(canonical, allow_nan=False)
    assert load(text, UNBOUNDED) == doc


def test_every_example_and_the_kitchen_sink_round_trip_through_yaml_too():
    for obj in [*schema_md_examples(), KITCHEN_SINK]:
        doc = load(obj)
        assert load(yaml.safe_dump(dump(doc))) == doc


def test_dump_writes_every_default_out():
    canonical = dump(load({"nodes": [{"id": "c", "kind": "client"},
                                     {"id": "s", "kind": "service"}],
                           "edges": [{"from": "c", "to": "s"}]}))
    assert canonical == {
        "schema_version": 1, "title": "", "layout": {},
        "nodes": [
            {"id": "c", "kind": "client", "params": {
                "rps": 100.0, "users": 1000, "workflow": "stateless", "timeout_ms": None,
                "retries": 0, "retry_on": ["timeout"], "backoff_ms": 100.0,
                "retry_budget": None, "adaptive_throttle": None, "idempotency_keys": False,
                "parts": 4}},
            {"id": "s", "kind": "service", "params": {
                "instances": 2, "workers": 16, "queue": 64, "service_ms": 10.0,
                "state": "none", "startup_s": 20.0, "replace": True, "autoscale": None,
                "queue_policy": "fifo", "max_queue_wait_ms": None, "rate_limit": None, "cores": None,
                "cost_per_hour": 0.1}},
        ],
        "edges": [{"from": "c", "to": "s", "calls": 1.0, "mode": "sync", "latency_ms": 0.0,
                   "timeout_ms": None, "retries": 0, "backoff_ms": 0.0, "retry_budget": None,
                   "max_concurrent": None, "circuit_breaker": None}],
        "scenario": {"duration_s": 60.0, "warmup_s": 0.0, "tick_s": 1.0, "seed": 0,
                     "traffic": [], "events": []},
    }


def test_load_does_not_modify_its_input(sink):
    before = copy.deepcopy(sink)
    load(sink)
    assert sink == before


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.text(max_size=12), children, max_size=3),
    max_leaves=8,
)


def paths(obj: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out += paths(v, (*prefix, i))
    return out


SINK_PATHS = [p for p in paths(KITCHEN_SINK) if p]



@settings(max_examples=400, deadline=None)
@given(st.sampled_from(SINK_PATHS), json_values)
def test_any_value_anywhere_gives_problems_or_a_document_never_a_crash(path, junk):
    obj = copy.deepcopy(KITCHEN_SINK)
    target = obj
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = junk
    problems = validate(obj)
    for p in problems:
        assert p.message
        assert resolves(obj, p), f"{p} names no place in the document"
    try:
        load(obj)
    except DocumentError as e:
        assert e.problems == problems
    else:
        assert problems == []


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_any_json_value_as_a_whole_document_never_crashes(junk):
    assert isinstance(validate(junk), list)

