"""Starting, cancelling and steering runs, and reading their frames: what views, the API and the
task share.

Terms
-----
identity
    The canonical document without ``title`` and ``layout`` (neither changes what is simulated),
    hashed: two batch runs with the same identity, seed and engine version give the same output,
    so a new one may reuse a stored result.
owner key
    Who a limit counts against: ``user:<id>``, ``token:<api token id>``, ``browser:<owner token>``
    or ``addr:<client address>`` for a cookieless, tokenless API client.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from dataclasses import dataclass
from typing import Any

import redis
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from playground import jsontext
from playground.engine import ENGINE_VERSION, DocumentError, Limits, Problem, dump, load, validate_control
from playground.engine.params import SCENARIO_PARAMS
from playground.runs import stream
from playground.runs.models import FrameBatch, Run

#: The document's own bound on a seed (what a browser's JSON numbers carry exactly).
MAX_SEED = int(next(p.max for p in SCENARIO_PARAMS if p.name == "seed"))
SPEEDS = (1, 5, 20)


class RunRefused(Exception):
    """A run that may not start now: a limit was reached. ``status`` is the HTTP answer."""

    def __init__(self, message: str, status: int = 429, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.retry_after = retry_after


def site_limits() -> Limits:
    return Limits(
        max_expected_requests=getattr(settings, "RUN_MAX_EXPECTED_REQUESTS", 10_000_000),
        max_in_flight=getattr(settings, "RUN_MAX_IN_FLIGHT", 1_000_000),
    )


def identity(document: dict[str, Any]) -> str:
    core = {k: v for k, v in document.items() if k not in ("title", "layout")}
    return hashlib.sha256(jsontext.dumps(core).encode()).hexdigest()


def fresh_seed() -> int:
    return secrets.randbelow(2**31)


@dataclass
class Owner:
    key: str
    user: Any = None
    token: str = ""
    address: str = ""
    is_user: bool = False


def active_of(queryset, owner: Owner):
    """The owner's queued or running objects (runs or sweeps): a user's, a browser's, or a
    cookieless client's by its address."""
    active = queryset.filter(status__in=["queued", "running"])
    if owner.user is not None:
        return active.filter(owner=owner.user)
    if owner.token:
        return active.filter(owner__isnull=True, owner_token=owner.token)
    return active.filter(owner__isnull=True, owner_token="", client_address=owner.address)


def _check_active(owner: Owner) -> None:
    cap = settings.RUN_MAX_ACTIVE_USER if owner.is_user else settings.RUN_MAX_ACTIVE_ANONYMOUS
    if active_of(Run.objects.all(), owner).count() >= cap:
        raise RunRefused(f"you have {cap} runs queued or running already: wait for one to finish or cancel one",
                         retry_after=10)
    if owner.token and owner.address:
        # A client that drops its cookies is a new anonymous browser at every request: all the
        # anonymous runs from one address share a larger cap as well.
        cap = settings.RUN_MAX_ACTIVE_PER_ADDRESS
        from_address = Run.objects.filter(status__in=["queued", "running"], owner__isnull=True,
                                          client_address=owner.address[:64])
        if from_address.count() >= cap:
            raise RunRefused(f"{cap} runs without an account are queued or running from your address already: "
                             "wait for one to finish, or sign in", retry_after=10)


def _rate_key(owner: Owner) -> str:
    return f"ratelimit:runs:{owner.key}"


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


def _take(key: str, cap: int, message: str) -> str:
    taken, value, now = stream.client().eval(_TAKE_START, 1, key, RATE_WINDOW_S, cap, secrets.token_hex(4))
    if not taken:
        retry = max(1, math.ceil(float(value) + RATE_WINDOW_S - float(now)))
        raise RunRefused(f"{message}: try again in {retry} s", retry_after=retry)
    return value.decode() if isinstance(value, bytes) else str(value)


def _take_start(owner: Owner) -> list[tuple[str, str]]:
    """Count one start against the owner's RUN_STARTS_PER_MINUTE (a sliding log of start times in a
    Redis sorted set, so the limit holds across processes), and an anonymous browser's start also
    against its address's RUN_STARTS_PER_MINUTE_PER_ADDRESS; RunRefused past either. Returns the
    log entries, which ``_give_back`` removes if the run is not created after all.
    RUN_STARTS_PER_MINUTE = 0 lifts both (the tests' setting)."""
    cap = settings.RUN_STARTS_PER_MINUTE
    if cap <= 0:
        return []
    key = _rate_key(owner)
    taken = [(key, _take(key, cap, f"at most {cap} runs may start per minute"))]
    if owner.token and owner.address:
        per_address = settings.RUN_STARTS_PER_MINUTE_PER_ADDRESS
        key = f"ratelimit:runs:anonymous-from:{owner.address[:64]}"
        try:
            taken.append((key, _take(key, per_address, f"at most {per_address} runs without an account may "
                                                       "start per minute from one address")))
        except RunRefused:
            _give_back(taken)
            raise
    return taken


def _give_back(taken: list[tuple[str, str]]) -> None:
    for key, member in taken:
        stream.client().zrem(key, member)


def _owner_lock(owner: Owner):
    """One start at a time per owner, so two concurrent requests cannot both pass the active-runs
    cap (the count and the insert are not one statement)."""
    return stream.client().lock(f"lock:runs:{owner.key}", timeout=30, blocking_timeout=10)


