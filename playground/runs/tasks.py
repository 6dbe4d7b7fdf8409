"""Celery tasks of the runs app. Tasks are thin: fetch by id, loop the engine, publish."""

from __future__ import annotations

import socket

from playground.celery import app


@app.task(name="runs.ping")
def ping() -> dict:
    """Answer from a worker: proves the broker, a worker and the result store all work."""
    return {"pong": True, "worker": socket.gethostname()}
