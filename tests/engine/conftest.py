"""Fixtures for the engine's document tests: SCHEMA.md's examples and a small valid design."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

SCHEMA_MD = Path("/work/shared/design/SCHEMA.md")

#: The example of SCHEMA.md, kept here too so the tests run where the design folder is absent.
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
    """Every JSON block of SCHEMA.md that is a whole document (has nodes)."""
    if not SCHEMA_MD.exists():
        return [copy.deepcopy(EXAMPLE)]
    blocks = re.findall(r"```json\n(.*?)```", SCHEMA_MD.read_text(), re.S)
    docs = [json.loads(b) for b in blocks]
    return [d for d in docs if isinstance(d, dict) and "nodes" in d]


@pytest.fixture
def example() -> dict[str, Any]:
    """A fresh copy of SCHEMA.md's example, free to mutate."""
    return copy.deepcopy(EXAMPLE)
