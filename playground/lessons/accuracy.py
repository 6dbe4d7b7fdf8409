"""The accuracy check: one queue run by the engine, beside the closed form that describes it.

Terms
-----
model
    ``mm1``, ``mmc``, ``mmck`` (a bounded queue: arrivals that find it full are refused) or
    ``md1`` (constant service time), and ``mg1`` (lognormal service times, cv 2).
check
    A small document (one client, one service instance with ``c`` workers, service time 10 ms)
    with the arrival rate that gives the chosen load, run for about ``CUSTOMERS`` arrivals; the
    first tenth of the run is warm-up.
batch means
    The run's window cut into ``BATCHES`` equal parts; each part's mean queue length over its
    arrival rate is one estimate of the mean wait (Little's law), and their spread gives the
    standard error shown beside the engine's figure. Waits are strongly correlated at high load,
    which is why a short run's error grows so fast as the load nears 1.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from playground.engine import Simulation, theory

MODELS = {
    "mm1": "M/M/1",
    "mmc": "M/M/c",
    "mmck": "M/M/c/K",
    "md1": "M/D/1",
    "mg1": "M/G/1",
}
SERVICE_MS = 10.0
CUSTOMERS = 80_000
BATCHES = 9
MAX_WORKERS = 32
MAX_QUEUE = 50
MG1_CV = 2.0


@dataclass(frozen=True)
class Choice:
    model: str = "mmc"
    rho: float = 0.8
    workers: int = 4
    queue: int = 4
    seed: int = 1

    @property
    def servers(self) -> int:
        return self.workers if self.model in ("mmc", "mmck") else 1

    @property
    def lam(self) -> float:
        return self.rho * self.servers / (SERVICE_MS / 1000)


def choice_from(params: Any) -> tuple[Choice, list[str]]:
    """Read the form, clamping each number to its range; the problems say what was changed."""
    problems = []
    default = Choice()

    def number(name: str, cast, low, high, fallback):
        raw = params.get(name, "")
        if raw in ("", None):
            return fallback
        try:
            value = cast(raw)
        except ValueError:
            problems.append(f"{name}: not a number, used {fallback}")
            return fallback
        if not (math.isfinite(value) and low <= value <= high):
            clamped = min(max(value, low), high) if math.isfinite(value) else fallback
            problems.append(f"{name}: kept within {low}-{high}")
            return cast(clamped)
        return value

    model = params.get("model") or default.model
    if model not in MODELS:
        problems.append("model: unknown, used M/M/c")
        model = default.model
    choice = Choice(
        model=model,
        rho=number("rho", float, 0.05, 0.95 if model != "mmck" else 2.0, default.rho),
        workers=number("workers", int, 1, MAX_WORKERS, default.workers),
        queue=number("queue", int, 0, MAX_QUEUE, default.queue),
        seed=number("seed", int, 0, 2**31, default.seed),
    )
    return choice, problems


def document_for(choice: Choice) -> dict[str, Any]:
    if choice.model == "md1":
        service: Any = {"dist": "const", "mean": SERVICE_MS}
    elif choice.model == "mg1":
        service = {"dist": "lognormal", "mean": SERVICE_MS, "cv": MG1_CV}
    else:
        service = {"dist": "exp", "mean": SERVICE_MS}
    duration = max(10, math.ceil(CUSTOMERS / choice.lam))
    return {
        "schema_version": 1,
        "title": f"{MODELS[choice.model]} at load {choice.rho:g}",
        "nodes": [
            {"id": "arrivals", "kind": "client", "params": {"rps": round(choice.lam, 6), "users": 1000}},
            {"id": "queue", "kind": "service", "params": {
                "instances": 1, "workers": choice.servers, "service_ms": service,
                "queue": choice.queue if choice.model == "mmck" else None}},
        ],
        "edges": [{"from": "arrivals", "to": "queue"}],
        # A hundred frames whatever the length: ten of warm-up, ninety cut into the batches.
        "scenario": {"duration_s": duration, "warmup_s": round(duration / 10, 6), "tick_s": duration / 100,
                     "seed": choice.seed},
        "layout": {"arrivals": {"x": 60, "y": 60}, "queue": {"x": 260, "y": 60}},
    }


def theory_for(choice: Choice) -> theory.Result:
    mean_s = SERVICE_MS / 1000
    if choice.model == "mmck":
        return theory.mmck(choice.lam, mean_s, choice.servers, choice.servers + choice.queue)
    if choice.model == "md1":
        return theory.md1(choice.lam, mean_s)
    if choice.model == "mg1":
        return theory.mg1(choice.lam, mean_s, MG1_CV)
    return theory.mmc(choice.lam, mean_s, choice.servers)


def _row(name: str, unit: str, theory_value: float, engine_value: float, se: float | None = None) -> dict[str, Any]:
    diff = None
    if abs(theory_value) > 1e-3:  # A relative difference from (almost) nothing means nothing.
        diff = (engine_value - theory_value) / theory_value * 100
    return {"name": name, "unit": unit, "theory": theory_value, "engine": engine_value, "se": se, "diff": diff}


@lru_cache(maxsize=256)
def compare(choice: Choice) -> dict[str, Any]:
    """Run the engine on ``choice`` and set its figures beside the theory's. The same choice (seed
    included) always gives the same figures, so repeated requests are answered from memory."""
    document = document_for(choice)
    sim = Simulation(document)
    warm_ticks = 10
    queue_by_tick, rps_by_tick = [], []
    for frame in sim:
        if frame["seq"] > warm_ticks:
            node = frame["nodes"]["queue"]
            queue_by_tick.append(node["queue"])
            rps_by_tick.append(node["rps"])
    summary = sim.summary()
    node = summary["nodes"]["queue"]
    expected = theory_for(choice)

    size = len(queue_by_tick) // BATCHES
    wq_batches = []
    for b in range(BATCHES):
        lq = statistics.fmean(queue_by_tick[b * size:(b + 1) * size])
        rate = statistics.fmean(rps_by_tick[b * size:(b + 1) * size])
        wq_batches.append(lq / rate * 1000 if rate else 0.0)
    wq_se = statistics.stdev(wq_batches) / math.sqrt(BATCHES) if size else None

    requests = summary["requests"] or 1
    refused = summary["errors"]["overload"]
    # The engine's mean sojourn counts a refused arrival as a stay of zero; the theory's W is over
    # the customers let in.
    sojourn = node["mean_sojourn_ms"] * requests / (requests - refused) if requests > refused else 0.0
    rows = [
        _row("Utilization", "", expected.rho, node["utilization"]),
        _row("Mean wait in queue (Wq)", "ms", expected.Wq * 1000, node["wait_ms"]["mean"], wq_se),
        _row("Mean time in system (W)", "ms", expected.W * 1000, sojourn),
        _row("Mean number waiting (Lq)", "", expected.Lq, node["mean_queue"]),
    ]
    if choice.model == "mmck":
        rows.append(_row("Share of arrivals refused", "", expected.P_block, refused / requests))
    if choice.model in ("mm1", "mmc"):
        p99 = theory.mmc_wait_quantile(choice.lam, SERVICE_MS / 1000, choice.servers, 0.99) * 1000
        rows.append(_row("99th percentile of the wait", "ms", p99, node["wait_ms"]["p99"]))
    return {
        "choice": choice,
        "model_name": MODELS[choice.model],
        "lam": choice.lam,
        "customers": summary["requests"],
        "duration_s": document["scenario"]["duration_s"],
        "warmup_s": document["scenario"]["warmup_s"],
        "rows": rows,
        "wq_batches": wq_batches,
    }
