"""Golden output: a small design's full output (frames and summary), stored and compared byte
for byte.

If this test fails, the engine's output changed. When that is intended, bump ``ENGINE_VERSION``
(playground/engine/version.py) and regenerate the file:

    .venv/bin/python -m tests.engine.test_golden --regenerate

Regenerating refuses while the version is the one stored, so output cannot change silently: a
stored run replays only on the engine version it was made with.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from playground.engine.schema import load
from playground.engine.simulation import run
from playground.engine.version import ENGINE_VERSION

GOLDEN_FILE = Path(__file__).parent / "golden" / "small_design.json"

#: Every issue-3 kind and rule in a few simulated seconds: balancer, pools with queues, a cache
#: with misses, timeouts and both kinds of retry, async hand-off, a traffic ramp and events.
GOLDEN_DESIGN: dict[str, Any] = {
    "schema_version": 1,
    "title": "golden",
    "nodes": [
        {"id": "users", "kind": "client",
         "params": {"rps": 150, "timeout_ms": 60, "retries": 1,
                    "retry_on": ["timeout", "overload"], "backoff_ms": 20}},
        {"id": "lb", "kind": "load_balancer", "params": {"algorithm": "least_connections"}},
        {"id": "api", "kind": "service",
         "params": {"instances": 2, "workers": 2, "queue": 3,
                    "service_ms": {"dist": "lognormal", "mean": 8, "cv": 1.2}}},
        {"id": "cache", "kind": "store", "params": {"role": "cache", "keys": 50,
                                                    "hit_ratio": 0.8, "capacity": 4}},
        {"id": "db", "kind": "database",
         "params": {"latency_ms": {"dist": "erlang", "mean": 6, "k": 2}, "connections": 2,
                    "queue": 10}},
        {"id": "jobs", "kind": "queue", "params": {"max_depth": 5}},
        {"id": "work", "kind": "worker", "params": {"workers": 1,
                                                    "service_ms": {"dist": "const",
                                                                   "mean": 40}}},
        {"id": "psp", "kind": "external",
         "params": {"latency_ms": {"dist": "uniform", "min": 2, "max": 20},
                    "error_rate": 0.1}},
    ],
    "edges": [
        {"from": "users", "to": "lb"},
        {"from": "lb", "to": "api", "latency_ms": 0.5},
        {"from": "api", "to": "cache"},
        {"from": "cache", "to": "db", "timeout_ms": 30, "retries": 1},
        {"from": "api", "to": "jobs", "mode": "async", "calls": 0.3},
        {"from": "jobs", "to": "work"},
        {"from": "work", "to": "psp", "retries": 2},
    ],
    "scenario": {
        "duration_s": 8, "warmup_s": 1, "tick_s": 1, "seed": 3,
        "traffic": [{"at_s": 3, "multiplier": 2, "ramp_s": 2}],
        "events": [
            {"at_s": 4, "action": "slowdown", "node": "db", "factor": 3, "duration_s": 1},
            {"at_s": 5, "action": "flush_cache", "node": "cache"},
            {"at_s": 6, "action": "outage", "node": "psp", "duration_s": 1},
        ],
    },
}


#: Where state lives and instance life: local sessions behind a sticky balancer through a kill
#: and a drained rolling deploy, uploads to object storage, payments with keys in a store
#: through a serverless function with cold starts, autoscaling and cost.
STATE_DESIGN: dict[str, Any] = {
    "schema_version": 1,
    "title": "golden state",
    "nodes": [
        {"id": "web", "kind": "client", "params": {"rps": 120, "users": 300,
                                                   "workflow": "session"}},
        {"id": "up", "kind": "client", "params": {"rps": 40, "workflow": "upload",
                                                  "parts": 3}},
        {"id": "shop", "kind": "client",
         "params": {"rps": 30, "workflow": "payment", "idempotency_keys": True,
                    "timeout_ms": 40, "retries": 2, "backoff_ms": 5}},
        {"id": "lb", "kind": "load_balancer", "params": {"algorithm": "sticky",
                                                         "health_check_s": 1}},
        {"id": "api", "kind": "service",
         "params": {"instances": 3, "workers": 4, "state": "local", "startup_s": 1,
                    "autoscale": {"min": 3, "max": 5, "target_utilization": 0.2,
                                  "cooldown_s": 2, "eval_s": 2}}},
        {"id": "files", "kind": "service", "params": {"instances": 2, "state": "external"}},
        {"id": "s3", "kind": "object_storage", "params": {"latency_ms": 5}},
        {"id": "pay", "kind": "serverless",
         "params": {"state": "external", "cold_start_ms": 30, "keep_warm_s": 2,
                    "service_ms": {"dist": "lognormal", "mean": 25, "cv": 1}}},
        {"id": "keys", "kind": "store", "params": {"role": "state"}},
    ],
    "edges": [
        {"from": "web", "to": "lb"}, {"from": "lb", "to": "api"},
        {"from": "up", "to": "files"}, {"from": "files", "to": "s3"},
        {"from": "shop", "to": "pay"}, {"from": "pay", "to": "keys"},
    ],
    "scenario": {
        "duration_s": 12, "warmup_s": 2, "tick_s": 1, "seed": 5,
        "events": [
            {"at_s": 3, "action": "kill_instance", "node": "api"},
            {"at_s": 6, "action": "rolling_deploy", "node": "api", "batch": 2,
             "interval_s": 1},
        ],
    },
}

GOLDEN = {"small_design": GOLDEN_DESIGN, "state_design": STATE_DESIGN}


def output_text(design: dict[str, Any] = GOLDEN_DESIGN) -> str:
    out = run(load(design), frames=True)
    return json.dumps(out, sort_keys=True, allow_nan=False, indent=1)


def golden_file(name: str) -> Path:
    return GOLDEN_FILE.parent / f"{name}.json"


def stored(name: str = "small_design") -> dict[str, Any]:
    return json.loads(golden_file(name).read_text())


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_output_matches_the_golden_file_or_the_version_was_bumped(name):
    golden = stored(name)
    now = output_text(GOLDEN[name])
    if now == golden["output"]:
        return
    assert golden["engine_version"] != ENGINE_VERSION, (
        "The engine's output changed but ENGINE_VERSION did not: bump it in "
        "playground/engine/version.py, then run "
        "`.venv/bin/python -m tests.engine.test_golden --regenerate`.")
    raise AssertionError(
        f"ENGINE_VERSION is {ENGINE_VERSION} but the golden file was made by "
        f"{golden['engine_version']}: regenerate it with "
        "`.venv/bin/python -m tests.engine.test_golden --regenerate`.")


def test_golden_output_exercises_the_rules_it_stands_for():
    out = json.loads(stored()["output"])
    s = out["summary"]
    assert len(out["frames"]) == 8
    for cause in ("timeout", "overload"):
        assert s["errors"][cause] > 0, cause
    assert s["attempts"] > s["requests"]
    assert s["nodes"]["db"]["arrivals"] > 0 and s["nodes"]["work"]["arrivals"] > 0
    assert [e["action"] for f in out["frames"] for e in f["events"]] == [
        "traffic", "slowdown", "flush_cache", "slowdown_end", "outage", "outage_end"]


def test_state_golden_output_exercises_workflows_and_instance_life():
    out = json.loads(stored("state_design")["output"])
    s = out["summary"]
    assert s["users"]["logins"] > 0 and s["uploads"]["started"] > 0
    assert s["charges"]["total"] > 0 and s["errors"]["unavailable"] > 0
    actions = {e["action"] for f in out["frames"] for e in f["events"]}
    assert {"instance_lost", "instance_ready", "instance_draining",
            "instance_stopped"} <= actions


def regenerate() -> None:
    for name, design in GOLDEN.items():
        path = golden_file(name)
        text = output_text(design)
        if path.exists() and stored(name)["engine_version"] == ENGINE_VERSION \
                and stored(name)["output"] != text and "--force" not in sys.argv:
            sys.exit(f"ENGINE_VERSION is still {ENGINE_VERSION}, as in {path.name}: bump it "
                     "first (or pass --force for output that never shipped).")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"engine_version": ENGINE_VERSION, "output": text},
                                   indent=0) + "\n")
        print(f"wrote {path} for engine {ENGINE_VERSION}")


if __name__ == "__main__":
    if "--regenerate" in sys.argv:
        regenerate()
    else:
        sys.exit(__doc__)
