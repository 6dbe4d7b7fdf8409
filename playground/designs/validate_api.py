"""``POST /api/validate``: what the engine and the hints say about a document, before any run.

Scripts get what the editor's Problems panel shows: every problem (a document with problems is
still a 200: finding them is the point), the hints (warnings with their fix, never blocking a
run) and the work estimate. A body that is not ``{"document": {...}}`` is a 4xx naming the
problem. No token is needed; nothing is saved.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema
from pydantic import Field

from playground.api import json_object_body, json_request_body
from playground.api_schemas import ErrorOut
from playground.designs import documents
from playground.engine import DocumentError, Problem
from playground.engine.hints import hints_for

router = Router(tags=["designs"])


class ProblemItem(Schema):
    path: str = Field(description="where in the document, e.g. nodes[2].params.workers")
    message: str = Field(description="the problem in words, naming the node by its label, with the fix")
    detail: str | None = Field(None, description="the engine's own message")
    node: str | None = Field(None, description="the node it sits on, if any")
    edge: int | None = Field(None, description="the index of the edge it sits on, if any")


class HintItem(Schema):
    node: str = Field(description="the node the hint is about")
    text: str = Field(description="what will probably happen, and the fix")


class ValidateOut(Schema):
    problems: list[ProblemItem] = Field(description="what stops the document from running; [] when it can run")
    hints: list[HintItem] = Field(description="warnings before running (load against capacity, state, retries, "
                                              "timeouts, queues, single instances); they never stop a run")
    estimate: dict[str, Any] | None = Field(None, description="the work estimate: requests, calls at worst, "
                                                              "calls_per_request, the site's limit")


_BODY = json_request_body({"document": {"type": "object", "description": "a design document"}},
                          required=("document",))


@router.post("/validate", response={200: ValidateOut, 400: ErrorOut, 422: ErrorOut}, openapi_extra=_BODY,
             summary="Check a document: its problems, hints before running, and work estimate")
def validate_document(request: HttpRequest):
    body = json_object_body(request)
    unknown = sorted(set(body) - {"document"})
    if unknown:
        raise DocumentError([Problem(name, "is not a known field") for name in unknown])
    if "document" not in body:
        raise DocumentError([Problem("document", "is required")])
    shape = documents.editable_problems(body["document"]) or documents.panel_problems(body["document"])
    if shape:
        raise DocumentError([Problem("document." + p.path if p.path else "document", p.message) for p in shape])
    doc = body["document"]
    problems = [{k: v for k, v in item.items() if k in ("path", "message", "detail", "node", "edge")}
                for item in documents.describe(doc, documents.check(doc))]
    return {"problems": problems, "hints": hints_for(doc), "estimate": documents.work_estimate(doc)}
