"""Bounds that protect a public site from documents that are valid but too big to run.

Terms
-----
expected requests
    The number of client requests a run is expected to emit: the sum over clients of ``rps`` times
    the integral of the traffic multiplier over ``[0, duration_s]``. Retries and downstream calls
    are not counted here; ``max_calls_per_request`` bounds the fan-out instead.
calls per request
    The expected number of node visits one client request causes, following every edge (sync,
    async and queue deliveries) with its ``calls`` and ignoring cache hits, which can only lower it.
in flight
    Requests emitted and not yet finished, at any moment of a run. Validation cannot predict it;
    the simulation enforces ``max_in_flight`` while it runs.
work
    The calls a run makes at worst (``work.py``): validation refuses a document whose estimate is
    over ``max_work``, and the simulation stops a run that processes more than ``max_events``
    events (``EVENTS_PER_CALL`` per call of ``max_work``), whatever its estimate said.
"""

from __future__ import annotations

from dataclasses import dataclass

from playground.engine.work import EVENTS_PER_CALL

MiB = 1024 * 1024
#: The most requests in flight a run may allow (``max_in_flight``): a visit's slot and the links
#: between visits are 32-bit words of its record in the compiled core (``compiled._V_WORDS``),
#: which also leaves room for one event's new visits beyond the bound.
MAX_IN_FLIGHT = 1 << 30


@dataclass(frozen=True)
class Limits:
    max_bytes: int = MiB
    max_depth: int = 32
    max_nodes: int = 200
    max_edges: int = 1000
    max_expected_requests: float = 10_000_000
    max_calls_per_request: float = 1000
    max_in_flight: int = 1_000_000
    max_work: float = 100_000_000

    def __post_init__(self) -> None:
        if not 1 <= self.max_in_flight <= MAX_IN_FLIGHT:
            raise ValueError(f"max_in_flight must be from 1 to {MAX_IN_FLIGHT:,} (a visit's "
                             f"slot is a 32-bit word), not {self.max_in_flight:,}")

    @property
    def max_events(self) -> int:
        return int(min(self.max_work * EVENTS_PER_CALL, 1 << 62))


#: What the command line allows: it runs on the user's own machine, so it may run longer.
CLI_LIMITS = Limits(max_expected_requests=50_000_000, max_work=1_000_000_000)

DEFAULT_LIMITS = Limits()
