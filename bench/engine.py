"""Benchmark of the simulation engine: prints figures next to their targets, asserts nothing.

    .venv/bin/python bench/engine.py            # everything, best of 3 (about 8 minutes)
    .venv/bin/python bench/engine.py --quick    # shorter runs, 1 round (under 2 minutes)

Every figure is marginal: a model runs twice, long and short, each in a fresh process, and the
figure is (work of the long run - work of the short one) / (CPU of the long run - CPU of the
short one), so that start-up (imports, loading the compiled core) does not count. CPU is
``time.process_time()`` in the child, around the simulation only (``Simulation()``, every
``step()`` and the summary); with ``--rounds`` above 1 each of the two is the least of its rounds.
A long run is sized from its short run to take about ``--long-cpu`` CPU-seconds more, within
the schema's bound of 3,600 frames (a template at a few hundred rps reaches the bound first).

Printed, in one table:
- M/M/8 at rho 0.85: SimPy 4 and the engine, customers per CPU-second, and the ratio (target
  30x SimPy, goal 50x);
- the reference three-tier design with sessions (a client with ``workflow: session`` -> a
  round-robin balancer -> a service of 8 instances x 16 workers with ``state: external``,
  lognormal 12 ms with cv 1 -> a state store at 1 ms on every request and a database at 5 ms on
  30% of them), client requests per CPU-second (target 1.5M);
- every template of ``templates_lib/`` as written, its duration stretched for the long run
  (target 1M); the short run is the template's own duration;
- start-up: wall time from spawning a process to its first frame, and that process's CPU up to
  then (numba's cache warm; target 0.5 s);
- peak resident memory of a one-minute and a one-hour run of the three-tier design (600 s with
  ``--quick``), each in a fresh process (target: flat);
- a live run at 1x: a client at 100,000 rps into 20 instances x 16 workers (lognormal 2 ms),
  stepped tick by tick (``Simulation.step()``) without pacing: simulated seconds per CPU-second
  and per wall-second over the ticks after the first (target 1: it keeps real time).

Each engine row names the path the design takes: the compiled core, the engine's one event loop
(``Simulation.core``), from the first event to the last.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

#: The longest scenario the schema allows.
MAX_DURATION_S = 86400.0


# ---------------------------------------------------------------------- the models


def three_tier(duration_s: float, rps: float = 2000.0) -> dict[str, Any]:
    """The reference three-tier design, with sessions kept in the state store."""
    return {
        "schema_version": 1, "title": "reference three-tier with sessions",
        "nodes": [
            {"id": "users", "kind": "client",
             "params": {"rps": rps, "workflow": "session"}},
            {"id": "lb", "kind": "load_balancer", "params": {"algorithm": "round_robin"}},
            {"id": "api", "kind": "service",
             "params": {"instances": 8, "workers": 16, "state": "external",
                        "service_ms": {"dist": "lognormal", "mean": 12, "cv": 1}}},
            {"id": "redis", "kind": "store", "params": {"role": "state", "latency_ms": 1}},
            {"id": "db", "kind": "database", "params": {"latency_ms": 5}},
        ],
        "edges": [{"from": "users", "to": "lb"}, {"from": "lb", "to": "api"},
                  {"from": "api", "to": "redis"},
                  {"from": "api", "to": "db", "calls": 0.3}],
        "scenario": {"duration_s": duration_s, "tick_s": 1, "seed": 1},
    }


MM8_LAM, MM8_MU, MM8_C = 0.85 * 8 * 100.0, 100.0, 8


def mm8(duration_s: float) -> dict[str, Any]:
    """M/M/8 at rho 0.85: Poisson arrivals at 680/s, 8 servers of mean 10 ms, no queue bound."""
    return {
        "schema_version": 1, "title": "M/M/8",
        "nodes": [{"id": "arrivals", "kind": "client", "params": {"rps": MM8_LAM}},
                  {"id": "station", "kind": "service",
                   "params": {"instances": 1, "workers": MM8_C, "queue": None,
                              "service_ms": 1e3 / MM8_MU}}],
        "edges": [{"from": "arrivals", "to": "station"}],
        "scenario": {"duration_s": duration_s, "tick_s": 1, "seed": 1},
    }


LIVE_RPS = 100_000.0


def live_fleet(duration_s: float) -> dict[str, Any]:
    """A client at 100,000 rps -> a round-robin balancer -> 20 instances x 16 workers,
    lognormal 2 ms with cv 1 (load 0.63)."""
    return {
        "schema_version": 1, "title": "live at 100k rps",
        "nodes": [{"id": "users", "kind": "client", "params": {"rps": LIVE_RPS}},
                  {"id": "lb", "kind": "load_balancer", "params": {"algorithm": "round_robin"}},
                  {"id": "api", "kind": "service",
                   "params": {"instances": 20, "workers": 16,
                              "service_ms": {"dist": "lognormal", "mean": 2, "cv": 1}}}],
        "edges": [{"from": "users", "to": "lb"}, {"from": "lb", "to": "api"}],
        "scenario": {"duration_s": duration_s, "tick_s": 1, "seed": 1},
    }


def templates() -> list[tuple[str, dict[str, Any]]]:
    """(slug, document) of every template in templates_lib/, as written."""
    import yaml

    out = []
    for path in sorted((ROOT / "templates_lib").glob("*.yaml")):
        data = yaml.safe_load(path.read_text())
        out.append((path.stem, data["document"]))
    return out


def with_duration(doc: dict[str, Any], duration_s: float) -> dict[str, Any]:
    """``doc`` with its scenario's duration set to ``duration_s`` (events and traffic kept)."""
    out = json.loads(json.dumps(doc))
    out["scenario"]["duration_s"] = duration_s
    return out