def create_run(
    document: Any,
    *,
    owner: Owner,
    seed: int | None = None,
    mode: str = Run.Mode.BATCH,
    speed: int = 1,
    template=None,
    variant: str = "",
    design=None,
    owned_by=None,
) -> tuple[Run, str]:
    """Validate, freeze and queue a run; returns it and its control token.

    Raises DocumentError (the document's problems) or RunRefused (a limit)."""
    doc = load(document, site_limits())
    frozen = dump(doc)
    if seed is None:
        seed = doc.scenario.seed
    problems = []
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed <= MAX_SEED:
        problems.append(Problem("seed", f"must be a whole number from 0 to {MAX_SEED}"))
    if mode not in Run.Mode.values:
        problems.append(Problem("mode", "must be batch or live"))
    if speed not in SPEEDS:
        problems.append(Problem("speed", "must be 1, 5 or 20"))
    if problems:
        raise DocumentError(problems)
    try:
        lock = _owner_lock(owner)
        if not lock.acquire():
            raise RunRefused("too many runs are starting for you at once: try again in a few seconds", retry_after=5)
        try:
            return _start(doc, frozen, owner, seed, mode, speed, template, variant, design)
        finally:
            try:
                lock.release()
            except redis.exceptions.LockError:  # it expired meanwhile: nothing to release
                pass
    except redis.RedisError:
        # Limits and the queue live in Redis: without it no run can start, and saying so is a 503.
        raise RunRefused("runs cannot start right now (the run queue is unavailable): try again shortly",
                         status=503, retry_after=10) from None


def _start(doc, frozen, owner: Owner, seed: int, mode: str, speed: int, template, variant: str,
           design) -> tuple[Run, str]:
    _check_active(owner)
    member = _take_start(owner)
    run = Run(
        title=doc.title,
        document_json=jsontext.dumps(frozen),
        document_sha256=identity(frozen),
        seed=seed,
        engine_version=ENGINE_VERSION,
        mode=mode,
        speed=speed if mode == Run.Mode.LIVE else 1,
        template=template,
        variant=variant,
        design=design,
        client_address=owner.address[:64],
    )
    run.owner = owner.user
    run.owner_token = owner.token
    control_token = run.new_control_token()
    try:
        with transaction.atomic():
            if mode == Run.Mode.BATCH and _reuse(run):
                run.save()
                _copy_result(run)
            else:
                run.save()
                from playground.runs.tasks import enqueue

                enqueue(run)
    except BaseException:
        _give_back(member)  # only accepted runs count
        raise
    return run, control_token


def _reuse(run: Run) -> bool:
    return _reusable(run) is not None


def _reusable(run: Run) -> Run | None:
    return (
        Run.objects.filter(
            document_sha256=run.document_sha256, seed=run.seed, engine_version=run.engine_version,
            mode=Run.Mode.BATCH, status=Run.Status.DONE,
        )
        .exclude(pk=run.pk)
        .order_by("created_at")
        .first()
    )


def _copy_result(run: Run) -> None:
    source = _reusable(run)
    assert source is not None
    FrameBatch.objects.bulk_create(
        FrameBatch(run=run, first_seq=b.first_seq, last_seq=b.last_seq, frames_json=b.frames_json)
        for b in source.frame_batches.all()
    )
    now = timezone.now()
    Run.objects.filter(pk=run.pk).update(
        status=Run.Status.DONE, summary_json=source.summary_json, frames_total=source.frames_total,
        frames_saved=source.frames_saved, started_at=now, finished_at=now,
        reason=f"same document, seed and engine version as run {source.slug}: its result is reused",
    )
    run.refresh_from_db()


def cancel_run(run: Run) -> bool:
    """Cancel a queued or running run; False if it had already ended."""
    updated = Run.objects.filter(pk=run.pk, status__in=[Run.Status.QUEUED, Run.Status.RUNNING]).update(
        status=Run.Status.CANCELLED, reason="cancelled by its owner", finished_at=timezone.now()
    )
    if updated:
        stream.request_cancel(run.slug)
        stream.nudge(run.slug)
    run.refresh_from_db()
    return bool(updated)


def send_control(run: Run, control: Any) -> None:
    """Queue a chaos control for a live run's next tick. Raises DocumentError or RunRefused."""
    if run.mode != Run.Mode.LIVE:
        raise RunRefused("controls go to live runs only; this run is a batch run", status=409)
    if run.is_terminal:
        raise RunRefused(f"the run has ended ({run.status})", status=409)
    problems = validate_control(control, load(run.document))
    if problems:
        raise DocumentError(problems)
    if len(run.applied_events) + stream.pending_controls(run.slug) >= settings.RUN_MAX_CONTROLS:
        raise RunRefused(f"a run takes at most {settings.RUN_MAX_CONTROLS} controls", status=429)
    stream.push_control(run.slug, control)


def frames_after(run: Run, after: int = 0, limit: int = 3600) -> list[dict[str, Any]]:
    """Frames with seq > after, up to limit: the database's, then the replay log's newer ones."""
    frames: list[dict[str, Any]] = []
    for batch in run.frame_batches.filter(last_seq__gt=after).order_by("first_seq"):
        frames.extend(f for f in jsontext.loads(batch.frames_json) if f["seq"] > after)
        if len(frames) >= limit:
            return frames[:limit]
    last = frames[-1]["seq"] if frames else after
    if not run.is_terminal or len(frames) < run.frames_total:
        frames.extend(stream.read_log(run.slug, last, limit - len(frames)))
    return frames[:limit]
