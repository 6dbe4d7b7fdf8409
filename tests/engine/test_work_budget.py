"""The engine's checkpoints and work budget (work.py): every path (the compiled core, the
single-station loop, the general loop) hands control to ``on_checkpoint`` every slice of events
without changing what it simulates, and stops a run past its event budget."""

from __future__ import annotations

import pytest

from playground.engine import WorkBudgetExceeded, compiled
from playground.engine.limits import Limits
from playground.engine.schema import load
from playground.engine.simulation import Simulation
from tests.engine.helpers import design, node, output_on
from tests.engine.helpers import station as station_design

PATHS = [pytest.param(True, False, "compiled", id="compiled"),
         pytest.param(False, True, "station", id="station"),
         pytest.param(False, False, "general", id="general")]


def _needs(path: str) -> None:
    if path == "compiled" and not compiled.available():
        pytest.skip("numba is not installed")


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


@pytest.mark.parametrize("core,station_loop,path", PATHS)
def test_checkpoints_every_slice_leave_the_output_unchanged(core, station_loop, path):
    _needs(path)
    plain, took = output_on(mm1(), core, station_loop)
    assert took == path
    calls: list[int] = []
    sliced, _ = output_on(mm1(), core, station_loop, prepare=_small_slices(calls))
    assert sliced == plain
    # 800 rps for 20 s is about 32,000 events (an emission and a completion per request).
    assert len(calls) > 30_000 // 97
    assert calls == [97 * (k + 1) for k in range(len(calls))]


@pytest.mark.parametrize("core", [True, False], ids=["compiled", "general"])
def test_checkpoints_leave_retries_and_timeouts_unchanged(core):
    _needs("compiled" if core else "general")
    plain, took = output_on(tree(), core, False)
    assert took == ("compiled" if core else "general")
    calls: list[int] = []
    assert output_on(tree(), core, False, prepare=_small_slices(calls))[0] == plain
    assert len(calls) > 100


@pytest.mark.parametrize("core,station_loop,path", PATHS)
def test_a_run_past_its_event_budget_stops_with_the_count_and_the_limit(core, station_loop, path):
    _needs(path)
    limits = Limits(max_work=2_000)  # 8,000 events; the run needs about 32,000
    with pytest.raises(WorkBudgetExceeded) as stopped:
        output_on(mm1(), core, station_loop, limits=limits,
                  prepare=lambda sim: setattr(sim, "_slice", 1000) or setattr(sim, "_left", 1000))
    assert stopped.value.limit == 8_000
    assert 8_000 < stopped.value.events <= 9_000
    assert str(stopped.value) == f"exceeded its work budget after {stopped.value.events:,} events (limit 8,000)"


@pytest.mark.parametrize("core,station_loop,path", PATHS)
def test_one_long_tick_hands_control_back_many_times(core, station_loop, path):
    _needs(path)
    calls: list[int] = []
    sim = None

    def prepare(s: Simulation) -> None:
        nonlocal sim
        sim = s
        s.on_checkpoint = lambda: calls.append(s.k)

    output_on(station_design(6400, 1.0, 8, duration_s=20, tick_s=20), core, station_loop, prepare=prepare)
    assert sim is not None and sim.n_ticks == 1
    # About 256,000 events in one tick: the runner hears from it at every slice, within the tick.
    assert calls.count(1) >= sim.events // sim._slice - 1 >= 10


def test_the_event_count_is_the_same_on_every_path():
    counts = {}
    for core, station_loop, path in [(True, False, "compiled"), (False, True, "station"),
                                     (False, False, "general")]:
        if path == "compiled" and not compiled.available():
            continue
        sims = []
        output_on(mm1(), core, station_loop, prepare=sims.append)
        counts[path] = sims[0].events
    assert len(set(counts.values())) == 1, counts
    assert 30_000 < counts["general"] < 34_000


def test_the_default_budget_follows_the_work_limit():
    sim = Simulation(load(mm1()), limits=Limits(max_work=1_000_000))
    assert sim.limits.max_events == 4_000_000
