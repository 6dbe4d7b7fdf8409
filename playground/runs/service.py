"""Starting, cancelling and steering runs, and reading their frames: what views, the API and the
task share.

Terms
-----
identity
    The canonical document without ``title`` and ``layout`` (neither changes what is simulated),
    hashed: two batch runs with the same identity, seed and engine version give the same output,
    so a new one may reuse a stored result.

Who may start a run (owners, caps, rates) is ``lifecycle``'s; where it goes is ``queues``'.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from playground import jsontext
from playground.engine import (
    ENGINE_VERSION,
    DocumentError,
    Problem,
    dump,
    estimate_document,
    load,
    parse_control,
    validate_control,
    work,
)
from playground.engine.params import SCENARIO_PARAMS
from playground.runs import lifecycle, queues, stream
from playground.runs.lifecycle import Owner, RunRefused, active_of, site_limits
from playground.runs.models import FrameBatch, Run

__all__ = ["MAX_SEED", "SPEEDS", "Owner", "RunRefused", "active_of", "cancel_run", "create_run", "fresh_seed",
           "frames_after", "identity", "send_control", "site_limits"]

#: The document's own bound on a seed (what a browser's JSON numbers carry exactly).
MAX_SEED = int(next(p.max for p in SCENARIO_PARAMS if p.name == "seed"))
SPEEDS = (1, 5, 20)


def identity(document: dict[str, Any]) -> str:
    core = {k: v for k, v in document.items() if k not in ("title", "layout")}
    return hashlib.sha256(jsontext.dumps(core).encode()).hexdigest()


def fresh_seed() -> int:
    return secrets.randbelow(2**31)


def _check_live_cap() -> None:
    cap = settings.RUN_LIVE_MAX_ACTIVE
    if Run.objects.filter(mode=Run.Mode.LIVE, status__in=lifecycle.ACTIVE).count() >= cap:
        raise RunRefused(f"the site is running its most live runs at once ({cap}): start a batch run, "
                         "which replays at any speed afterwards, or try live again in a minute", retry_after=60)


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
    with lifecycle.admit(owner, lifecycle.caps_of(Run), _check_live_cap if mode == Run.Mode.LIVE else None):
        return _start(doc, frozen, owner, seed, mode, speed, template, variant, design)


def _start(doc, frozen, owner: Owner, seed: int, mode: str, speed: int, template, variant: str,
           design) -> tuple[Run, str]:
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
    with transaction.atomic():
        run.save()
        if mode == Run.Mode.BATCH and _reuse(run):
            _copy_result(run)
        else:
            queues.send_run(run)
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
    """Cancel a queued or running run; False if it had already ended. Its worker stops within a
    fraction of a second (guard.py)."""
    stream.request_cancel(run.slug)
    cancelled = lifecycle.finish(run, Run.Status.CANCELLED, "cancelled by its owner")
    run.refresh_from_db()
    return cancelled


def send_control(run: Run, control: Any) -> None:
    """Queue a chaos control for a live run's next tick. Raises DocumentError or RunRefused."""
    if run.mode != Run.Mode.LIVE:
        raise RunRefused("controls go to live runs only; this run is a batch run", status=409)
    if run.is_terminal:
        raise RunRefused(f"the run has ended ({run.status})", status=409)
    doc = load(run.document)
    problems = validate_control(control, doc)
    if problems:
        raise DocumentError(problems)
    if isinstance(control, dict) and control.get("kind") == "traffic":
        _check_traffic_work(run, doc, control)
    if len(run.applied_events) + stream.pending_controls(run.slug) >= settings.RUN_MAX_CONTROLS:
        raise RunRefused(f"a run takes at most {settings.RUN_MAX_CONTROLS} controls", status=429)
    stream.push_control(run.slug, control)


def _check_traffic_work(run: Run, doc, control: dict[str, Any]) -> None:
    """A traffic control must keep the run's work estimate under the site's limit, counting every
    traffic control applied or waiting, each from the tick it applies at (the next one)."""
    step = parse_control(control, doc)
    tick = float(doc.scenario.tick_s)
    at = float(run.frames_total) * tick
    steps = [(float(e["t"]), float(e["control"]["multiplier"]), float(e["control"].get("ramp_s", 0)))
             for e in run.applied_events if e["control"].get("kind") == "traffic"]
    steps += [(at, float(c["multiplier"]), float(c.get("ramp_s", 0)))
              for c in stream.peek_controls(run.slug) if c.get("kind") == "traffic"]
    steps.append((at, float(step.multiplier), float(step.ramp_s)))
    est = estimate_document(doc, steps)
    limit = settings.RUN_MAX_WORK
    if est.calls > limit:
        raise RunRefused(f"traffic x{step.multiplier:g} from {at:g} s: {work.describe(est, limit)}", status=422)


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
