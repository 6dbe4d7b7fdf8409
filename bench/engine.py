"""Benchmark of the simulation engine: prints figures, asserts nothing.

    .venv/bin/python bench/engine.py            # everything (the one-hour run takes a minute)
    .venv/bin/python bench/engine.py --quick    # shorter runs, no one-hour run

Prints, in one run:
- simulated client requests per CPU-second on the reference three-tier design (client at 2,000
  rps -> round-robin balancer -> service of 8 instances x 16 workers, lognormal 12 ms with cv 1
  -> a state store at 1 ms on every request and a database at 5 ms on 30% of them);
- the engine against SimPy on the same M/M/8 model at rho 0.85 (about a million customers),
  customers per CPU-second and the ratio;
- each figure on every path the engine has for the design: the compiled core (compiled.py,
  numba), then pure Python: the single-station loop (station.py) where it applies, and the
  general event loop; all give the same output, byte for byte;
- peak resident memory of a one-minute and a one-hour run of the three-tier design, each in a
  fresh process (queues are bounded, so the two should be close).
CPU time is ``time.process_time()`` of this process; each figure is the best of ``--rounds``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playground.engine import compiled, station  # noqa: E402
from playground.engine.schema import load  # noqa: E402
from playground.engine.simulation import Simulation  # noqa: E402


def three_tier(duration_s: float, rps: float = 2000.0) -> dict[str, Any]:
    return {
        "schema_version": 1, "title": "reference three-tier",
        "nodes": [
            {"id": "users", "kind": "client", "params": {"rps": rps}},
            {"id": "lb", "kind": "load_balancer", "params": {"algorithm": "round_robin"}},
            {"id": "api", "kind": "service",
             "params": {"instances": 8, "workers": 16,
                        "service_ms": {"dist": "lognormal", "mean": 12, "cv": 1}}},
            {"id": "redis", "kind": "store", "params": {"role": "state", "latency_ms": 1}},
            {"id": "db", "kind": "database", "params": {"latency_ms": 5}},
        ],
        "edges": [{"from": "users", "to": "lb"}, {"from": "lb", "to": "api"},
                  {"from": "api", "to": "redis"},
                  {"from": "api", "to": "db", "calls": 0.3}],
        "scenario": {"duration_s": duration_s, "tick_s": max(1.0, duration_s / 3600),
                     "seed": 1},
    }


def mm8(lam: float, duration_s: float) -> dict[str, Any]:
    return {
        "schema_version": 1, "title": "M/M/8",
        "nodes": [{"id": "arrivals", "kind": "client", "params": {"rps": lam}},
                  {"id": "station", "kind": "service",
                   "params": {"instances": 1, "workers": 8, "queue": None, "service_ms": 10}}],
        "edges": [{"from": "arrivals", "to": "station"}],
        "scenario": {"duration_s": duration_s, "tick_s": max(1.0, duration_s / 3600),
                     "seed": 1},
    }


def engine_rate(doc: dict[str, Any], path: str = "default") -> tuple[float, int, float]:
    """Client requests per CPU-second, requests, mean latency (ms), on ``path``: "default"
    (the fastest the engine has), "pure" (no compiled core) or "general" (the general loop)."""
    document = load(doc, limits=_CLI_LIMITS)
    compiled.ENABLED = path == "default"
    station.ENABLED = path != "general"
    try:
        sim = Simulation(document)
        t = time.process_time()
        summary = sim.run()["summary"]
    finally:
        compiled.ENABLED = station.ENABLED = True
    cpu = time.process_time() - t
    return summary["requests"] / cpu, summary["requests"], summary["latency_ms"]["mean"]


def simpy_rate(lam: float, mu: float, servers: int, customers: int) -> tuple[float, float]:
    """SimPy's M/c/c: customers per CPU-second and mean response time (ms)."""
    import simpy

    rnd = random.Random(1)
    env = simpy.Environment()
    station = simpy.Resource(env, capacity=servers)
    total = [0.0, 0]

    def customer(env: simpy.Environment):
        arrived = env.now
        with station.request() as req:
            yield req
            yield env.timeout(rnd.expovariate(mu))
        total[0] += env.now - arrived
        total[1] += 1

    def source(env: simpy.Environment):
        for _ in range(customers):
            yield env.timeout(rnd.expovariate(lam))
            env.process(customer(env))

    env.process(source(env))
    t = time.process_time()
    env.run()
    cpu = time.process_time() - t
    return customers / cpu, total[0] / total[1] * 1e3


def peak_rss(duration_s: float) -> float:
    """Peak RSS (MiB) of a fresh process running the three-tier design for ``duration_s``."""
    code = (
        "import json, resource, sys\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "from bench.engine import three_tier, _CLI_LIMITS\n"
        "from playground.engine.schema import load\n"
        "from playground.engine.simulation import Simulation\n"
        f"s = Simulation(load(three_tier({duration_s}), limits=_CLI_LIMITS)).run()['summary']\n"
        "print(json.dumps([resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,"
        " s['requests']]))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    kib, requests = json.loads(out.stdout)
    return kib / 1024, requests


def _limits() -> Any:
    from playground.engine.limits import Limits

    return Limits(max_expected_requests=1e9)


_CLI_LIMITS = _limits()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="shorter runs, no one-hour run")
    ap.add_argument("--rounds", type=int, default=3, help="best of this many rounds")
    args = ap.parse_args()
    dur = 30.0 if args.quick else 120.0
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, "
          f"best of {args.rounds} rounds")

    have_core = compiled.available()
    if have_core:
        compiled.warm()  # numba compiles (or loads its cache) before anything is timed
    else:
        print("numba is not installed: pure Python only")
    paths = (["default"] if have_core else []) + ["pure"]
    names = {"default": "compiled core", "pure": "pure Python"}
    for path in paths:
        best = max(engine_rate(three_tier(dur), path) for _ in range(args.rounds))
        print(f"three-tier reference design, {names[path]}: {best[0]:,.0f} client requests per "
              f"CPU-second ({best[1]:,} requests, mean latency {best[2]:.2f} ms)")

    lam, mu, c = 0.85 * 8 * 100.0, 100.0, 8
    # About 1M customers, as ENGINE.md measured (100k with --quick).
    mm8_dur = 150.0 if args.quick else 1500.0
    customers = engine_rate(mm8(lam, mm8_dur), "general")[1]
    sim = max(simpy_rate(lam, mu, c, customers) for _ in range(args.rounds))
    print(f"M/M/8 at rho 0.85, {customers:,} customers: SimPy {sim[0]:,.0f}/CPU-s "
          f"(mean {sim[1]:.2f} ms)")
    names = {"default": "compiled core", "pure": "pure Python, single-station loop",
             "general": "pure Python, general event loop"}
    for path in paths + ["general"]:
        eng = max(engine_rate(mm8(lam, mm8_dur), path) for _ in range(args.rounds))
        print(f"  engine, {names[path]}: {eng[0]:,.0f}/CPU-s (mean {eng[2]:.2f} ms), "
              f"{eng[0] / sim[0]:.1f}x SimPy")

    runs = [("one-minute", 60.0)] + ([] if args.quick else [("one-hour", 3600.0)])
    for name, seconds in runs:
        mib, requests = peak_rss(seconds)
        print(f"peak RSS, {name} three-tier run ({requests:,} requests): {mib:.1f} MiB")
    _ = resource  # imported for the child processes' code above


if __name__ == "__main__":
    main()
