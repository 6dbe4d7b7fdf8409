"""Celery tasks of the runs app: one line each over the module that does the work. Which queue a
task goes to is ``queues``'; work is sent by task name, so no other module imports this one."""

from __future__ import annotations

import socket

from playground.celery import app
from playground.runs import gif, lifecycle, retention, sweep_service
from playground.runs.runner import Runner


@app.task(name="runs.ping")
def ping() -> dict:
    """Answer from a worker: proves the broker, a worker and the result store all work."""
    return {"pong": True, "worker": socket.gethostname()}


@app.task(name="runs.simulate", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def simulate(run_id: int) -> str:
    return Runner(run_id).execute()


@app.task(name="runs.sweep_cell", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def sweep_cell(cell_id: int) -> str:
    return sweep_service.simulate_cell(cell_id)


@app.task(name="runs.reap", ignore_result=True)
def reap() -> dict:
    return lifecycle.reap()


@app.task(name="runs.expire", ignore_result=True)
def expire() -> dict:
    """Delete unclaimed anonymous work nobody else opened or forked (``retention``)."""
    return retention.expire()


@app.task(name="runs.render_gif", acks_late=True, reject_on_worker_lost=True, ignore_result=True,
          soft_time_limit=gif.TIME_LIMIT_S, time_limit=gif.TIME_LIMIT_S + 30)
def render_gif(run_id: int) -> str:
    """Make a finished run's animated GIF and keep it (``gif.py``)."""
    return gif.render_and_store(run_id)
