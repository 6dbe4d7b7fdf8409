"""Typed response schemas for the JSON API, so ``/api/openapi.json`` describes every field.

The JSON shapes are the ones the API always answered; these classes only name and type them.
Documents, summaries and frames are objects whose own fields the design document's reference
describes (``/reference/schema/``): they are typed as objects here. Each schema allows extra
fields, so a field added to a body later is passed through rather than dropped.
"""

from __future__ import annotations

from typing import Any

from ninja import Schema
from pydantic import ConfigDict, Field

SCHEMA_REFERENCE = "/reference/schema/"


class _Open(Schema):
    model_config = ConfigDict(extra="allow")


class ProblemOut(Schema):
    path: str = Field(description="where in the request: a dotted path such as document.nodes[2].params.workers")
    message: str
    text: str | None = Field(None, description="the same in words: the node by its label, and the fix")


class ErrorOut(_Open):
    error: str = Field(description="what went wrong, in a sentence")
    problems: list[ProblemOut] = Field(default_factory=list)


class RunLinks(_Open):
    id: str = Field(description="the run's public id (its slug)")
    url: str = Field(description="the run's page, which replays it")
    ws: str = Field(description="the WebSocket that streams its frames")


class RunStarted(RunLinks):
    status: str = Field(description="queued, running, done (a reused result), failed or cancelled")
    control_token: str = Field(description="send as X-Control-Token to cancel or steer this run; shown once")


class AppliedControl(_Open):
    seq: int = Field(description="the frame whose tick applied it")
    t: float = Field(description="simulated seconds")
    control: dict[str, Any] = Field(description='{"kind": "event", "action", "node", ...} or {"kind": "traffic", ...}')


class Moment(_Open):
    t: float | None = Field(None, description="simulated seconds the sentence is about")
    text: str


class RunOut(RunLinks):
    status: str
    reason: str = Field(description="why it stands where it does, in words")
    queue: Any = Field(None, description="its place in the queue while queued")
    seed: int
    mode: str = Field(description="batch or live")
    speed: int = Field(description="a live run's pace: 1, 5 or 20 times real time")
    engine_version: str
    document: dict[str, Any] = Field(description=f"the frozen design document ({SCHEMA_REFERENCE})")
    summary: dict[str, Any] | None = Field(None, description=f"the summary once done ({SCHEMA_REFERENCE}#output)")
    applied_events: list[AppliedControl] = Field(description="the live controls it received, at their ticks")
    what_happened: list[Moment] | None = Field(None, description="what happened, in sentences, once done")


class FramesOut(_Open):
    frames: list[dict[str, Any]] = Field(description=f"frames after the given seq ({SCHEMA_REFERENCE}#output)")


class StatusOut(_Open):
    id: str
    status: str


class QueuedOut(_Open):
    id: str
    queued: bool


class DesignSummaryOut(_Open):
    id: str
    title: str
    version: int = Field(description="send it back with PUT to be told (409) of a newer save")
    url: str = Field(description="the design in the editor")
    created_at: str
    updated_at: str


class DesignListOut(_Open):
    count: int
    designs: list[DesignSummaryOut]


class DesignOut(DesignSummaryOut):
    document: dict[str, Any] = Field(description=f"the design document ({SCHEMA_REFERENCE})")
    problems: list[ProblemOut] = Field(description="what the engine finds wrong with it; [] when it can run")
    forked_from: str | None = None
    yours: bool = Field(description="whether the token's user owns it")


class SweepStarted(_Open):
    id: str
    url: str
    status: str
    control_token: str


class SweepProgress(Schema):
    done: int
    total: int


class SweepOut(_Open):
    id: str
    url: str
    status: str
    reason: str
    axes: list[dict[str, Any]] = Field(description='[{"path", "values"}]: what the sweep varies')
    target: str = Field(description="the target, e.g. p99 < 200 and errors < 0.1%")
    seeds: int
    seed: int = Field(description="the first seed")
    progress: SweepProgress
    document: dict[str, Any]
    result: dict[str, Any] | None = Field(None, description="points, their metrics with 95% intervals, the answer")
