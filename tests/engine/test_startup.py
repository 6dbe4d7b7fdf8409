"""Start-up: the compiled core is compiled once, in the set-up; every later process loads numba's
on-disk cache, and a Celery worker loads it once, before its pool forks.

Each test runs fresh processes, so that nothing this test process has already compiled or loaded
counts. What numba did in a process is read from its dispatchers' ``stats``: a signature loaded
from the cache counts a hit, one compiled counts a miss (also when caching is off or the cache is
stale). Timings are printed by ``bench/engine.py``, never asserted here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("numba")

ROOT = Path(__file__).resolve().parents[2]

#: A small call-tree design for the compiled core, with a few of its features (a cache store,
#: partial calls, a client timeout with retries, least connections).
DESIGN: dict[str, Any] = {
    "schema_version": 1,
    "nodes": [
        {"id": "users", "kind": "client",
         "params": {"rps": 400, "timeout_ms": 500, "retries": 1}},
        {"id": "lb", "kind": "load_balancer", "params": {"algorithm": "least_connections"}},
        {"id": "api", "kind": "service", "params": {"instances": 3, "workers": 8,
                                                    "service_ms": 8}},
        {"id": "cache", "kind": "store", "params": {"role": "cache", "latency_ms": 0.5,
                                                    "hit_ratio": 0.9, "keys": 1000}},
        {"id": "db", "kind": "database", "params": {"latency_ms": 4}},
    ],
    "edges": [{"from": "users", "to": "lb"}, {"from": "lb", "to": "api"},
              {"from": "api", "to": "cache"}, {"from": "api", "to": "db", "calls": 0.3}],
    "scenario": {"duration_s": 5, "seed": 3},
}

#: The same with sessions kept in a state store, behind a sticky balancer whose pins, one per user,
#: grow the core's workflow table (jitcore.rehash, called from Python).
SESSIONS: dict[str, Any] = {
    **DESIGN,
    "nodes": [
        {"id": "users", "kind": "client",
         "params": {"rps": 1000, "users": 20000, "workflow": "session"}},
        {"id": "lb", "kind": "load_balancer", "params": {"algorithm": "sticky"}},
        {"id": "api", "kind": "service", "params": {"instances": 4, "workers": 16,
                                                    "service_ms": 8, "state": "external"}},
        {"id": "sessions", "kind": "store", "params": {"role": "state", "latency_ms": 1}},
    ],
    "edges": [{"from": "users", "to": "lb"}, {"from": "lb", "to": "api"},
              {"from": "api", "to": "sessions"}],
}

#: DESIGN with a retry budget and a circuit breaker: it takes the core's full functions
#: (compiled.Core.full), which numba compiles apart from the plain ones DESIGN takes.
RESILIENT: dict[str, Any] = {
    **DESIGN,
    "edges": [{"from": "users", "to": "lb"},
              {"from": "lb", "to": "api", "retry_budget": {"ratio": 0.1},
               "circuit_breaker": {"window_s": 5}},
              {"from": "api", "to": "cache"}, {"from": "api", "to": "db", "calls": 0.3}],
}

#: Python for a child: ``numba_stats()`` sums, over every numba function of the engine's
#: modules imported so far, the signatures loaded from the cache (hits), compiled (misses) and
#: held in memory, by name.
STATS = r"""
import sys

def numba_stats():
    from numba.core.dispatcher import Dispatcher
    out = {}
    for name, module in list(sys.modules.items()):
        if not name.startswith("playground.") or module is None:
            continue
        for attr, fn in list(vars(module).items()):
            if isinstance(fn, Dispatcher):
                s = fn.stats
                out[f"{name}.{attr}"] = [sum(s.cache_hits.values()),
                                         sum(s.cache_misses.values()), len(fn.signatures)]
    return out
"""

#: A fresh process that runs DESIGN (argv[1]) and reports whether it ran on the compiled core
#: and what numba did.
SECOND = STATS + r"""
import json
from playground.engine.schema import load
from playground.engine.simulation import Simulation

