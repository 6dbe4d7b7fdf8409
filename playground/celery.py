"""The Celery app: configured from Django settings (the ``CELERY_`` names), broker on REDIS_URL.

Start a worker with ``celery -A playground.celery worker`` and beat with ``celery -A
playground.celery beat``; ``make run`` starts both.
"""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "playground.settings")

app = Celery("playground")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["playground.runs"])
