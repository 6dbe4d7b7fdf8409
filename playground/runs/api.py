"""The runs API: start a run, read it and its frames, cancel it, steer a live one.

Cookieless clients are identified by their address for limits, and get a ``control_token`` with the
run they create: ``X-Control-Token`` (or ``Authorization: Bearer`` with the owner's API token) lets
them cancel the run or send it controls.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from ninja import Router
from ninja.responses import Status

from playground.accounts.auth import OptionalApiTokenAuth, api_user
from playground.api import error_response, json_object_body, json_request_body
from playground.api_schemas import (
    SCHEMA_REFERENCE,
    ErrorOut,
    FramesOut,
    QueuedOut,
    RunOut,
    RunStarted,
    StatusOut,
)
from playground.designs.models import Design, Template
from playground.designs.patch import apply_variant
from playground.engine import DocumentError, Problem
from playground.limits import client_address
from playground.runs import queues, service, stories, stream
from playground.runs.models import Run, Steered

router = Router(tags=["runs"])

_RUN_BODY = json_request_body({
    "document": {"type": "object", "description": f"a design document ({SCHEMA_REFERENCE})"},
    "template": {"type": "string", "description": "a template's slug, instead of a document"},
    "design": {"type": "string", "description": "a saved design's id, instead of a document (anyone may run a "
                                                "design they can view; the run counts against the caller)"},
    "variant": {"type": "string", "description": "one of the template's variants"},
    "seed": {"type": "integer", "minimum": 0},
    "mode": {"type": "string", "enum": ["batch", "live"], "default": "batch"},
    "speed": {"type": "integer", "enum": [1, 5, 20], "default": 1},
})


def api_owner(request: HttpRequest) -> service.Owner:
    """Who a run started through the API counts against: the token's user (a token's runs count
    with the user's own, under the user's cap), else the client's address."""
    user = getattr(request, "auth", None)
    if user is not None and getattr(user, "is_authenticated", False):
        return service.Owner(key=f"user:{user.pk}", user=user, is_user=True, address=client_address(request))
    address = client_address(request)
    return service.Owner(key=f"addr:{address}", address=address)


def run_links(run: Run) -> dict[str, str]:
    return {"id": run.slug, "url": reverse("run", args=[run.slug]), "ws": f"/ws/runs/{run.slug}/"}


def run_body(run: Run) -> dict[str, Any]:
    return {
        **run_links(run),
        "status": run.status,
        "reason": queues.reason_of(run),
        "queue": queues.place(run),
        "seed": run.seed,
        "mode": run.mode,
        "speed": run.speed,
        "engine_version": run.engine_version,
        "document": run.document,
        "summary": run.summary,
        "applied_events": run.applied_events,
        # For a done run: what happened, in sentences, each about a moment t (simulated seconds).
        "what_happened": stories.what_happened_for(run),
    }


def document_from_request(body: Any) -> tuple[Any, Template | None, str]:
    """The document a start request names: its own, or a template's (with a variant)."""
    document, template, variant, _design = run_source(body)
    return document, template, variant


def run_source(body: Any) -> tuple[Any, Template | None, str, Design | None]:
    """What a start request runs: its own document, a template's (with a variant), or a saved
    design's (``"design": "<id>"``)."""
    if not isinstance(body, dict):
        raise DocumentError([Problem("body", "must be a JSON object")])
    unknown = sorted(set(body) - {"document", "template", "variant", "design", "seed", "mode", "speed"})
    if unknown:
        raise DocumentError([Problem(name, "is not a known field") for name in unknown])
    if sum(key in body for key in ("document", "template", "design")) != 1:
        raise DocumentError([Problem("document", "give one of a document, a template or a design")])
    if "design" in body:
        if "variant" in body:
            raise DocumentError([Problem("variant", "goes with a template")])
        slug = body["design"]
        design = Design.objects.filter(slug=slug).first() if isinstance(slug, str) else None
        if design is None:
            raise DocumentError([Problem("design", f"no design has the id {str(slug)[:40]!r}")])
        return design.document, design.template, "", design
    if "document" in body:
        if "variant" in body:
            raise DocumentError([Problem("variant", "goes with a template")])
        return body["document"], None, "", None
    template = Template.objects.filter(slug=body["template"]).first() if isinstance(body["template"], str) else None
    if template is None:
        raise DocumentError([Problem("template", f"no template is called {body['template']!r}")])
    variant = body.get("variant", "")
    if variant and (not isinstance(variant, str) or variant not in template.variants):
        names = ", ".join(sorted(template.variants)) or "none"
        raise DocumentError([Problem("variant", f"{template.slug} has no variant {variant!r} (it has: {names})")])
    document = apply_variant(template.document, template.variants[variant]) if variant else template.document
    return document, template, variant, None


