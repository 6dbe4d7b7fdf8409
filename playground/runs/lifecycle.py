"""What runs and sweeps share from start to end: who may start work now, how work ends, and the
reaper that finds work whose worker died.

Terms
-----
owner key
    Who a limit counts against: ``user:<id>``, ``browser:<owner token>`` or ``addr:<client
    address>`` for a cookieless, tokenless API client. Runs and sweeps started with an API token
    count as the token's user's.
caps
    For one kind of work (runs, sweeps): how many may be queued or running at once for a user, an
    anonymous owner, and all anonymous owners at one address; how many may start per minute per
    owner and per address. ``caps_of`` reads them from settings at each call.
admission
    ``admit`` takes the owner's lock (one start at a time per owner and kind, so two requests
    cannot both pass a cap: the count and the insert are not one statement), checks the caps, and
    counts the start against the rates; a start that then fails is given back, so only accepted
    work counts.
finish
    The one way a queued or running run or sweep ends: a conditional update, so a run cancelled
    while its worker finishes ends once, as whichever came first.
"""

from __future__ import annotations

import dataclasses
import math
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import redis
from django.conf import settings
from django.db.models import Model, QuerySet
from django.utils import timezone

from playground.engine import Limits
from playground.limits import engine_limits
from playground.runs import queues, stream
from playground.runs.models import Run, Status, Sweep

ACTIVE = (Status.QUEUED, Status.RUNNING)


