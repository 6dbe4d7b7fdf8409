"""The single-station fast path (station.py) gives the general event loop's output byte for
byte, request by request on the same draws, and hands over to it for live controls."""

from __future__ import annotations

import pytest

from playground.engine import compiled
from playground.engine.limits import Limits
from playground.engine.schema import load
from playground.engine.simulation import Simulation
from tests.engine.helpers import design, node, output_on, same_as_reference
from tests.engine.helpers import station as station_design


def _output(doc, fast: bool, limits=None, controls=None) -> tuple[str, bool]:
    # The compiled core would take these designs first.
    text, path = output_on(doc, False, fast, limits, controls)
    return text, path == "station"


STATIONS = {
    "mm1-warmup": (station_design(700, 1, 1, duration_s=40, warmup_s=5), None),
    "mmck-overload": (station_design(900, 2, 2, queue=3, duration_s=30, warmup_s=2), None),
    "md1": (station_design(800, {"dist": "const", "mean": 1}, 1, duration_s=20), None),
    "mg1-ticks": (station_design(600, {"dist": "lognormal", "mean": 1, "cv": 2}, 1,
                                 duration_s=30, tick_s=3, warmup_s=6), None),
    "database": (design([node("c", "client", rps=500),
                         node("db", "database", connections=3, latency_ms=5)],
                        [("c", "db")], 20, warmup_s=1), None),
    "in-flight-cap": (station_design(1000, 50, 1, queue=None, duration_s=5),
                      Limits(max_in_flight=41)),
    "no-request-at-all": (station_design(0.01, 1, 1, duration_s=1), None),
    "drain-incomplete": (station_design(20, {"dist": "const", "mean": 61000}, 100,
                                        duration_s=3), None),
}


@pytest.mark.parametrize("name", sorted(STATIONS))
def test_fast_path_output_equals_the_general_loop_byte_for_byte(name):
    doc, limits = STATIONS[name]
    fast, took = _output(doc, True, limits)
    assert took
    same_as_reference(doc, limits)


@pytest.mark.parametrize("control", [
    {"kind": "traffic", "multiplier": 2, "ramp_s": 3},
    {"kind": "event", "action": "outage", "node": "s", "duration_s": 2},
    {"kind": "event", "action": "kill_instance", "node": "s"},
])
def test_a_live_control_hands_over_to_the_general_loop_seamlessly(control):
    doc = station_design(700, 1, 2, queue=5, duration_s=15, warmup_s=2)
    doc["nodes"][1]["params"]["startup_s"] = 2
    fast, took = _output(doc, True, controls=[(6, control)])
    assert took
    same_as_reference(doc, controls=[(6, control)])


@pytest.mark.parametrize("change", [
    lambda d: d["nodes"][0]["params"].update(timeout_ms=100),
    lambda d: d["nodes"][0]["params"].update(retries=1),
    lambda d: d["nodes"][1]["params"].update(instances=2),
    lambda d: d["scenario"].update(traffic=[{"at_s": 2, "multiplier": 2}]),
    lambda d: d["scenario"].update(events=[{"at_s": 2, "action": "slowdown", "node": "s",
                                            "factor": 2, "duration_s": 1}]),
    lambda d: d["edges"][0].update(latency_ms=1),
])
def test_anything_beyond_one_plain_station_takes_the_general_loop(change, monkeypatch):
    monkeypatch.setattr(compiled, "ENABLED", False)
    doc = station_design(100, 1, 1, duration_s=5)
    change(doc)
    assert Simulation(load(doc)).station is None
