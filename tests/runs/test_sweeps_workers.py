"""Sweeps on real Celery worker processes: the answer queueing theory gives, the same result on
one worker or two, and cancel."""

from __future__ import annotations

import time

import pytest

from playground.engine.theory import mmc
from playground.runs import sweep_service
from playground.runs.models import Sweep, SweepCell
from playground.runs.service import Owner
from tests.processes import start_celery_worker

pytestmark = [pytest.mark.processes, pytest.mark.django_db(transaction=True)]

RPS, SERVICE_S, WORKERS, BOUND_MS = 360, 0.010, 2, 14
INSTANCES = [2, 3, 4, 5, 6]


def fleet() -> dict:
    """An M/M/2 station per instance behind a random balancer: a Poisson stream split at random."""
    return {
        "title": "M/M/2 fleet",
        "nodes": [
            {"id": "users", "kind": "client", "params": {"rps": RPS}},
            {"id": "lb", "kind": "load_balancer", "params": {"algorithm": "random", "latency_ms": 0}},
            {"id": "api", "kind": "service",
             "params": {"instances": 2, "workers": WORKERS, "service_ms": SERVICE_S * 1000, "queue": None}},
        ],
        "edges": [{"from": "users", "to": "lb"}, {"from": "lb", "to": "api"}],
        "scenario": {"duration_s": 40, "warmup_s": 5, "seed": 1},
    }


def run_sweep(tmp_path, workers: int) -> Sweep:
    procs = [start_celery_worker(tmp_path / f"worker-{workers}-{i}.log") for i in range(workers)]
    try:
        sweep, _ = sweep_service.create_sweep(
            fleet(), owner=Owner(key="addr:sweeps", address="sweeps"),
            axes=[{"path": "nodes.api.params.instances", "values": INSTANCES}],
            target=f"mean < {BOUND_MS} and errors < 0.1%", seeds=3, seed=100,
        )
        deadline = time.monotonic() + 120
        while not sweep.is_terminal:
            assert time.monotonic() < deadline, f"sweep stuck at {sweep.cells_done}/{sweep.cells_total}"
            time.sleep(0.2)
            sweep.refresh_from_db()
        return sweep
    finally:
        for proc in procs:
            proc.stop()


def test_a_sweep_finds_the_fewest_instances_queueing_theory_gives_on_one_worker_or_two(tmp_path):
    theory = next(n for n in INSTANCES if 1000 * mmc(RPS / n, SERVICE_S, WORKERS).W < BOUND_MS)
    one = run_sweep(tmp_path, workers=1)
    assert one.status == "done", one.reason
    result = one.result
    cheapest = result["points"][result["cheapest"]]
    assert cheapest["values"] == [theory]
    assert result["answer"].startswith(f"api instances {theory}: mean ")
    for point in result["points"]:  # every point's interval covers theory (or sits within 5% of it)
        n = point["values"][0]
        expected = 1000 * mmc(RPS / n, SERVICE_S, WORKERS).W
        stats = point["metrics"]["mean"]
        assert point["seeds"] == 3
        assert stats["low"] - 0.05 * expected <= expected <= stats["high"] + 0.05 * expected, (n, stats, expected)
    two = run_sweep(tmp_path, workers=2)
    assert two.result == one.result


def test_cancel_stops_the_cells_that_have_not_started(tmp_path):
    doc = fleet()
    doc["scenario"]["duration_s"] = 400
    worker = start_celery_worker(tmp_path / "worker.log")
    try:
        sweep, _ = sweep_service.create_sweep(
            doc, owner=Owner(key="addr:cancel", address="cancel"),
            axes=[{"path": "nodes.api.params.instances", "from": 2, "to": 21}], seeds=2,
        )
        deadline = time.monotonic() + 60
        while not SweepCell.objects.filter(sweep=sweep, status="done").exists():
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert sweep_service.cancel_sweep(sweep)
        deadline = time.monotonic() + 60
        while SweepCell.objects.filter(sweep=sweep, status="pending").exists():
            assert time.monotonic() < deadline, "cells still pending after cancel"
            time.sleep(0.2)
    finally:
        worker.stop()
    sweep.refresh_from_db()
    assert sweep.status == "cancelled" and sweep.result is None
    statuses = list(SweepCell.objects.filter(sweep=sweep).values_list("status", flat=True))
    assert statuses.count("skipped") > 20
    assert statuses.count("done") < 10
