"""What a worker checks while a simulation runs, between slices of its events: cancel, the lease,
and memory.

The engine calls its ``on_checkpoint`` every few thousand events (``Simulation.SLICE_EVENTS``),
however long a tick is, so these checks follow wall time, not ticks:
- at most every ``CHECK_S`` seconds it asks Redis whether the work was cancelled (a run's or a
  sweep's cancel flag), and stops it with ``Stopped``;
- at most every ``RENEW_S`` seconds it renews the run's lease, which also proves that no other
  worker was given the run meanwhile (the lease holds a fencing token): a lost lease stops the
  run with ``stream.LeaseLost`` within about a second, and a long tick can never outlast it;
- it reads the process's resident memory and stops a run that grew it by more than
  ``RUN_MAX_MEMORY_MB`` since it started (``MemoryBudgetExceeded``), before the machine's memory
  runs out.
"""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings

from playground.runs import stream

CHECK_S = 0.25
RENEW_S = 1.0
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


class Stopped(Exception):
    """The work was cancelled (or its sweep ended) while it ran."""


class MemoryBudgetExceeded(Exception):
    def __init__(self, grown_mb: float, limit_mb: int) -> None:
        super().__init__(f"used more than its memory limit ({grown_mb:,.0f} MB grown; limit {limit_mb:,} MB)")


def resident_bytes() -> int:
    """This process's resident memory: /proc where there is one, else the peak (macOS)."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * _PAGE
    except OSError:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if os.uname().sysname == "Darwin" else peak * 1024


class Guard:
    """The checks for one simulation: ``cancelled()`` says whether to stop; ``lease`` is the run's
    ``(slug, token, ttl_s)`` or None (sweep cells hold no lease)."""

    def __init__(self, cancelled: Callable[[], bool], lease: tuple[str, str, float] | None = None,
                 slot: Any = None) -> None:
        self.cancelled = cancelled
        self.lease = lease
        self.slot = slot  # lifecycle.Slot, renewed with the lease
        self.limit_mb = settings.RUN_MAX_MEMORY_MB
        self.base = resident_bytes()
        self.checked_at = self.renewed_at = time.monotonic()

    def __call__(self) -> None:
        now = time.monotonic()
        if now - self.checked_at < CHECK_S:
            return
        self.checked_at = now
        grown = resident_bytes() - self.base
        if grown > self.limit_mb * 1024 * 1024:
            raise MemoryBudgetExceeded(grown / 2**20, self.limit_mb)
        if self.cancelled():
            raise Stopped
        if now - self.renewed_at >= RENEW_S:
            self.renew()

    def renew(self) -> None:
        """Renew the lease (LeaseLost if another worker holds it) and the address's slot now."""
        if self.lease is not None:
            slug, token, ttl = self.lease
            if not stream.renew_lease(slug, token, ttl):
                raise stream.LeaseLost(slug)
        if self.slot is not None:
            self.slot.renew()
        self.renewed_at = time.monotonic()
