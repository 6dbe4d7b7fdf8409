"""A design's scale, read from its document: how much traffic, how big a fleet, how long a run.

The gallery's cards and a template's page show it, so that nobody types these figures by hand.

Terms
-----
rps
    The clients' request rate in total, at traffic multiplier 1 (the rate a run starts at).
peak_rps
    The same at the highest multiplier the scenario's traffic steps reach before ``duration_s``;
    equal to ``rps`` when no step goes above 1.
instances
    The services' instances in total when the run starts (``instances``, the engine's default where
    a service leaves it out). Autoscaling, kills and deploys change it later; the start is the size
    a design is drawn and priced at.
functions
    The serverless nodes' ``max_concurrency`` in total: how many containers may run at once. None
    for a design without serverless nodes; it scales from zero, so it is not counted as instances.
duration_s
    The simulated seconds of a run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from playground.engine import DocumentError, Limits, load
from playground.engine import traffic as traffic_steps

#: Reads any valid document, whatever its size: the scale of a design the site would refuse to run
#: is still its scale.
_UNBOUNDED = Limits(max_expected_requests=math.inf, max_calls_per_request=math.inf, max_work=math.inf)


@dataclass(frozen=True)
class Scale:
    rps: float
    peak_rps: float
    instances: int
    functions: int | None
    duration_s: float

    def parts(self) -> list[str]:
        """The figures in words, in the order the cards show them: ``["10,000 rps", "48
        instances", "80 s simulated"]``."""
        rate = f"{_number(self.rps)} rps"
        if self.peak_rps > self.rps:
            rate += f", peaks at {_number(self.peak_rps)}"
        out = [rate]
        if self.instances or self.functions is None:
            out.append(f"{self.instances:,} instance{'' if self.instances == 1 else 's'}")
        if self.functions is not None:
            out.append(f"serverless, up to {self.functions:,} at once")
        out.append(f"{_number(self.duration_s)} s simulated")
        return out


def _number(x: float) -> str:
    return f"{x:,.0f}" if x >= 10 or x == int(x) else f"{x:,.1f}"


def peak_multiplier(steps: list[tuple[float, float, float]], duration_s: float) -> float:
    """The highest traffic multiplier reached in ``[0, duration_s]`` (1 before any step)."""
    points = traffic_steps.profile(steps)
    reached = [v for t, v in points if t <= duration_s]
    return max([*reached, traffic_steps.value_at(points, duration_s)])


def scale_of(document: dict[str, Any]) -> Scale | None:
    """The scale of ``document``; None when it does not load (a stale or broken row shows none)."""
    try:
        doc = load(document, _UNBOUNDED)
    except DocumentError:
        return None
    duration = doc.scenario.duration_s
    rps = sum(float(n.params["rps"]) for n in doc.nodes if n.kind == "client")
    steps = [(s.at_s, s.multiplier, s.ramp_s) for s in doc.scenario.traffic]
    serverless = [int(n.params["max_concurrency"]) for n in doc.nodes if n.kind == "serverless"]
    return Scale(
        rps=rps,
        peak_rps=rps * peak_multiplier(steps, duration),
        instances=sum(int(n.params["instances"]) for n in doc.nodes if n.kind == "service"),
        functions=sum(serverless) if serverless else None,
        duration_s=duration,
    )