class RunRefused(Exception):
    """Work that may not start now: a limit was reached. ``status`` is the HTTP answer."""

    def __init__(self, message: str, status: int = 429, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.retry_after = retry_after


@dataclass
class Owner:
    key: str
    user: Any = None
    token: str = ""
    address: str = ""
    is_user: bool = False


site_limits = engine_limits


def run_limits() -> tuple[Limits, Limits]:
    """What a worker loads an admitted run's document with, and what it simulates it under: the
    work estimate was the web's check when the run was admitted, so loading skips it; the engine's
    event budget (from the same limit) is what holds while it runs."""
    limits = site_limits()
    return dataclasses.replace(limits, max_work=math.inf), limits


def active_of(queryset: QuerySet, owner: Owner) -> QuerySet:
    """The owner's queued or running objects (runs or sweeps): a user's, a browser's, or a
    cookieless client's by its address."""
    active = queryset.filter(status__in=ACTIVE)
    if owner.user is not None:
        return active.filter(owner=owner.user)
    if owner.token:
        return active.filter(owner__isnull=True, owner_token=owner.token)
    return active.filter(owner__isnull=True, owner_token="", client_address=owner.address[:64])


@dataclass(frozen=True)
class Caps:
    noun: str          # "run"
    plural: str        # "runs"
    model: type[Model]
    active_user: int
    active_anonymous: int
    active_per_address: int
    starts_per_minute: int
    starts_per_minute_per_address: int

    def count(self, n: int) -> str:
        return f"{n} {self.noun if n == 1 else self.plural}"


def caps_of(model: type[Model]) -> Caps:
    if model is Sweep:
        return Caps("sweep", "sweeps", Sweep, settings.SWEEP_MAX_ACTIVE_USER, settings.SWEEP_MAX_ACTIVE_ANONYMOUS,
                    settings.SWEEP_MAX_ACTIVE_PER_ADDRESS, settings.SWEEP_STARTS_PER_MINUTE,
                    settings.SWEEP_STARTS_PER_MINUTE_PER_ADDRESS)
    return Caps("run", "runs", Run, settings.RUN_MAX_ACTIVE_USER, settings.RUN_MAX_ACTIVE_ANONYMOUS,
                settings.RUN_MAX_ACTIVE_PER_ADDRESS, settings.RUN_STARTS_PER_MINUTE,
                settings.RUN_STARTS_PER_MINUTE_PER_ADDRESS)


def _check_active(owner: Owner, caps: Caps) -> None:
    cap = caps.active_user if owner.is_user else caps.active_anonymous
    if active_of(caps.model.objects.all(), owner).count() >= cap:
        raise RunRefused(f"you have {caps.count(cap)} queued or running already: wait for "
                         f"{'it' if cap == 1 else 'one'} to finish or cancel {'it' if cap == 1 else 'one'}",
                         retry_after=10)
    if owner.token and owner.address:
        # A client that drops its cookies is a new anonymous browser at every request: all the
        # anonymous work from one address shares a larger cap as well.
        cap = caps.active_per_address
        from_address = caps.model.objects.filter(status__in=ACTIVE, owner__isnull=True,
                                                 client_address=owner.address[:64])
        if from_address.count() >= cap:
            raise RunRefused(f"{caps.count(cap)} without an account are queued or running from your address "
                             "already: wait for one to finish, or sign in", retry_after=10)


# Check and count in one step, on Redis's clock, so concurrent starts (in any process) cannot pass
# the cap together. Returns {1, member} when the start is counted, {0, oldest score} when refused.
_TAKE_START = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local window = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {0, oldest[2], tostring(now)}
end
local member = string.format('%.6f', now) .. ':' .. ARGV[3]
redis.call('ZADD', KEYS[1], now, member)
redis.call('EXPIRE', KEYS[1], math.ceil(window) * 2)
return {1, member, tostring(now)}
"""
RATE_WINDOW_S = 60


def take_rate(key: str, cap: int, message: str) -> str:
    """Count one use against ``cap`` a minute under ``key`` (a sliding log in Redis, so every
    process shares it); RunRefused with Retry-After past it. Returns the log entry."""
    taken, value, now = stream.client().eval(_TAKE_START, 1, key, RATE_WINDOW_S, cap, secrets.token_hex(4))
    if not taken:
        retry = max(1, math.ceil(float(value) + RATE_WINDOW_S - float(now)))
        raise RunRefused(f"{message}: try again in {retry} s", retry_after=retry)
    return value.decode() if isinstance(value, bytes) else str(value)


def _take_start(owner: Owner, caps: Caps) -> list[tuple[str, str]]:
    """Count one start against the owner's starts per minute (a sliding log of start times in a
    Redis sorted set, so the limit holds across processes), and an anonymous owner's start also
    against its address's; RunRefused past either. Returns the log entries, which ``_give_back``
    removes if the work is not created after all. A per-owner rate of 0 lifts both (the tests'
    setting)."""
    cap = caps.starts_per_minute
    if cap <= 0:
        return []
    key = f"ratelimit:{caps.plural}:{owner.key}"
    taken = [(key, take_rate(key, cap, f"at most {caps.count(cap)} may start per minute"))]
    if owner.token and owner.address:
        per_address = caps.starts_per_minute_per_address
        key = f"ratelimit:{caps.plural}:anonymous-from:{owner.address[:64]}"
        try:
            taken.append((key, take_rate(key, per_address, f"at most {caps.count(per_address)} without an account "
                                                       "may start per minute from one address")))
        except RunRefused:
            _give_back(taken)
            raise
    return taken


def _give_back(taken: list[tuple[str, str]]) -> None:
    for key, member in taken:
        stream.client().zrem(key, member)


@contextmanager
def admit(owner: Owner, caps: Caps, check: Callable[[], None] | None = None) -> Iterator[None]:
    """Let one start of ``caps``' kind through for ``owner`` (see *admission*); ``check`` runs
    under the lock too (the site-wide cap on live runs). The body creates the work; if it raises,
    the start is given back. RunRefused (429, or 503 without Redis) when it may not start."""
    try:
        lock = stream.client().lock(f"lock:{caps.plural}:{owner.key}", timeout=30, blocking_timeout=10)
        if not lock.acquire():
            raise RunRefused(f"too many {caps.plural} are starting for you at once: try again in a few seconds",
                             retry_after=5)
        try:
            _check_active(owner, caps)
            if check is not None:
                check()
            taken = _take_start(owner, caps)
            try:
                yield
            except BaseException:
                _give_back(taken)  # only accepted work counts
                raise
        finally:
            try:
                lock.release()
            except redis.exceptions.LockError:  # it expired meanwhile: nothing to release
                pass
    except redis.RedisError:
        # Limits and the queue live in Redis: without it nothing can start, and saying so is a 503.
        raise RunRefused(f"{caps.plural} cannot start right now (the {caps.noun} queue is unavailable): try again shortly",
                         status=503, retry_after=10) from None


def finish(obj: Run | Sweep, status: str, reason: str, **fields: Any) -> bool:
    """End a queued or running run or sweep (see *finish*); False if it had ended already."""
    done = type(obj).objects.filter(pk=obj.pk, status__in=ACTIVE).update(
        status=status, reason=reason, finished_at=timezone.now(), **fields)
    if done and isinstance(obj, Run):
        stream.nudge(obj.slug)
    return bool(done)


# ----------------------------------------------------------------------------------------- slots

#: How long a simulation that must wait for its address's slot holds its worker before it goes to
#: the back of its queue (other work is taken meanwhile).
DEFER_S = 1.0


def slot_scope(work: Run | Sweep) -> str | None:
    """Whose simulations take turns (see ``Slot``): an address without an account, for its batch
    runs and sweep cells. None for a user's work and for live runs (they mostly wait, on a worker
    of their own)."""
    if not settings.ANONYMOUS_ONE_AT_A_TIME or work.owner_id is not None or not work.client_address:
        return None
    if isinstance(work, Run) and work.mode == Run.Mode.LIVE:
        return None
    return f"addr:{work.client_address[:64]}"


class Slot:
    """One simulation at a time per address without an account (``ANONYMOUS_ONE_AT_A_TIME``):
    its runs and sweep cells take one worker process at most, however many it queued, so a
    script cannot hold every worker and make other visitors wait. A Redis key with a token,
    renewed by the guard while the simulation goes and released when it ends (it lapses if the
    worker dies)."""

    def __init__(self, work: Run | Sweep) -> None:
        self.scope = slot_scope(work)
        self.token = secrets.token_hex(8)
        self.ttl = float(settings.RUN_LEASE_TTL_S)

    def take(self) -> bool:
        return self.scope is None or stream.take_slot(self.scope, self.token, self.ttl)

    def renew(self) -> None:
        if self.scope is not None:
            stream.renew_slot(self.scope, self.token, self.ttl)

    def release(self) -> None:
        if self.scope is not None:
            try:
                stream.release_slot(self.scope, self.token)
            except redis.RedisError:
                pass  # it lapses on its own


# --------------------------------------------------------------------------------------- reaping


def reap() -> dict[str, int]:
    """Requeue runs whose worker died (their lease lapsed) and fail those that keep dying or wait
    too long; send sweeps that made no progress their pending cells again. Celery beat calls it
    every RUN_REAP_INTERVAL_S."""
    counts = {"requeued": 0, "resent": 0, "failed": 0, "sweeps_requeued": 0}
    grace = timezone.now() - timezone.timedelta(seconds=settings.RUN_LEASE_TTL_S)
    for run in Run.objects.filter(status=Run.Status.RUNNING, started_at__lt=grace):
        if stream.lease_alive(run.slug):
            continue
        if run.attempts >= settings.RUN_MAX_ATTEMPTS:
            if finish(run, Run.Status.FAILED, f"the worker running it stopped {run.attempts} times; giving up"):
                counts["failed"] += 1
        elif Run.objects.filter(pk=run.pk, status=Run.Status.RUNNING).update(
            status=Run.Status.QUEUED, reason="its worker stopped; queued again"
        ):
            counts["requeued"] += 1
            queues.send_run(run)
            stream.nudge(run.slug)
    # A queued run whose task was sent long ago (or whose mark Redis lost) is sent again: a second
    # message is harmless (the lease lets one worker run it; a finished run is skipped).
    for run in Run.objects.filter(status=Run.Status.QUEUED, created_at__lt=grace):
        if not stream.queued_recently(run.slug):
            counts["resent"] += 1
            queues.send_run(run)
    too_old = timezone.now() - timezone.timedelta(seconds=settings.RUN_QUEUE_TIMEOUT_S)
    for run in Run.objects.filter(status=Run.Status.QUEUED, created_at__lt=too_old):
        if finish(run, Run.Status.FAILED, f"no worker took it within {settings.RUN_QUEUE_TIMEOUT_S // 60} minutes"):
            counts["failed"] += 1
    counts["sweeps_requeued"] = _reap_sweeps()
    return counts


def _reap_sweeps() -> int:
    """Send again the cells of sweeps that made no progress for SWEEP_STALL_S (their worker died
    or their messages were lost); a cell finished twice counts once."""
    stalled_before = timezone.now() - timezone.timedelta(seconds=settings.SWEEP_STALL_S)
    count = 0
    for sweep in Sweep.objects.filter(status__in=ACTIVE, created_at__lt=stalled_before):
        if sweep.progress_at is not None and sweep.progress_at > stalled_before:
            continue
        Sweep.objects.filter(pk=sweep.pk).update(progress_at=timezone.now())
        queues.send_cells(sweep, resend=True)
        count += 1
    return count
