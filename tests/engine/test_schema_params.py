"""The parameter table: it matches SCHEMA.md and drives validation and defaults."""

from __future__ import annotations

import json

import pytest

from playground.engine import load, spec
from playground.engine.document import DIST_PARAMS, ERROR_CAUSES
from playground.engine.params import (
    ACTION_PARAMS,
    EDGE_PARAMS,
    KINDS,
    NODE_PARAMS,
    SCENARIO_PARAMS,
    action_params,
    node_params,
)

ALL_PARAMS = [(kind, p) for kind, ps in NODE_PARAMS.items() for p in ps]


def test_every_kind_of_schema_md_is_in_the_table():
    assert KINDS == ("client", "load_balancer", "service", "serverless", "database", "store",
                     "queue", "worker", "cdn", "object_storage", "external")


@pytest.mark.parametrize(("kind", "name", "default"), [
    ("client", "rps", 100), ("client", "users", 1000), ("client", "workflow", "stateless"),
    ("client", "timeout_ms", None), ("client", "retries", 0), ("client", "retry_on", ("timeout",)),
    ("client", "backoff_ms", 100), ("client", "idempotency_keys", False), ("client", "parts", 4),
    ("load_balancer", "algorithm", "round_robin"), ("load_balancer", "health_check_s", 5),
    ("load_balancer", "latency_ms", 0.1), ("load_balancer", "cost_per_hour", 0.025),
    ("service", "instances", 2), ("service", "workers", 16), ("service", "queue", 64),
    ("service", "service_ms", 10), ("service", "state", "none"), ("service", "startup_s", 20),
    ("service", "replace", True), ("service", "autoscale", None),
    ("service", "cost_per_hour", 0.10),
    ("serverless", "max_concurrency", 1000), ("serverless", "cold_start_ms", 250),
    ("serverless", "keep_warm_s", 300), ("serverless", "service_ms", 10),
    ("serverless", "state", "none"), ("serverless", "cost_per_million", 0.20),
    ("database", "latency_ms", 5), ("database", "connections", 100), ("database", "queue", None),
    ("database", "cost_per_hour", 0.50),
    ("store", "role", "cache"), ("store", "latency_ms", 1), ("store", "capacity", 10000),
    ("store", "hit_ratio", 0.9), ("store", "keys", 10000), ("store", "cost_per_hour", 0.10),
    ("queue", "max_depth", 10000), ("queue", "latency_ms", 1),
    ("worker", "workers", 4), ("worker", "service_ms", 50), ("worker", "cost_per_hour", 0.10),
    ("cdn", "hit_ratio", 0.9), ("cdn", "latency_ms", 10), ("cdn", "cost_per_hour", 0.05),
    ("object_storage", "latency_ms", 30),
    ("external", "latency_ms", 100), ("external", "error_rate", 0),
    # SCHEMA.md's extensions for resilience.
    ("client", "retry_budget", None), ("client", "adaptive_throttle", None), ("service", "queue_policy", "fifo"),
    ("service", "max_queue_wait_ms", None), ("service", "rate_limit", None), ("service", "cores", None),
])
def test_defaults_are_schema_md_s(kind, name, default):
    assert {p.name: p.default for p in node_params(kind)}[name] == default


def test_every_parameter_of_the_table_is_listed_and_no_other():
    listed = {(kind, p.name) for kind, p in ALL_PARAMS}
    assert len(listed) == 55


@pytest.mark.parametrize(("kind", "param"), ALL_PARAMS, ids=[f"{k}.{p.name}" for k, p in ALL_PARAMS])
def test_every_parameter_is_well_formed(kind, param):
    assert param.help and param.help.endswith(".")
    assert param.type in ("int", "number", "bool", "enum", "dist", "causes", "object", "string")
    if param.type in ("int", "number", "dist"):
        assert param.min is not None and param.max is not None
        assert param.min >= 0, "SCHEMA.md: numeric parameters are >= 0"
        assert param.default is None or param.min <= param.default <= param.max
    if param.type == "enum":
        assert param.default == param.choices[0]
    if param.name.endswith("_ms"):
        assert param.unit == "ms"
    if param.name.endswith("_s"):
        assert param.unit == "s"
    assert (param.type == "dist") == (param.name in DIST_PARAMS)
    assert not param.required


