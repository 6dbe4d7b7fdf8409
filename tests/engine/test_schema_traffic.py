"""The traffic multiplier over time: steps, ramps, and steps that start mid-ramp."""

from __future__ import annotations

import pytest

from playground.engine.traffic import integral, profile, value_at


def test_without_steps_the_multiplier_is_one():
    points = profile([])
    assert value_at(points, 0) == 1
    assert value_at(points, 1e6) == 1
    assert integral(points, 60) == 60


def test_a_step_without_ramp_jumps():
    points = profile([(10, 3, 0)])
    assert value_at(points, 9.999) == 1
    assert value_at(points, 10) == 3
    assert integral(points, 20) == 10 + 30


def test_a_ramp_moves_linearly():
    points = profile([(10, 3, 10)])
    assert value_at(points, 15) == 2
    assert value_at(points, 20) == 3
    assert integral(points, 30) == pytest.approx(10 + 20 + 30)


def test_a_step_during_a_ramp_starts_from_the_value_reached():
    # The ramp 1 -> 3 over [0, 10] is at 2 at t=5; the next step ramps 2 -> 0 over [5, 7].
    points = profile([(0, 3, 10), (5, 0, 2)])
    assert value_at(points, 5) == 2
    assert value_at(points, 6) == 1
    assert value_at(points, 7) == 0
    assert value_at(points, 9) == 0
    assert integral(points, 10) == pytest.approx(7.5 + 2)


def test_steps_apply_in_time_order_whatever_their_order_in_the_document():
    assert profile([(20, 1, 0), (10, 5, 0)]) == profile([(10, 5, 0), (20, 1, 0)])


def test_the_integral_stops_inside_a_ramp():
    points = profile([(0, 3, 10)])
    assert integral(points, 5) == pytest.approx(5 * (1 + 2) / 2)
