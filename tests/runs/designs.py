"""Small design documents for the runs tests."""

from __future__ import annotations

import copy


def web_fleet(*, rps: float = 100, duration_s: float = 20, instances: int = 3, seed: int = 5) -> dict:
    return copy.deepcopy({
        "schema_version": 1,
        "title": "Web fleet",
        "nodes": [
            {"id": "users", "kind": "client", "params": {"rps": rps, "users": 500}},
            {"id": "lb", "kind": "load_balancer", "params": {"algorithm": "round_robin"}},
            {"id": "api", "kind": "service", "params": {"instances": instances, "workers": 8, "service_ms": 10,
                                                         "startup_s": 5}},
            {"id": "db", "kind": "database", "params": {"latency_ms": 4}},
        ],
        "edges": [
            {"from": "users", "to": "lb"},
            {"from": "lb", "to": "api"},
            {"from": "api", "to": "db", "calls": 0.5},
        ],
        "scenario": {"duration_s": duration_s, "tick_s": 1, "seed": seed},
    })