def test_load_fills_every_parameter_of_every_kind():
    nodes = [{"id": f"n{i}", "kind": kind} for i, kind in enumerate(KINDS)]
    edges = [{"from": "n0", "to": "n2"}, {"from": "n1", "to": "n2"}, {"from": "n6", "to": "n7"}]
    doc = load({"nodes": nodes, "edges": edges})
    for node in doc.nodes:
        assert list(node.params) == [p.name for p in node_params(node.kind)]


def test_edge_and_scenario_defaults_are_schema_md_s():
    assert {p.name: p.default for p in EDGE_PARAMS} == {
        "calls": 1, "mode": "sync", "latency_ms": 0, "timeout_ms": None, "retries": 0,
        "backoff_ms": 0, "retry_budget": None, "max_concurrent": None, "circuit_breaker": None}
    breaker = {p.name: p.default for p in EDGE_PARAMS if p.name == "circuit_breaker"}
    assert breaker and {f.name: (f.default, f.min, f.max) for p in EDGE_PARAMS
                        if p.name == "circuit_breaker" for f in p.fields} == {
        "failure_ratio": (0.5, 0, 1), "min_calls": (20, 1, 1e6), "window_s": (10, 0.1, 3600),
        "open_s": (5, 0.1, 3600), "half_open_calls": (3, 1, 1000)}
    assert {p.name: p.default for p in SCENARIO_PARAMS} == {
        "duration_s": 60, "warmup_s": 0, "tick_s": 1, "seed": 0}


def test_actions_and_their_fields_are_schema_md_s():
    assert {a: {p.name: (p.default, p.required) for p in action_params(a)}
            for a in ACTION_PARAMS} == {
        "kill_instance": {"count": (1, False)},
        "rolling_deploy": {"batch": (1, False), "interval_s": (30, False), "drain": (True, False),
                           "release": (None, False)},
        "scale": {"instances": (None, True)},
        "outage": {"duration_s": (None, True)},
        "slowdown": {"factor": (None, True), "duration_s": (None, True)},
        "flush_cache": {},
        # SCHEMA.md's extensions: faults and deploys.
        "instance_errors": {"instance": (None, False), "error_rate": (1, False),
                            "duration_s": (None, False)},
        "canary": {"weight": (0.05, False), "watch_s": (60, False),
                   "gate": ({"max_error_ratio": 0.01, "max_p99_ms": None}, False),
                   "release": (None, False), "then": ("rolling", False)},
        "blue_green": {"release": (None, False), "keep_s": (300, False)},
        "rollback": {},
    }
    release = {p.name: p for p in action_params("rolling_deploy")}["release"]
    assert [(f.name, f.default, f.min, f.max) for f in release.fields] == [
        ("error_rate", 0, 0, 1), ("slowdown", 1, 0.01, 1000)]
    gate = {p.name: p for p in action_params("canary")}["gate"]
    assert [(f.name, f.default, f.nullable) for f in gate.fields] == [
        ("max_error_ratio", 0.01, False), ("max_p99_ms", None, True)]


def test_the_spec_is_json_data_for_forms_and_the_reference_page():
    data = spec()
    assert json.loads(json.dumps(data)) == data
    assert set(data["nodes"]) == set(KINDS)
    workers = next(p for p in data["nodes"]["service"] if p["name"] == "workers")
    assert workers == {
        "name": "workers", "type": "int", "default": 16, "help": workers["help"],
        "unit": "workers", "min": 1, "max": 10000, "min_exclusive": False,
        "max_exclusive": False, "choices": [], "nullable": False, "required": False}
    autoscale = next(p for p in data["nodes"]["service"] if p["name"] == "autoscale")
    assert [f["name"] for f in autoscale["fields"]] == [
        "min", "max", "target_utilization", "cooldown_s", "eval_s"]
    assert data["error_causes"] == list(ERROR_CAUSES)
    assert data["actions"]["flush_cache"]["fits"] == "a cache store or a cdn"

