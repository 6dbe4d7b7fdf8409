"""The traffic multiplier over time, as SCHEMA.md defines it.

Terms
-----
step
    ``(at_s, multiplier, ramp_s)``: from ``at_s`` the multiplier moves linearly from the value in
    force to ``multiplier`` over ``ramp_s`` seconds (at once when ``ramp_s`` is 0). Steps apply in
    time order (ties in document order); a step that starts during a ramp starts from the value
    reached. Before any step the multiplier is 1.
profile
    The multiplier as a piecewise-linear function: a list of breakpoints ``(t, value)`` with
    non-decreasing ``t``, linear between neighbours and constant after the last. Two breakpoints
    at the same ``t`` are a jump.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

Breakpoints = list[tuple[float, float]]


def profile(steps: Iterable[tuple[float, float, float]]) -> Breakpoints:
    """The breakpoints of the multiplier for ``(at_s, multiplier, ramp_s)`` steps."""
    points: Breakpoints = [(0.0, 1.0)]
    for at, target, ramp in sorted(steps, key=lambda s: s[0]):
        start = value_at(points, at)
        points = [p for p in points if p[0] <= at]
        points.append((at, start))
        points.append((at + max(ramp, 0.0), target))
    return points


def value_at(points: Sequence[tuple[float, float]], t: float) -> float:
    """The multiplier at time ``t``; at a jump, the value after it."""
    value = points[0][1]
    for (t0, v0), (t1, v1) in zip(points, points[1:], strict=False):
        if t < t0:
            break
        if t >= t1:
            value = v1
        else:
            value = v0 + (v1 - v0) * (t - t0) / (t1 - t0)
    return value


def integral(points: Sequence[tuple[float, float]], end: float) -> float:
    """The integral of the multiplier over ``[0, end]``."""
    total = 0.0
    for (t0, v0), (t1, v1) in zip(points, points[1:], strict=False):
        if t0 >= end:
            break
        if t1 > end:
            v1 = v0 + (v1 - v0) * (end - t0) / (t1 - t0)
            t1 = end
        total += (t1 - t0) * (v0 + v1) / 2
    last_t, last_v = points[-1]
    if last_t < end:
        total += (end - last_t) * last_v
    return total
