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


def output_text() -> str:
    out = run(load(GOLDEN_DESIGN), frames=True)
    return json.dumps(out, sort_keys=True, allow_nan=False, indent=1)


def stored() -> dict[str, Any]:
    return json.loads(GOLDEN_FILE.read_text())


def test_output_matches_the_golden_file_or_the_version_was_bumped():
    golden = stored()
    now = output_text()
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


def regenerate() -> None:
    if GOLDEN_FILE.exists() and stored()["engine_version"] == ENGINE_VERSION \
            and stored()["output"] != output_text() and "--force" not in sys.argv:
        sys.exit(f"ENGINE_VERSION is still {ENGINE_VERSION}, as in the golden file: bump it "
                 "first (or pass --force for a file whose output never shipped).")
    GOLDEN_FILE.parent.mkdir(parents=True, exist_ok=True)
    GOLDEN_FILE.write_text(json.dumps({"engine_version": ENGINE_VERSION,
                                       "output": output_text()}, indent=0) + "\n")
    print(f"wrote {GOLDEN_FILE} for engine {ENGINE_VERSION}")


if __name__ == "__main__":
    if "--regenerate" in sys.argv:
        regenerate()
    else:
        sys.exit(__doc__)