def _limits() -> Any:
    from playground.engine.limits import Limits

    return Limits(max_expected_requests=1e12, max_work=1e13, max_in_flight=10_000_000)


# ---------------------------------------------------------------------- the child processes


def _engine_child(spec: dict[str, Any]) -> dict[str, Any]:
    from playground.engine.schema import load
    from playground.engine.simulation import Simulation

    limits = _limits()
    document = load(spec["doc"], limits=limits)
    t0 = time.process_time()
    sim = Simulation(document, limits=limits)
    sim.step()
    first_wall, first_cpu = time.time() - spec["t_spawn"], time.process_time()
    t1 = time.process_time()
    while not sim.done:
        sim.step()
    summary = sim.summary()
    t2 = time.process_time()
    return {"cpu": t2 - t0, "rest_cpu": t2 - t1, "rest_s": sim.w1 - sim.tick_s,
            "tick_s": sim.tick_s, "work": summary["requests"], "mean_ms": summary["latency_ms"]["mean"],
            "path": "compiled core",
            "first_wall": first_wall, "first_cpu": first_cpu, "rss_mib": _rss_mib()}


def _simpy_child(spec: dict[str, Any]) -> dict[str, Any]:
    """SimPy's M/M/c with ``spec["customers"]`` customers."""
    import random

    import simpy

    customers, lam, mu = spec["customers"], MM8_LAM, MM8_MU
    rnd = random.Random(1)
    env = simpy.Environment()
    servers = simpy.Resource(env, capacity=MM8_C)
    total = [0.0, 0]

    def customer(env: simpy.Environment):
        arrived = env.now
        with servers.request() as req:
            yield req
            yield env.timeout(rnd.expovariate(mu))
        total[0] += env.now - arrived
        total[1] += 1

    def source(env: simpy.Environment):
        for _ in range(customers):
            yield env.timeout(rnd.expovariate(lam))
            env.process(customer(env))

    t0 = time.process_time()
    env.process(source(env))
    env.run()
    cpu = time.process_time() - t0
    return {"cpu": cpu, "work": customers, "mean_ms": total[0] / total[1] * 1e3,
            "version": simpy.__version__}


