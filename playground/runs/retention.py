"""How long unclaimed anonymous work is kept.

Terms
-----
unclaimed
    Owned by an anonymous browser (an owner token) or by nobody (a cookieless API client's run):
    no account has claimed it.
shared
    Someone other than its owner opened its page or forked it (``shared_at`` is set), or, for a
    design, a fork of it exists. Shared work may be in a link someone keeps, so it is kept.
expired
    Unclaimed, not shared, and unchanged for ``ANONYMOUS_RETENTION_H`` hours (a run: ended that
    long ago). ``expire()`` (Celery beat, ``runs.expire``) deletes expired designs and runs, their
    stored frames (by cascade) and their Redis keys.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from playground.designs.models import Design
from playground.runs import stream
from playground.runs.models import Run

BATCH = 500


def expired_runs(now=None) -> QuerySet[Run]:
    cutoff = (now or timezone.now()) - timedelta(hours=settings.ANONYMOUS_RETENTION_H)
    return Run.objects.filter(
        owner__isnull=True, shared_at__isnull=True, status__in=Run.TERMINAL,
    ).filter(Q(finished_at__lt=cutoff) | Q(finished_at__isnull=True, created_at__lt=cutoff)).exclude(
        replications__isnull=False
    )


def expired_designs(now=None) -> QuerySet[Design]:
    cutoff = (now or timezone.now()) - timedelta(hours=settings.ANONYMOUS_RETENTION_H)
    return Design.objects.filter(owner__isnull=True, shared_at__isnull=True, updated_at__lt=cutoff).exclude(
        forks__isnull=False
    )


def expire(now=None) -> dict[str, int]:
    """Delete expired runs (with their Redis keys) and designs; returns how many of each."""
    counts = {"runs": 0, "designs": 0}
    while True:
        batch = list(expired_runs(now).values_list("pk", "slug")[:BATCH])
        if not batch:
            break
        for _pk, slug in batch:
            stream.delete_keys(slug)
        Run.objects.filter(pk__in=[pk for pk, _ in batch]).delete()
        counts["runs"] += len(batch)
    while True:
        pks = list(expired_designs(now).values_list("pk", flat=True)[:BATCH])
        if not pks:
            break
        Design.objects.filter(pk__in=pks).delete()
        counts["designs"] += len(pks)
    return counts