sim = Simulation(load(json.loads(sys.argv[1])))
on_core = sim.core is not None
sim.run()
# numba imports this only to refresh its typing and target contexts for a compile.
registries = "numba.cpython.mathimpl" in sys.modules
print(json.dumps({"on_core": on_core, "numba": numba_stats(), "registries": registries}))
"""


def engine_env(**extra: str) -> dict[str, str]:
    """This process's environment with the compiled core on and numba compiling (a suite run
    with NUMBA_DISABLE_JIT=1 for coverage still checks the real thing here)."""
    env = {k: v for k, v in os.environ.items()
           if k != "NUMBA_DISABLE_JIT"}
    env.update(PYTHONPATH=str(ROOT), **extra)
    return env


def python(code: str, *args: str, env: dict[str, str] | None = None) -> str:
    out = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True,
                         text=True, env=env or engine_env(), timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


def warm(env: dict[str, str] | None = None) -> None:
    """What ``make engine-core`` does: compile the core, or find it cached."""
    python("from playground.engine import compiled; compiled.warm()", env=env)


def second_process(env: dict[str, str] | None = None, design: dict[str, Any] = DESIGN
                   ) -> dict[str, Any]:
    return json.loads(python(SECOND, json.dumps(design), env=env).strip().splitlines()[-1])


def compiled_in(report: dict[str, Any]) -> list[str]:
    """The numba functions the process compiled rather than loaded."""
    return sorted(name for name, (_, misses, _) in report.items() if misses)


@pytest.mark.parametrize("design", [
    pytest.param(DESIGN, id="plain"),
    pytest.param(RESILIENT, id="full"),
])
def test_a_second_process_compiles_nothing(design: dict[str, Any]) -> None:
    """Once the set-up has compiled the core (``make engine-core``: ``compiled.warm()``), a
    fresh process running a design on the core loads every compiled function from numba's
    cache and compiles none. (Run with NUMBA_CACHE_DIR set to an empty directory for the second
    process only, or with jitcore.py edited after the set-up, this fails naming the functions
    compiled.)"""
    warm()
    report = second_process(design=design)
    assert report["on_core"], "the design no longer takes the compiled core: pick one that does"
    stats = report["numba"]
    assert stats, "no numba function was used"
    assert not compiled_in(stats), f"compiled in the second process: {compiled_in(stats)}"
    assert sum(hits for hits, _, _ in stats.values()) > 0, f"nothing loaded from the cache: {stats}"
    # Loaded without installing numba's registries (jitcore._load_cached_without_refresh),
    # most of what a first frame cost.
    assert not report["registries"]


#: The threads of a process that has run a first frame, and the OpenBLAS setting it saw.
THREADS = """
import json, os
import playground.engine
import numpy
from playground.engine.schema import load
from playground.engine.simulation import Simulation
sim = Simulation(load(json.loads(__import__("sys").argv[1])))
sim.step()
print(json.dumps({"threads": len(os.listdir("/proc/self/task")),
                  "openblas": os.environ.get("OPENBLAS_NUM_THREADS")}))
"""


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="counts threads in /proc")
def test_a_process_of_the_site_starts_no_blas_threads() -> None:
    """Importing the site's package (as the web process, the worker and the scripts do before
    numpy) keeps numpy's OpenBLAS from starting its own threads, which spin at start-up and
    take CPU from the first frame; a value set in the environment is kept. (Without the line
    in ``playground/__init__.py`` this fails: OpenBLAS starts a thread per core.)"""
    env = {k: v for k, v in engine_env().items() if k != "OPENBLAS_NUM_THREADS"}
    report = json.loads(python(THREADS, json.dumps(DESIGN), env=env).strip().splitlines()[-1])
    assert report == {"threads": 1, "openblas": "1"}
    kept = json.loads(python(THREADS, json.dumps(DESIGN), env={**env, "OPENBLAS_NUM_THREADS": "2"}
                             ).strip().splitlines()[-1])
    assert kept["openblas"] == "2"


#: Builds a Celery worker (not started: no broker connection, no pool processes), then forks as
#: its pool would and runs DESIGN in the forked process.
WORKER = STATS + r"""
import json, os
from playground.celery import app