def _live_child(spec: dict[str, Any]) -> dict[str, Any]:
    """Step a live-scale design tick by tick, as a live run does, without pacing."""
    from playground.engine.schema import load
    from playground.engine.simulation import Simulation

    limits = _limits()
    sim = Simulation(load(spec["doc"], limits=limits), limits=limits)
    ticks = []
    while not sim.done:
        c, w = time.process_time(), time.perf_counter()
        sim.step()
        ticks.append((time.process_time() - c, time.perf_counter() - w))
    rest = ticks[1:]  # the first tick also loads the core: start-up, measured on its own
    return {"path": "compiled core", "tick_s": sim.tick_s,
            "first_cpu": ticks[0][0], "first_wall": ticks[0][1],
            "cpu": sum(c for c, _ in rest), "wall": sum(w for _, w in rest),
            "slowest_wall": max(w for _, w in rest), "ticks": len(rest),
            "requests": sim.summary()["requests"]}


def _warm_child(spec: dict[str, Any]) -> dict[str, Any]:
    """What ``make engine-core`` does (``compiled.warm()``), then a run of the three-tier
    design: every child after this finds numba's cache warm. Reports the functions this process
    compiled."""
    from playground.engine import compiled

    compiled.warm()
    _engine_child({"doc": three_tier(5.0, rps=4000.0), "t_spawn": spec["t_spawn"]})
    from numba.core.dispatcher import Dispatcher

    made = sorted(f"{m}.{a}" for m, module in list(sys.modules.items())
                  if m.startswith("playground.") and module is not None
                  for a, fn in list(vars(module).items())
                  if isinstance(fn, Dispatcher) and sum(fn.stats.cache_misses.values()))
    return {"compiled": made}


def _rss_mib() -> float:
    """This process's peak resident memory (MiB): VmHWM, which starts afresh at exec (the
    getrusage figure keeps the parent's peak from before the exec)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


_CHILDREN: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "engine": _engine_child, "simpy": _simpy_child, "live": _live_child,
    "warm": _warm_child}


def spawn(kind: str, **spec: Any) -> dict[str, Any]:
    """Run one measurement in a fresh process and return what it reports."""
    spec["kind"] = kind
    spec["t_spawn"] = time.time()
    out = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child"],
                         input=json.dumps(spec), capture_output=True, text=True, cwd=ROOT,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    if out.returncode:
        raise RuntimeError(f"the {kind} child failed:\n{out.stderr[-4000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------- marginal figures


class Marginal:
    """A long and a short run of one model: the best of each over the rounds."""

    def __init__(self, short: list[dict[str, Any]], long: list[dict[str, Any]]) -> None:
        self.short = min(short, key=lambda r: r["cpu"])
        self.long = min(long, key=lambda r: r["cpu"])
        self.work = self.long["work"] - self.short["work"]
        self.cpu = self.long["cpu"] - self.short["cpu"]
        self.rate = self.work / self.cpu if self.cpu > 0 else float("nan")
        self.shorts = short
        self.startup = min(short, key=lambda r: r.get("first_wall", 0.0))

    def path(self) -> str:
        return self.long["path"]


def engine_marginal(make: Callable[[float], dict[str, Any]], short_s: float, tick_s: float,
                    long_cpu: float, rounds: int) -> Marginal:
    """Marginal client requests per CPU-second of ``make(duration)``: the short run at
    ``short_s``, the long one sized to take about ``long_cpu`` CPU-seconds more, within the
    schema's bounds (at most 3,600 frames, 86,400 s); its tick stays ``tick_s``."""
    from playground.engine.schema import MAX_FRAMES

    most = min(MAX_DURATION_S // tick_s, MAX_FRAMES) * tick_s
    shorts = [spawn("engine", doc=make(short_s)) for _ in range(rounds)]
    s = min(shorts, key=lambda r: r["cpu"])
    # Simulated seconds per CPU-second past the first frame: the steady state, for sizing.
    speed = s["rest_s"] / max(s["rest_cpu"], 1e-3)
    longs: list[dict[str, Any]] = []
    long_s = short_s
    for _ in range(4):
        long_s = min(most, max(1, math.ceil((short_s + long_cpu * speed) / tick_s)) * tick_s)
        longs = [spawn("engine", doc=make(long_s))]
        extra = longs[0]["cpu"] - s["cpu"]
        if extra >= 0.5 * long_cpu or long_s >= most:
            break
        speed = (long_s - short_s) / max(extra, 1e-3)  # the first guess was short: resize
    longs += [spawn("engine", doc=make(long_s)) for _ in range(rounds - 1)]
    return Marginal(shorts, longs)


def simpy_marginal(short: int, long: int, rounds: int) -> Marginal:
    shorts = [spawn("simpy", customers=short) for _ in range(rounds)]
    longs = [spawn("simpy", customers=long) for _ in range(rounds)]
    return Marginal(shorts, longs)


# ---------------------------------------------------------------------- the table


class Table:
    """Rows of (figure, path, runs, measured, target, verdict), printed as they come and at the
    end as one table."""

    HEAD = ("figure", "path", "runs (short / long)", "measured", "target", "")

    def __init__(self) -> None:
        self.rows: list[tuple[str, ...]] = []

    def add(self, figure: str, path: str, runs: str, measured: str, target: str = "",
            met: bool | None = None) -> None:
        row = (figure, path, runs, measured, target,
               "" if met is None else ("met" if met else "MISS"))
        self.rows.append(row)
        print("  " + " | ".join(c for c in row if c), flush=True)

    def print(self) -> None:
        widths = [max(len(r[i]) for r in [self.HEAD, *self.rows]) for i in range(6)]
        for r in [self.HEAD, tuple("-" * w for w in widths), *self.rows]:
            print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())


