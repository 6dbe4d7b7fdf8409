"""Where work goes: the Celery queues, sending runs and sweep cells to them, and a queued run's
place in line.

Terms
-----
queues
    ``batch``: batch runs, on the prefork worker (one CPU-bound run per process). ``sweeps``:
    sweep cells, on the same worker, which takes from ``batch`` and ``sweeps`` in turn (kombu's
    round-robin queue cycle), so a run never waits behind a sweep's backlog. ``live``: live runs,
    which mostly wait for the wall clock, on a worker with a thread pool that holds many at once
    (ARCHITECTURE "live runs"). ``celery``: housekeeping (the reaper, expiry, ping).
window
    A sweep keeps at most ``SWEEP_CELLS_IN_FLIGHT`` cells sent and unfinished; each cell that
    finishes sends the next. Sweeps from several owners therefore take turns in the ``sweeps``
    queue instead of one owner's hundreds of cells going first.
sent mark
    ``run:<slug>:queued`` notes that a run's task was just sent; the reaper sends a queued run
    again once the mark lapses (its message lost with a Redis restart, or taken by a worker that
    died).

Tasks are sent by name, so nothing here (or in the modules that send work) imports ``tasks``.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from playground.celery import app
from playground.runs import stream
from playground.runs.models import Run, Sweep, SweepCell

log = logging.getLogger(__name__)

BATCH, LIVE, SWEEPS, HOUSEKEEPING = "batch", "live", "sweeps", "celery"
QUEUES = (BATCH, LIVE, SWEEPS, HOUSEKEEPING)


def queue_of(run: Run) -> str:
    return LIVE if run.mode == Run.Mode.LIVE else BATCH


def time_limit_s(run: Run) -> int:
    """A hard limit from the run's size: live runs by their paced length, batch runs by a setting."""
    if run.mode == Run.Mode.LIVE:
        duration = run.document["scenario"]["duration_s"]
        return int(min(settings.RUN_LIVE_MAX_WALL_S, duration / run.speed)) + 120
    return settings.RUN_BATCH_TIME_LIMIT_S


def send_run(run: Run) -> None:
    """Send the run to its queue once the row is committed, and set its sent mark."""
    limit = time_limit_s(run)

    def send() -> None:
        try:
            stream.mark_queued(run.slug, settings.RUN_REQUEUE_S)
            app.send_task("runs.simulate", (run.pk,), queue=queue_of(run), time_limit=limit + 30,
                          soft_time_limit=limit)
        except Exception:  # Redis went away after the row was saved: the reaper sends it later
            log.warning("run %s: could not queue it now; the reaper will", run.slug, exc_info=True)

    transaction.on_commit(send)


def send_cells(sweep: Sweep, *, resend: bool = False) -> int:
    """Fill the sweep's window (see *window*) with pending cells not yet sent; with ``resend``,
    send again the cells already sent and not finished (their messages may be lost). Returns how
    many were sent."""
    pending = SweepCell.objects.filter(sweep=sweep, status=SweepCell.Status.PENDING)
    ids: list[int] = []
    if resend:
        ids.extend(pending.filter(sent_at__isnull=False).order_by("pk").values_list("pk", flat=True))
    room = settings.SWEEP_CELLS_IN_FLIGHT - pending.filter(sent_at__isnull=False).count()
    for pk in pending.filter(sent_at__isnull=True).order_by("pk").values_list("pk", flat=True)[:max(0, room)]:
        # A conditional update claims each cell, so two cells finishing at once send different ones.
        if SweepCell.objects.filter(pk=pk, sent_at__isnull=True).update(sent_at=timezone.now()):
            ids.append(pk)

    def send() -> None:
        for pk in ids:
            send_cell(pk)

    transaction.on_commit(send)
    return len(ids)


def send_cell(cell_id: int) -> None:
    """Send one sweep cell's task (already counted in its sweep's window)."""
    app.send_task("runs.sweep_cell", (cell_id,), queue=SWEEPS)


def place(run: Run) -> dict[str, int | str] | None:
    """Where a queued run stands: its queue and how many runs queued before it still wait there
    (None once it is not queued)."""
    if run.status != Run.Status.QUEUED:
        return None
    ahead = Run.objects.filter(status=Run.Status.QUEUED, mode=run.mode, created_at__lt=run.created_at).count()
    return {"queue": queue_of(run), "ahead": ahead}


def waiting_text(run: Run) -> str:
    """Why a queued run waits, in words, for its page and the API."""
    where = place(run)
    if where is None:
        return ""
    ahead = int(where["ahead"])
    kind = "live-run worker" if where["queue"] == LIVE else "worker"
    if ahead == 0:
        return f"waiting for a free {kind}: yours is next"
    return f"waiting for a free {kind}: {ahead} run{'s' if ahead != 1 else ''} ahead of yours"


def reason_of(run: Run) -> str:
    """The run's reason as its page and the API show it: for a queued run, why it waits too."""
    waiting = waiting_text(run)
    return "; ".join(text for text in (run.reason, waiting) if text)
