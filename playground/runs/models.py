"""Runs: one simulation of a frozen design document, with its frames and summary.

Terms
-----
Run
    A frozen document (canonical, defaults filled), a seed and an engine version: the same three
    give the same frames, so the run's public slug replays it exactly. ``mode`` is batch (as fast
    as possible) or live (paced at ``speed`` times real time, with chaos controls).
applied_events
    The controls a live run received, each with the tick it was applied at: a replay or a restart
    applies the same controls at the same ticks.
FrameBatch
    Frames saved to the database in batches while the run goes (the Redis stream is the live
    replay log; this is the record). Frames and summaries are canonical JSON text.
control token
    For a cookieless API client: the secret that lets it cancel the run or send it controls. Only
    its hash is kept.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.db import models

from playground import jsontext
from playground.designs.models import Design, Template, new_slug
from playground.designs.ownership import Owned


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Status(models.TextChoices):
    """Where a run or a sweep stands; done, failed and cancelled are final."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Steered(Owned):
    """Owned work that a cookieless API client steers (cancels, sends controls) with the control
    token it was given at the start; only the token's hash is kept."""

    control_token_hash = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        abstract = True

    def new_control_token(self) -> str:
        token = secrets.token_urlsafe(32)
        self.control_token_hash = token_hash(token)
        return token

    def control_token_matches(self, token: str | None) -> bool:
        return bool(token and self.control_token_hash) and secrets.compare_digest(
            token_hash(token), self.control_token_hash
        )


class Run(Steered):
    Status = Status

    class Mode(models.TextChoices):
        BATCH = "batch"
        LIVE = "live"

    TERMINAL = (Status.DONE, Status.FAILED, Status.CANCELLED)

    slug = models.CharField(max_length=32, unique=True, default=new_slug, editable=False)
    title = models.CharField(max_length=200, blank=True, default="")
    document_json = models.TextField()
    document_sha256 = models.CharField(max_length=64, db_index=True)
    seed = models.BigIntegerField()
    engine_version = models.CharField(max_length=32)
    mode = models.CharField(max_length=8, choices=Mode.choices, default=Mode.BATCH)
    speed = models.PositiveSmallIntegerField(default=1)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True)
    reason = models.TextField(blank=True, default="")
    template = models.ForeignKey(Template, null=True, blank=True, on_delete=models.SET_NULL, related_name="runs")
    variant = models.CharField(max_length=100, blank=True, default="")
    design = models.ForeignKey(Design, null=True, blank=True, on_delete=models.SET_NULL, related_name="runs")
    applied_events = models.JSONField(default=list)
    frames_total = models.PositiveIntegerField(default=0)
    frames_saved = models.PositiveIntegerField(default=0)
    summary_json = models.TextField(blank=True, default="")
    attempts = models.PositiveSmallIntegerField(default=0)
    client_address = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    #: When someone other than its owner first opened or forked it (see ``retention``).
    shared_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"run {self.slug} ({self.status})"

    @property
    def document(self) -> dict[str, Any]:
        return jsontext.loads(self.document_json)

    @property
    def summary(self) -> dict[str, Any] | None:
        return jsontext.loads(self.summary_json) if self.summary_json else None

    @property
    def is_terminal(self) -> bool:
        return self.status in self.TERMINAL



class FrameBatch(models.Model):
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="frame_batches")
    first_seq = models.PositiveIntegerField()
    last_seq = models.PositiveIntegerField()
    frames_json = models.TextField()

    class Meta:
        ordering = ["first_seq"]
        constraints = [models.UniqueConstraint(fields=["run", "first_seq"], name="unique_batch_start")]


class Sweep(Steered):
    """Many runs of one design: each *point* sets one or two parameters (its *axes*) to one value
    each, and runs on ``seeds`` seeds. *Replications* are a sweep with no axes: one point, many
    seeds. Each (point, seed) is a ``SweepCell``, simulated by its own Celery task; the last cell
    to finish gathers the result (means, 95% confidence intervals, the points that meet the
    target, the cheapest of them)."""

    Status = Status
    TERMINAL = (Status.DONE, Status.FAILED, Status.CANCELLED)

    slug = models.CharField(max_length=32, unique=True, default=new_slug, editable=False)
    title = models.CharField(max_length=200, blank=True, default="")
    document_json = models.TextField()
    engine_version = models.CharField(max_length=32)
    axes = models.JSONField(default=list)
    target = models.CharField(max_length=500, blank=True, default="")
    seeds = models.PositiveIntegerField(default=3)
    base_seed = models.BigIntegerField(default=0)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True)
    reason = models.TextField(blank=True, default="")
    cells_total = models.PositiveIntegerField(default=0)
    cells_done = models.PositiveIntegerField(default=0)
    result_json = models.TextField(blank=True, default="")
    template = models.ForeignKey(Template, null=True, blank=True, on_delete=models.SET_NULL, related_name="sweeps")
    variant = models.CharField(max_length=100, blank=True, default="")
    design = models.ForeignKey(Design, null=True, blank=True, on_delete=models.SET_NULL, related_name="sweeps")
    run = models.ForeignKey(Run, null=True, blank=True, on_delete=models.SET_NULL, related_name="replications")
    client_address = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    progress_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"sweep {self.slug} ({self.status})"

    @property
    def document(self) -> dict[str, Any]:
        return jsontext.loads(self.document_json)

    @property
    def result(self) -> dict[str, Any] | None:
        return jsontext.loads(self.result_json) if self.result_json else None

    @property
    def is_terminal(self) -> bool:
        return self.status in self.TERMINAL


class SweepCell(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        DONE = "done"
        FAILED = "failed"
        SKIPPED = "skipped"

    sweep = models.ForeignKey(Sweep, on_delete=models.CASCADE, related_name="cells")
    point = models.PositiveIntegerField()
    seed = models.BigIntegerField()
    values = models.JSONField(default=list)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    summary_json = models.TextField(blank=True, default="")
    error = models.TextField(blank=True, default="")
    #: When its task was sent (``queues``' window); None while it waits its turn.
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["point", "seed"]
        constraints = [models.UniqueConstraint(fields=["sweep", "point", "seed"], name="unique_sweep_cell")]


class RunImage(models.Model):
    """A picture of a run, made once and kept (``pictures.py``, ``gif.py``): a finished run never
    changes, so neither do its pictures. ``kind`` names the picture and its parameters
    (``chart:latency``, ``topology.svg``, ``preview``, ``gif``). The GIF is made by a worker:
    its row is ``pending`` until then, and ``failed`` with the reason if it could not be made."""

    class Status(models.TextChoices):
        PENDING = "pending"
        READY = "ready"
        FAILED = "failed"

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="images")
    kind = models.CharField(max_length=64)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.READY)
    content_type = models.CharField(max_length=32, default="image/png")
    content = models.BinaryField(default=b"")
    error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "kind"], name="unique_run_image")]

    def __str__(self) -> str:
        return f"{self.kind} of run {self.run_id} ({self.status})"
