"""Nobody can take the workers from others (issue 13), with real Celery worker processes on the
tests' Redis and database: budgets stop runs whose estimate was wrong, cancel frees a worker
within 2 s however long the tick, a long tick never loses its lease, and neither live runs nor a
big sweep keep another client's batch run waiting."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from django.utils import timezone

from playground.runs import lifecycle, service, sweep_service
from playground.runs.models import FrameBatch, Run, Sweep
from tests.processes import start_celery_worker
from tests.runs.designs import web_fleet

pytestmark = [pytest.mark.processes, pytest.mark.django_db(transaction=True)]


def owner(name: str) -> lifecycle.Owner:
    return lifecycle.Owner(key=f"addr:{name}", address=name)


def wait_for(run: Run, statuses: tuple[str, ...], timeout: float) -> Run:
    deadline = time.monotonic() + timeout
    while True:
        run.refresh_from_db()
        if run.status in statuses:
            return run
        assert time.monotonic() < deadline, f"run {run.slug} is {run.status} ({run.reason}) after {timeout} s"
        time.sleep(0.05)


def long_tick(duration_s: float = 60) -> dict:
    """One tick of 110,000 rps for ``duration_s``: 60 s is 6.6M requests, about 4 s of CPU in
    one step on a quiet machine (30 s once took under 2 s, shorter than the tests' lease)."""
    doc = web_fleet(rps=110_000, duration_s=duration_s, instances=200)
    doc["scenario"]["tick_s"] = duration_s
    return doc


def test_a_run_whose_estimate_was_wrong_fails_on_its_budget_and_keeps_its_frames(tmp_path):
    """The web process estimated it under the limit; the worker's own budget (as a site with a
    tighter worker limit, or an estimate that was wrong) stops it and says why."""
    worker = start_celery_worker(tmp_path / "worker.log", RUN_MAX_WORK="30000")
    try:
        run, _ = service.create_run(web_fleet(rps=500, duration_s=120), owner=owner("budget"))
        run = wait_for(run, ("done", "failed"), 60)
    finally:
        worker.stop()
    assert run.status == "failed"
    assert "exceeded its work budget after" in run.reason and "(limit 120,000)" in run.reason
    assert "frames made until then are kept" in run.reason
    # About 3 events a request at 500 rps: the budget runs out some 80 s in.
    assert 40 <= run.frames_saved < 120
    assert FrameBatch.objects.filter(run=run).exists()
    assert [f["seq"] for f in service.frames_after(run)] == list(range(1, run.frames_saved + 1))


def test_a_tick_longer_than_the_lease_keeps_it_and_is_simulated_once(tmp_path, settings):
    settings.RUN_LEASE_TTL_S = 2
    worker = start_celery_worker(tmp_path / "worker.log", RUN_LEASE_TTL_S="2")
    requeued = 0
    try:
        run, _ = service.create_run(long_tick(), owner=owner("lease"))
        deadline = time.monotonic() + 120
        while not run.is_terminal:
            assert time.monotonic() < deadline
            requeued += lifecycle.reap()["requeued"]  # the reaper, as beat runs it, many times a tick
            time.sleep(0.3)
            run.refresh_from_db()
        log = worker.log()
    finally:
        worker.stop()
    assert run.status == "done", run.reason
    assert requeued == 0 and run.attempts == 1
    assert log.count("runs.simulate") >= 1 and "lease lost" not in log
    # One tick that took longer than the 2 s lease (60 s of traffic at 110,000 rps).
    assert (run.finished_at - run.started_at).total_seconds() > 2


def test_cancel_during_a_long_tick_frees_the_worker_within_two_seconds(tmp_path):
    worker = start_celery_worker(tmp_path / "worker.log", concurrency=1)
    try:
        long, _ = service.create_run(long_tick(), owner=owner("cancel"))
        wait_for(long, ("running",), 60)
        time.sleep(1.0)  # well inside its one tick
        cancelled_at = timezone.now()
        assert service.cancel_run(long)
        small, _ = service.create_run(web_fleet(duration_s=5), owner=owner("next"))
        small = wait_for(small, ("running", "done"), 30)
        log = worker.log()
    finally:
        worker.stop()
    waited = (small.started_at - cancelled_at).total_seconds()
    assert waited < 2.0, f"the worker took {waited:.1f} s to drop the cancelled run"
    long.refresh_from_db()
    assert long.status == "cancelled" and long.frames_total == 0
    assert "'cancelled'" in log


def test_live_runs_at_1x_do_not_hold_back_another_clients_batch_run(tmp_path):
    """The Procfile's two workers: prefork for batch (one process, as busy as it gets), threads
    for live. Two live runs at 1x wait for the clock on the live worker; the batch run does not
    wait for them."""
    batch = start_celery_worker(tmp_path / "batch.log", queues="batch,sweeps,celery")
    live = start_celery_worker(tmp_path / "live.log", purge=False, queues="live", pool="threads", concurrency=8)
    try:
        lives = [service.create_run(web_fleet(duration_s=120, seed=k), owner=owner("watcher"), mode="live")[0]
                 for k in range(2)]
        for run in lives:
            wait_for(run, ("running",), 30)
        started = time.monotonic()
        theirs, _ = service.create_run(web_fleet(duration_s=30), owner=owner("other"))
        theirs = wait_for(theirs, ("done",), 10)
        took = time.monotonic() - started
        for run in lives:
            run.refresh_from_db()
            assert run.status == "running"
            service.cancel_run(run)
    finally:
        batch.stop()
        live.stop()
    assert took < 10


def test_a_big_sweep_does_not_hold_back_another_clients_run(tmp_path, settings):
    settings.SWEEP_MAX_CELLS = 1000
    worker = start_celery_worker(tmp_path / "worker.log", concurrency=2, queues="batch,sweeps,celery",
                                 SWEEP_MAX_CELLS="1000")
    try:
        sweep, _ = sweep_service.create_sweep(
            web_fleet(rps=2000, duration_s=60), owner=owner("sweeper"),
            axes=[{"path": "nodes.api.params.instances", "from": 3, "to": 12}], seeds=100)
        assert sweep.cells_total == 1000
        deadline = time.monotonic() + 60
        while Sweep.objects.get(pk=sweep.pk).cells_done < 2:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        started = time.monotonic()
        theirs, _ = service.create_run(web_fleet(duration_s=30), owner=owner("other"))
        theirs = wait_for(theirs, ("done",), 10)
        took = time.monotonic() - started
        sweep.refresh_from_db()
        assert sweep.status == "running" and sweep.cells_done < sweep.cells_total
        assert sweep_service.cancel_sweep(sweep)
    finally:
        worker.stop()
    assert took < 10


def test_a_run_that_outgrows_its_memory_limit_fails_cleanly_and_the_worker_goes_on(tmp_path):
    """50,000 rps into one worker with an unbounded queue: a million requests wait within 20 s
    (some 240 MB in the engine). With a 64 MB limit the run fails, named, and the worker process
    lives on to run the next one."""
    backlog = {"schema_version": 1, "title": "Backlog",
               "nodes": [{"id": "c", "kind": "client", "params": {"rps": 50_000}},
                         {"id": "s", "kind": "service",
                          "params": {"instances": 1, "workers": 1, "queue": None, "service_ms": 10}}],
               "edges": [{"from": "c", "to": "s"}], "scenario": {"duration_s": 60}}
    worker = start_celery_worker(tmp_path / "worker.log", RUN_MAX_MEMORY_MB="64")
    try:
        big, _ = service.create_run(backlog, owner=owner("memory"))
        big = wait_for(big, ("done", "failed"), 60)
        small, _ = service.create_run(web_fleet(duration_s=5), owner=owner("after"))
        small = wait_for(small, ("done", "failed"), 30)
        log = worker.log()
    finally:
        worker.stop()
    assert big.status == "failed"
    assert "used more than its memory limit" in big.reason and "limit 64 MB" in big.reason
    assert small.status == "done"
    assert "WorkerLostError" not in log and "Traceback" not in log


def _pool_child(worker) -> int:
    children = Path(f"/proc/{worker.pid}/task/{worker.pid}/children").read_text().split()
    assert len(children) == 1, children
    return int(children[0])


def test_a_worker_that_lost_its_run_to_another_stops_within_two_seconds(tmp_path, settings):
    """Fencing: the first worker is frozen mid-tick past its lease; the reaper gives the run to a
    second worker. When the first wakes, its next renewal finds another token and it stops, in
    well under 2 s; the run ends done once, its frames whole."""
    settings.RUN_LEASE_TTL_S = 2
    first = start_celery_worker(tmp_path / "first.log", RUN_LEASE_TTL_S="2")
    second = None
    try:
        # The first worker must still be inside its one tick when it is frozen, after the second
        # worker has started.
        run, _ = service.create_run(long_tick(), owner=owner("fenced"))
        wait_for(run, ("running",), 60)
        # The second worker's lease outlasts its own longest stretch without a renewal (making
        # the one frame took over 2 s on a loaded machine, and it lost the run in turn); the
        # first's 2 s lease is what lets the reaper requeue quickly.
        second = start_celery_worker(tmp_path / "second.log", purge=False, RUN_LEASE_TTL_S="10")
        frozen = _pool_child(first)
        os.kill(frozen, signal.SIGSTOP)
        try:
            deadline = time.monotonic() + 30
            while not lifecycle.reap()["requeued"]:
                assert time.monotonic() < deadline, "the reaper never requeued the frozen run"
                time.sleep(0.2)
            run = wait_for(run, ("running",), 30)
            time.sleep(0.5)  # the second worker is simulating it now
        finally:
            os.kill(frozen, signal.SIGCONT)
        woke = time.monotonic()
        while "lease lost" not in first.log():
            assert time.monotonic() - woke < 2, "the first worker went on simulating a run it had lost"
            time.sleep(0.05)
        run = wait_for(run, ("done",), 120)
    finally:
        first.stop()
        if second is not None:
            second.stop()
    assert run.attempts == 2
    assert [f["seq"] for f in service.frames_after(run)] == [1]


def test_a_script_without_an_account_holds_one_worker_at_most(tmp_path):
    """Three heavy runs from one address without an account, on a worker with two processes: one
    simulates, the others wait their turn (ANONYMOUS_ONE_AT_A_TIME), so another visitor's run
    starts at once on the second process and finishes within 10 s."""
    worker = start_celery_worker(tmp_path / "worker.log", concurrency=2, queues="batch,sweeps,celery",
                                 ANONYMOUS_ONE_AT_A_TIME="true")
    script = []
    try:
        script = [service.create_run(long_tick(duration_s=90), owner=owner("script"))[0] for _ in range(3)]
        # Which of the three the worker takes first is its choice: wait for any one to run.
        deadline = time.monotonic() + 60
        while not Run.objects.filter(pk__in=[r.pk for r in script], status="running").exists():
            assert time.monotonic() < deadline, "none of the script's runs started"
            time.sleep(0.05)
        time.sleep(2.0)  # the others have been offered to the second process by now
        statuses = [Run.objects.get(pk=r.pk).status for r in script]
        assert statuses.count("running") == 1, statuses
        started = time.monotonic()
        theirs, _ = service.create_run(web_fleet(duration_s=30), owner=owner("visitor"))
        theirs = wait_for(theirs, ("done",), 10)
        took = time.monotonic() - started
        statuses = [Run.objects.get(pk=r.pk).status for r in script]
        assert statuses.count("running") <= 1 and "queued" in statuses, statuses
        log = worker.log()
    finally:
        for run in script:
            service.cancel_run(run)
        worker.stop()
    assert took < 10
    assert "deferred: its address has a simulation going" in log


def test_a_sweep_without_an_account_simulates_one_cell_at_a_time(tmp_path, settings):
    """Its cells take turns with each other (and with the address's runs), and the sweep ends."""
    worker = start_celery_worker(tmp_path / "worker.log", concurrency=2, queues="batch,sweeps,celery",
                                 ANONYMOUS_ONE_AT_A_TIME="true")
    try:
        sweep, _ = sweep_service.create_sweep(
            web_fleet(rps=1000, duration_s=30), owner=owner("sweeper"),
            axes=[{"path": "nodes.api.params.instances", "values": [3, 4]}], seeds=2)
        deadline = time.monotonic() + 90
        while not Sweep.objects.get(pk=sweep.pk).is_terminal:
            assert time.monotonic() < deadline
            time.sleep(0.2)
        log = worker.log()
    finally:
        worker.stop()
    sweep.refresh_from_db()
    assert sweep.status == "done" and sweep.cells_done == 4
    assert "runs.sweep_cell" in log
