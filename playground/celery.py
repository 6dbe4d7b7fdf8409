"""The Celery app: configured from Django settings (the ``CELERY_`` names), broker on REDIS_URL.

Start a worker with ``celery -A playground.celery worker`` and beat with ``celery -A
playground.celery beat``; ``make run`` starts both.
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
