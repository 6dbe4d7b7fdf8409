"""The Celery app: configured from Django settings (the ``CELERY_`` names), broker on REDIS_URL.

The Procfile names the processes that use it (``make run`` starts them all): ``worker``, the
prefork worker for the ``batch``, ``sweeps`` and ``celery`` queues; ``live``, a thread-pool worker
for the ``live`` queue; and ``beat``, which runs the reaper and expiry. A worker started without
``-Q`` takes every queue (the tests' workers do).
"""

from __future__ import annotations

import os

from celery import Celery
from celery.signals import worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "playground.settings")

app = Celery("playground")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["playground.runs"])


@worker_init.connect
def _load_engine_core(**_: object) -> None:
    """Load the engine's compiled core (numba's on-disk cache) in the worker's main process,
    before the pool forks, so that no run waits for it."""
    from playground.engine import compiled

    compiled.warm()