def _refused(request: HttpRequest, exc: service.RunRefused):
    response = error_response(request, exc.status, exc.message)
    if exc.retry_after is not None:
        response["Retry-After"] = str(exc.retry_after)
    return response


@router.post("/runs", auth=OptionalApiTokenAuth(), openapi_extra=_RUN_BODY,
             response={201: RunStarted, 400: ErrorOut, 422: ErrorOut, 429: ErrorOut}, summary="Start a run")
def start_run(request: HttpRequest, response: HttpResponse):
    # The answer carries the run's control token: no cache may keep it (ninja's temporal response
    # lends these headers to whatever the operation returns).
    response["Cache-Control"] = "no-store"
    body = json_object_body(request)
    document, template, variant, design = run_source(body)
    try:
        run, control_token = service.create_run(
            document,
            owner=api_owner(request),
            seed=body.get("seed"),
            mode=body.get("mode", Run.Mode.BATCH),
            speed=body.get("speed", 1),
            template=template,
            variant=variant,
            design=design,
        )
    except service.RunRefused as exc:
        return _refused(request, exc)
    return Status(201, {**run_links(run), "status": run.status, "control_token": control_token})


def _run_or_404(request: HttpRequest, slug: str):
    run = Run.objects.filter(slug=slug).first()
    if run is None:
        return None, error_response(request, 404, "no run has that id")
    return run, None


@router.get("/runs/{slug}", response={200: RunOut, 404: ErrorOut}, summary="A run: status, document, summary")
def get_run(request: HttpRequest, slug: str):
    run, missing = _run_or_404(request, slug)
    return missing or run_body(run)


@router.get("/runs/{slug}/frames", response={200: FramesOut, 400: ErrorOut, 404: ErrorOut}, summary="A run's frames after a seq")
def get_frames(request: HttpRequest, slug: str, after: int = 0, limit: int = 3600):
    run, missing = _run_or_404(request, slug)
    if missing:
        return missing
    problem = stream.after_problem(after)
    if problem:
        return error_response(request, 400, problem, [{"path": "after", "message": problem}])
    if not 1 <= limit <= 3600:
        return error_response(request, 400, "limit must be from 1 to 3600",
                              [{"path": "limit", "message": "must be from 1 to 3600"}])
    return {"frames": service.frames_after(run, after, limit)}


def may_steer(request: HttpRequest, work: Steered) -> bool:
    """Whether the API client owns a run or sweep: its token's user, or its control token."""
    user = api_user(request)
    if user is not None and work.owner_id is not None and user.pk == work.owner_id:
        return True
    return work.control_token_matches(request.headers.get("X-Control-Token"))


@router.post("/runs/{slug}/cancel", auth=OptionalApiTokenAuth(), response={200: StatusOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut}, summary="Cancel a queued or running run")
def cancel(request: HttpRequest, slug: str):
    run, missing = _run_or_404(request, slug)
    if missing:
        return missing
    if not may_steer(request, run):
        return error_response(request, 403, "only the run's owner may cancel it (send X-Control-Token)")
    if not service.cancel_run(run):
        return error_response(request, 409, f"the run has already ended ({run.status})")
    return {"id": run.slug, "status": run.status}


@router.post("/runs/{slug}/controls", auth=OptionalApiTokenAuth(), response={202: QueuedOut, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut, 429: ErrorOut}, summary="Send a control to a live run")
def control(request: HttpRequest, slug: str):
    run, missing = _run_or_404(request, slug)
    if missing:
        return missing
    if not may_steer(request, run):
        return error_response(request, 403, "only the run's owner may steer it (send X-Control-Token)")
    try:
        service.send_control(run, json_object_body(request))
    except service.RunRefused as exc:
        return _refused(request, exc)
    return Status(202, {"id": run.slug, "queued": True})