def _n(x: float) -> str:
    return f"{x:,.0f}"


def _runs(m: Marginal) -> str:
    """The simulated durations of the short and long runs, and the work between them."""
    a, b = m.short["rest_s"] + m.short["tick_s"], m.long["rest_s"] + m.long["tick_s"]
    return f"{a:g} s / {b:g} s: +{_n(m.work)}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="shorter runs, one round")
    ap.add_argument("--rounds", type=int, default=None, help="best of this many (3; quick 1)")
    ap.add_argument("--long-cpu", type=float, default=None,
                    help="CPU-seconds a long run takes beyond its short run (2; quick 1)")
    ap.add_argument("--only", default="", help="comma-separated: mm8,three-tier,templates,"
                    "memory,live (default all)")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        spec = json.loads(sys.stdin.read())
        print(json.dumps(_CHILDREN[spec["kind"]](spec)))
        return
    rounds = args.rounds or (1 if args.quick else 3)
    long_cpu = args.long_cpu or (1.0 if args.quick else 2.0)
    only = set(filter(None, args.only.split(","))) or {
        "mm8", "three-tier", "templates", "memory", "live"}

    from importlib.metadata import version

    from playground.engine.version import ENGINE_VERSION

    commit = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip()
    print(f"engine {ENGINE_VERSION} ({commit or 'no git'}), python {sys.version.split()[0]}, "
          f"numpy {version('numpy')}, numba {version('numba')}, {os.cpu_count()} cores, "
          f"best of {rounds}, long runs about {long_cpu:g} CPU-s past the short ones")
    # numba compiles or loads its cache in a process of its own (this one stays small: a
    # child's peak memory would otherwise start from this process's), so every child finds
    # the cache warm.
    warm = spawn("warm")
    if warm["compiled"]:
        names = warm["compiled"]
        print(f"warm-up compiled {len(names)} numba functions"
              + (f": {', '.join(names)}" if len(names) <= 3 else " (the cache was cold)"))
    table = Table()
    startups = []
    simpy_rate = 0.0  # SimPy's M/M/8 in this run: the yardstick of the machine's speed

    def with_simpy(rate: float) -> str:
        """A rate, and the same over SimPy's in this run: a machine that is slower (or busier)
        moves both, so the second compares across machines and runs."""
        return f"{_n(rate)} ({rate / simpy_rate:.1f}x SimPy)" if simpy_rate else _n(rate)

    if "mm8" in only:
        short, long = (20_000, 200_000) if args.quick else (100_000, 1_000_000)
        sp = simpy_marginal(short, long, rounds)
        simpy_rate = sp.rate
        table.add(f"M/M/8 rho 0.85: SimPy {sp.long['version']}", "SimPy",
                  f"{_n(short)} / {_n(long)} customers",
                  f"{_n(sp.rate)} (mean {sp.long['mean_ms']:.2f} ms)")
        m = engine_marginal(mm8, 60.0 if args.quick else 150.0, 1.0, long_cpu, rounds)
        ratio = m.rate / sp.rate
        table.add("M/M/8 rho 0.85: engine", m.path(), _runs(m),
                  f"{_n(m.rate)} = {ratio:.1f}x SimPy (mean {m.long['mean_ms']:.2f} ms)",
                  ">= 30x (goal 50x)", ratio >= 30)
        startups.append(("M/M/8", m))

    if "three-tier" in only:
        m = engine_marginal(three_tier, 20.0, 1.0, long_cpu, rounds)
        table.add("three-tier with sessions", m.path(), _runs(m),
                  with_simpy(m.rate), ">= 1,500,000", m.rate >= 1.5e6)
        startups.append(("three-tier with sessions", m))

    if "templates" in only:
        for slug, doc in templates():
            sc = doc["scenario"]
            m = engine_marginal(lambda d, doc=doc: with_duration(doc, d),
                                float(sc["duration_s"]), float(sc.get("tick_s", 1)),
                                long_cpu, rounds)
            table.add(f"template {slug}", m.path(), _runs(m),
                      with_simpy(m.rate), ">= 1,000,000", m.rate >= 1e6)

    for name, m in startups:
        s = m.startup
        table.add(f"start-up: {name}", s["path"], f"best of {len(m.shorts)}, cache warm",
                  f"{s['first_wall']:.2f} s ({s['first_cpu']:.2f} s CPU)", "<= 0.5 s",
                  s["first_wall"] <= 0.5)

    if "memory" in only:
        a, b = (spawn("engine", doc=three_tier(d))
                for d in ((60.0, 600.0) if args.quick else (60.0, 3600.0)))
        table.add("peak RSS: three-tier with sessions", b["path"],
                  f"{a['rest_s'] + 1:g} s / {b['rest_s'] + 1:g} s: {_n(a['work'])} / "
                  f"{_n(b['work'])} requests",
                  f"{a['rss_mib']:.1f} / {b['rss_mib']:.1f} MiB", "flat",
                  b["rss_mib"] <= a["rss_mib"] * 1.05 + 2)

    if "live" in only:
        r = spawn("live", doc=live_fleet(5.0 if args.quick else 30.0))
        sim_s = r["ticks"] * r["tick_s"]
        per_cpu, per_wall = sim_s / r["cpu"], sim_s / r["wall"]
        table.add(f"live 1x: {_n(LIVE_RPS)} rps, 20 x 16 workers", r["path"],
                  f"ticks 2-{r['ticks'] + 1} (slowest {r['slowest_wall']:.2f} s, first "
                  f"{r['first_wall']:.2f} s)",
                  f"{per_cpu:.2f} sim s/CPU-s, {per_wall:.2f}/wall-s: "
                  f"{'keeps' if per_wall >= 1 else 'does not keep'} up", ">= 1",
                  per_wall >= 1)

    print("\nRates: client requests (M/M/8: customers) per CPU-second, marginal: (long - short)"
          " work / (long - short) CPU,\neach run in a fresh process. Start-up: wall time from"
          " spawning a process to its first frame (its CPU to then).\n")
    table.print()


if __name__ == "__main__":
    main()