worker = app.WorkController(pool_cls="prefork", concurrency=2, hostname="startup-test@local")
before = numba_stats()
pool_started = getattr(worker.pool, "_pool", None) is not None
read, write = os.pipe()
pid = os.fork()
if pid == 0:
    from playground.engine.schema import load
    from playground.engine.simulation import Simulation

    sim = Simulation(load(json.loads(sys.argv[1])))
    on_core = sim.core is not None
    sim.run()
    os.write(write, json.dumps({"on_core": on_core, "numba": numba_stats()}).encode())
    os._exit(0)
os.close(write)
chunks = []
while chunk := os.read(read, 1 << 16):
    chunks.append(chunk)
os.waitpid(pid, 0)
print(json.dumps({"before": before, "pool_started": pool_started,
                  "fork": json.loads(b"".join(chunks))}))
"""


@pytest.mark.parametrize("design", [
    pytest.param(DESIGN, id="call-tree"),
    pytest.param(SESSIONS, id="sessions"),
    pytest.param(RESILIENT, id="full"),
])
def test_a_worker_loads_the_core_once_before_forking(design: dict[str, Any]) -> None:
    """playground/celery.py's worker_init hook: by the time Celery has built a worker (before
    its pool starts its processes), the core is loaded in the main process; a process forked
    from it runs a design on the core without loading or compiling anything again."""
    from tests.redis_server import redis_url_for_tests

    env = engine_env(DJANGO_SETTINGS_MODULE="tests.settings",
                     TEST_REDIS_URL=redis_url_for_tests())
    warm(env)
    report = json.loads(python(WORKER, json.dumps(design), env=env).strip().splitlines()[-1])
    assert not report["pool_started"]
    before, after = report["before"], report["fork"]["numba"]
    assert any(signatures for _, _, signatures in before.values()), \
        f"the worker did not load the core before forking: {before}"
    assert not compiled_in(before), f"the worker compiled: {compiled_in(before)}"
    assert report["fork"]["on_core"]
    assert after == before, "the forked process loaded or compiled numba functions again"


@pytest.mark.parametrize("module, name", [
    ("compiled", "_N_ROWS"), ("codes", "EV_DONE"), ("state", "LAYOUT"),
])
def test_the_cache_directory_changes_with_the_constants_compiled_into_the_core(
        module: str, name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """numba notices edits to jitcore.py only: a change to a constant the core is compiled
    with, in another module (a row of an array, a code, the arrays' layout), must send it to
    another cache directory rather than load code compiled for the old one."""
    import importlib

    from playground.engine import jitcore

    before = jitcore._cache_dir()
    mod = importlib.import_module(f"playground.engine.{module}")
    value = getattr(mod, name)
    monkeypatch.setattr(mod, name, value[::-1] if isinstance(value, tuple) else value + 1)
    assert jitcore._cache_dir() != before
    monkeypatch.undo()
    assert jitcore._cache_dir() == before


def test_the_set_up_removes_the_caches_of_other_versions_of_the_core(tmp_path):
    """``make engine-core`` runs scripts/prune_engine_cache.py after compiling: the cache
    directories of other versions of the core (``core-<digest>``) go, the current one and
    anything else in the cache directory stay."""
    env = engine_env(NUMBA_CACHE_DIR=str(tmp_path))
    current = Path(python("import numba\nfrom playground.engine import jitcore\n"
                          "print(numba.config.CACHE_DIR)", env=env).strip().splitlines()[-1])
    assert current.parent == tmp_path and current.name.startswith("core-")
    old = tmp_path / "core-0000000000000000"
    old.mkdir()
    (old / "jitcore.advance-1.py311.nbi").write_text("")
    current.mkdir(exist_ok=True)
    (current / "jitcore.advance-1.py311.nbi").write_text("")
    other = tmp_path / "other"
    other.mkdir()
    out = subprocess.run([sys.executable, "scripts/prune_engine_cache.py"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "core-0000000000000000" in out.stdout
    assert not old.exists()
    assert (current / "jitcore.advance-1.py311.nbi").exists() and other.is_dir()
