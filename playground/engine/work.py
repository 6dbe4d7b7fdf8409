"""How much work a run is: the estimate made before it runs, and the budget enforced while it runs.

Terms
-----
calls
    Node visits: a client's attempt is one, and each call it causes downstream is one more (a
    call along an edge, a retry of it, a message a worker takes from a queue). Calls are what a
    run's CPU time and memory follow; client requests alone do not (a request into a chain with
    ``calls`` 31 at two levels is about a thousand calls).
work estimate
    The calls a run is expected to make at worst: for each client, its expected requests (``rps``
    times the integral of the traffic multiplier over the run) times the calls one request makes
    when every attempt fails and is retried: ``(1 + client retries) x (1 + W(first node))``, where
    ``W(n)`` sums over ``n``'s outgoing edges ``calls x (1 + edge retries) x (1 + W(callee))``.
    Cache hits, successes and sticky luck only lower it. It is an upper bound of the expected
    calls, not of one random run (Poisson arrivals vary by about their square root).
event budget
    What the engine enforces while a run goes: at most ``max_events`` events (a request emitted,
    an arrival after network latency, a completion, a timeout, a retry or an operation). One call
    takes at most a few events, so a budget of ``EVENTS_PER_CALL`` events per call of the site's
    work limit stops any run whose estimate was wrong long before it costs much more than the
    limit allows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from playground.engine import traffic

#: Events per call the engine's budget allows: an emission or arrival, a completion, a timeout
#: and a retry are the most one call schedules.
EVENTS_PER_CALL = 4


class WorkBudgetExceeded(RuntimeError):
    """The simulation processed more events than its budget allows (see *event budget*)."""

    def __init__(self, events: int, limit: int) -> None:
        super().__init__(f"exceeded its work budget after {events:,} events (limit {limit:,})")
        self.events = events
        self.limit = limit


@dataclass(frozen=True)
class Estimate:
    """A run's expected client requests and its work estimate in calls (see the module's terms)."""

    requests: float
    calls: float

    @property
    def calls_per_request(self) -> float:
        return self.calls / self.requests if self.requests > 0 else 0.0

    def to_json(self) -> dict[str, float]:
        return {"requests": round(self.requests), "calls": round(self.calls),
                "calls_per_request": round(self.calls_per_request, 2)}


#: An edge for the estimate: (callee, calls, retries).
EdgeWork = tuple[str, float, int]


def worst_calls(out: Mapping[str, Sequence[EdgeWork]]) -> dict[str, float]:
    """``W(n)`` for every node with outgoing edges (the graph must be acyclic, as validation
    guarantees for synchronous calls and asynchronous hand-offs)."""
    memo: dict[str, float] = {}

    def w(node: str) -> float:
        if node not in memo:
            memo[node] = 0.0  # a cycle (never valid) counts once instead of recursing forever
            memo[node] = sum(calls * (1 + retries) * (1.0 + w(dst)) for dst, calls, retries in out.get(node, ()))
        return memo[node]

    for node in out:
        w(node)
    return memo


def estimate(clients: Iterable[tuple[str, float, int]], out: Mapping[str, Sequence[EdgeWork]],
             steps: Iterable[tuple[float, float, float]], duration_s: float) -> Estimate:
    """The work estimate of a run: ``clients`` as (id, rps, client retries), ``out`` the edges by
    caller, ``steps`` the traffic steps (at_s, multiplier, ramp_s) in force."""
    area = traffic.integral(traffic.profile(steps), duration_s)
    w = worst_calls(out)
    requests = calls = 0.0
    for node, rps, retries in clients:
        n = rps * area
        requests += n
        calls += n * (1 + retries) * (1.0 + w.get(node, 0.0))
    return Estimate(requests, calls)


def estimate_document(doc, extra_steps: Iterable[tuple[float, float, float]] = ()) -> Estimate:
    """The estimate of a loaded ``Document``, with ``extra_steps`` added to its traffic (live
    traffic controls, at the simulated time they applied)."""
    out: dict[str, list[EdgeWork]] = {}
    for e in doc.edges:
        out.setdefault(e.src, []).append((e.dst, float(e.calls), int(e.retries)))
    clients = [(n.id, float(n.params["rps"]), int(n.params.get("retries", 0) or 0))
               for n in doc.nodes if n.kind == "client"]
    steps = [(s.at_s, s.multiplier, s.ramp_s) for s in doc.scenario.traffic]
    return estimate(clients, out, [*steps, *extra_steps], doc.scenario.duration_s)


def describe(est: Estimate, limit: float) -> str:
    """The refusal's words: the estimate, what it is made of, and the limit."""
    return (f"the run would make about {est.calls:,.0f} calls at worst ({est.requests:,.0f} requests x "
            f"{est.calls_per_request:,.1f} calls each, retries included); the site runs at most "
            f"{limit:,.0f} calls per run (lower rps, duration_s, the edges' calls or retries)")
