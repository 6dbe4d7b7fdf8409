"""Celery tasks of the runs app. Tasks are thin: fetch by id, loop the engine, publish."""

from __future__ import annotations

import logging
import socket

from django.conf import settings
from django.db import transaction

from playground.celery import app
from playground.runs.models import Run

log = logging.getLogger(__name__)


@app.task(name="runs.ping")
def ping() -> dict:
    """Answer from a worker: proves the broker, a worker and the result store all work."""
    return {"pong": True, "worker": socket.gethostname()}


@app.task(name="runs.simulate", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def simulate(run_id: int) -> str:
    from playground.runs.runner import Runner

    return Runner(run_id).execute()


@app.task(name="runs.reap", ignore_result=True)
def reap() -> dict:
    from playground.runs.runner import reap as reap_runs
    from playground.runs.sweep_service import reap_sweeps

    counts = reap_runs()
    counts["sweeps_requeued"] = reap_sweeps()
    return counts


@app.task(name="runs.expire", ignore_result=True)
def expire() -> dict:
    """Delete unclaimed anonymous work nobody else opened or forked (``retention``)."""
    from playground.runs.retention import expire as expire_work

    return expire_work()


def time_limit_s(run: Run) -> int:
    """A hard limit from the run's size: live runs by their paced length, batch runs by requests."""
    scenario = run.document["scenario"]
    if run.mode == Run.Mode.LIVE:
        return int(min(settings.RUN_LIVE_MAX_WALL_S, scenario["duration_s"] / run.speed)) + 120
    return settings.RUN_BATCH_TIME_LIMIT_S


def enqueue(run: Run) -> None:
    """Send the run to a worker once the row is committed, and mark it as sent (the reaper sends a
    queued run again once the mark lapses: its message may have been lost with a Redis restart, or
    reserved by a worker that died)."""
    limit = time_limit_s(run)

    def send() -> None:
        from playground.runs import stream

        try:
            stream.mark_queued(run.slug, settings.RUN_REQUEUE_S)
            simulate.apply_async((run.pk,), time_limit=limit + 30, soft_time_limit=limit)
        except Exception:  # Redis went away after the row was saved: the reaper sends it later
            log.warning("run %s: could not queue it now; the reaper will", run.slug, exc_info=True)

    transaction.on_commit(send)


@app.task(name="runs.sweep_cell", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def sweep_cell(cell_id: int) -> str:
    from playground.runs.sweep_service import simulate_cell

    return simulate_cell(cell_id)
