"""The engine's checkpoints and work budget (work.py): the compiled core hands control to
``on_checkpoint`` every slice of events without changing what it simulates, and stops a run past
its event budget."""

from __future__ import annotations

import json

import pytest

from playground.engine import WorkBudgetExceeded
from playground.engine.limits import Limits
from playground.engine.schema import load
from playground.engine.simulation import Simulation
from tests.engine.helpers import design, node, output_on
from tests.engine.helpers import station as station_design


def mm1(duration_s: float = 20.0, tick_s: float = 1.0) -> dict:
    return station_design(800, 1.0, 1, duration_s=duration_s, tick_s=tick_s)


def tree() -> dict:
    """Timeouts, retries and latency: events that are not one per call."""
    return design([node("c", "client", rps=400, timeout_ms=40, retries=2),
                   node("lb", "load_balancer"),
                   node("api", "service", instances=2, workers=2, queue=8, service_ms=4),
                   node("db", "database", connections=2, latency_ms=3)],
                  [("c", "lb"), ("lb", "api"),
                   {"from": "api", "to": "db", "latency_ms": 1, "timeout_ms": 20, "retries": 1}], 10)


def _small_slices(calls: list[int]):
    def prepare(sim: Simulation) -> None:
        sim._slice = sim._left = 97

        def seen() -> None:
            calls.append(sim.events)
        sim.on_checkpoint = seen
    return prepare


def test_checkpoints_every_slice_leave_the_output_unchanged():
    plain = output_on(mm1())
    calls: list[int] = []
    sliced = output_on(mm1(), prepare=_small_slices(calls))
    assert sliced == plain
    # 800 rps for 20 s is about 32,000 events (an emission and a completion per request).
    assert len(calls) > 30_000 // 97
    assert calls == [97 * (k + 1) for k in range(len(calls))]


def test_checkpoints_leave_retries_and_timeouts_unchanged():
    plain = output_on(tree())
    calls: list[int] = []
    assert output_on(tree(), prepare=_small_slices(calls)) == plain
    assert len(calls) > 100


def test_a_run_past_its_event_budget_stops_with_the_count_and_the_limit():
    limits = Limits(max_work=2_000)  # 8,000 events; the run needs about 32,000
    with pytest.raises(WorkBudgetExceeded) as stopped:
        output_on(mm1(), limits=limits,
                  prepare=lambda sim: setattr(sim, "_slice", 1000) or setattr(sim, "_left", 1000))
    assert stopped.value.limit == 8_000
    assert 8_000 < stopped.value.events <= 9_000
    assert str(stopped.value) == f"exceeded its work budget after {stopped.value.events:,} events (limit 8,000)"


def test_one_long_tick_hands_control_back_many_times():
    calls: list[int] = []
    sim = None

    def prepare(s: Simulation) -> None:
        nonlocal sim
        sim = s
        s.on_checkpoint = lambda: calls.append(s.k)

    output_on(station_design(6400, 1.0, 8, duration_s=20, tick_s=20), prepare=prepare)
    assert sim is not None and sim.n_ticks == 1
    # About 256,000 events in one tick: the runner hears from it at every slice, within the tick.
    assert calls.count(1) >= sim.events // sim._slice - 1 >= 10


def test_the_event_count_is_an_emission_and_a_completion_per_request():
    sims: list[Simulation] = []
    summary = json.loads(output_on(mm1(), prepare=sims.append))["summary"]
    # The general loop, before it was deleted, counted the same events on this run.
    assert 30_000 < sims[0].events < 34_000
    assert abs(sims[0].events - 2 * summary["requests"]) < 50


def test_the_default_budget_follows_the_work_limit():
    sim = Simulation(load(mm1()), limits=Limits(max_work=1_000_000))
    assert sim.limits.max_events == 4_000_000
