"""Fixtures for the engine's document tests: SCHEMA.md's examples and a small valid design."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from playground.engine import Problem

#: The design document's reference, in the repository (a copy of the design notes' SCHEMA.md).
SCHEMA_MD = Path(__file__).resolve().parents[2] / "docs" / "schema.md"

#: The example of the reference, also kept here as data.
EXAMPLE: dict[str, Any] = {
    "schema_version": 1,
    "title": "Airbnb after: sessions in Redis",
    "nodes": [
        {"id": "guests", "kind": "client", "params": {"rps": 500, "users": 5000,
                                                      "workflow": "session"}},
        {"id": "lb", "kind": "load_balancer", "label": "ALB",
         "params": {"algorithm": "round_robin"}},
        {"id": "api", "kind": "service", "params": {"instances": 4, "workers": 16,
                                                    "service_ms": 12, "state": "external"}},
        {"id": "redis", "kind": "store", "params": {"role": "state", "latency_ms": 1}},
        {"id": "db", "kind": "database", "params": {"latency_ms": 5, "connections": 50}},
    ],
    "edges": [
        {"from": "guests", "to": "lb"}, {"from": "lb", "to": "api"},
        {"from": "api", "to": "redis"}, {"from": "api", "to": "db", "calls": 0.3},
    ],
    "scenario": {"duration_s": 120, "warmup_s": 10, "tick_s": 1, "seed": 7,
                 "traffic": [{"at_s": 60, "multiplier": 3, "ramp_s": 10}],
                 "events": [{"at_s": 40, "action": "kill_instance", "node": "api"}]},
    "layout": {"guests": {"x": 40, "y": 120}},
}


def schema_md_examples() -> list[dict[str, Any]]:
    """Every JSON block of the reference that is a whole document (has nodes)."""
    blocks = re.findall(r"```json\n(.*?)```", SCHEMA_MD.read_text(), re.S)
    docs = [json.loads(b) for b in blocks]
    return [d for d in docs if isinstance(d, dict) and "nodes" in d]


@pytest.fixture
def example() -> dict[str, Any]:
    """A fresh copy of SCHEMA.md's example, free to mutate."""
    return copy.deepcopy(EXAMPLE)


#: A valid design that uses every kind, both store roles, every distribution, autoscaling, an
#: asynchronous hand-off and every event action.
KITCHEN_SINK: dict[str, Any] = {
    "schema_version": 1,
    "title": "Every kind",
    "nodes": [
        {"id": "web", "kind": "client", "params": {"rps": 200, "workflow": "upload", "parts": 3,
                                                   "timeout_ms": 2000, "retries": 2,
                                                   "retry_on": ["timeout", "overload"]}},
        {"id": "shop", "kind": "client", "params": {"rps": 50, "workflow": "payment",
                                                    "idempotency_keys": True}},
        {"id": "edge", "kind": "cdn", "params": {"hit_ratio": 0.5}},
        {"id": "lb", "kind": "load_balancer", "params": {"algorithm": "sticky"}},
        {"id": "api", "kind": "service", "label": "API",
         "params": {"instances": 3, "queue": None, "state": "external",
                    "service_ms": {"dist": "lognormal", "mean": 12, "cv": 0.5},
                    "autoscale": {"min": 2, "max": 10, "target_utilization": 0.6}}},
        {"id": "files", "kind": "object_storage", "params": {"latency_ms": {"dist": "const",
                                                                            "mean": 30}}},
        {"id": "cache", "kind": "store", "params": {"role": "cache", "keys": 500,
                                                    "latency_ms": {"dist": "uniform",
                                                                   "min": 0.5, "max": 1.5}}},
        {"id": "db", "kind": "database", "params": {"latency_ms": {"dist": "erlang", "mean": 5,
                                                                   "k": 3}, "queue": 100}},
        {"id": "jobs", "kind": "queue", "params": {"max_depth": 500}},
        {"id": "workers", "kind": "worker", "params": {"workers": 8}},
        {"id": "pay", "kind": "serverless", "params": {"state": "token",
                                                       "service_ms": {"dist": "exp",
                                                                      "mean": 40}}},
        {"id": "psp", "kind": "external", "params": {"error_rate": 0.01}},
    ],
    "edges": [
        {"from": "web", "to": "edge"},
        {"from": "edge", "to": "lb"},
        {"from": "lb", "to": "api"},
        {"from": "api", "to": "files", "timeout_ms": 500, "retries": 1},
        {"from": "api", "to": "cache", "latency_ms": 0.2},
        {"from": "cache", "to": "db"},
        {"from": "api", "to": "jobs", "mode": "async", "calls": 0.1},
        {"from": "jobs", "to": "workers"},
        {"from": "workers", "to": "db", "calls": 2.5},
        {"from": "shop", "to": "pay"},
        {"from": "pay", "to": "psp", "timeout_ms": 3000},
    ],
    "scenario": {
        "duration_s": 600, "warmup_s": 60, "tick_s": 5, "seed": 42,
        "traffic": [{"at_s": 100, "multiplier": 2, "ramp_s": 50},
                    {"at_s": 120, "multiplier": 0.5}],
        "events": [
            {"at_s": 50, "action": "kill_instance", "node": "api", "count": 2},
            {"at_s": 100, "action": "rolling_deploy", "node": "api", "batch": 2,
             "interval_s": 10, "drain": False},
            {"at_s": 200, "action": "scale", "node": "api", "instances": 6},
            {"at_s": 300, "action": "outage", "node": "db", "duration_s": 20},
            {"at_s": 350, "action": "slowdown", "node": "psp", "factor": 3, "duration_s": 30},
            {"at_s": 400, "action": "flush_cache", "node": "cache"},
            {"at_s": 410, "action": "flush_cache", "node": "edge"},
        ],
    },
    "layout": {"web": {"x": 0, "y": 0}, "db": {"x": -12.5, "y": 300}},
}


@pytest.fixture
def sink() -> dict[str, Any]:
    """A fresh copy of the kitchen-sink design."""
    return copy.deepcopy(KITCHEN_SINK)


_STEP = re.compile(r'\.?([A-Za-z_][A-Za-z0-9_-]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]')


def resolves(obj: Any, problem: Problem) -> bool:
    """Whether the problem's path leads to a value in ``obj`` (to its parent, for a missing
    field or a refused key, whose text may be cut short)."""
    steps: list[Any] = []
    at = 0
    while at < len(problem.path):
        m = _STEP.match(problem.path, at)
        if m is None:
            return False
        name, index, quoted = m.groups()
        steps.append(int(index) if index else name if name else json.loads(quoted))
        at = m.end()
    if problem.message.startswith(("is required", "unknown")) or (
            steps and isinstance(steps[-1], str) and steps[-1].endswith("...")):
        steps = steps[:-1]
    target = obj
    for step in steps:
        if isinstance(step, int) and isinstance(target, list) and step < len(target):
            target = target[step]
        elif isinstance(step, str) and isinstance(target, dict) and step in target:
            target = target[step]
        else:
            return False
    return True
