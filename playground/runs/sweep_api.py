"""The sweeps API: POST /api/sweeps starts a sweep (or replications), GET /api/sweeps/<id> reads it."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from ninja import Router
from ninja.responses import Status

from playground.accounts.auth import OptionalApiTokenAuth
from playground.api import error_response, json_object_body, json_request_body
from playground.api_schemas import SCHEMA_REFERENCE, ErrorOut, StatusOut, SweepOut, SweepStarted
from playground.engine import DocumentError, Problem
from playground.runs import sweep_service
from playground.runs.api import _refused, api_owner, document_from_request, may_steer
from playground.runs.models import Sweep
from playground.runs.service import RunRefused

router = Router(tags=["sweeps"])

_SWEEP_BODY = json_request_body({
    "document": {"type": "object", "description": f"a design document ({SCHEMA_REFERENCE})"},
    "template": {"type": "string"},
    "variant": {"type": "string"},
    "axes": {
        "type": "array", "maxItems": 2,
        "items": {"type": "object", "properties": {
            "path": {"type": "string", "example": "nodes.api.params.instances"},
            "values": {"type": "array", "items": {"type": "number"}},
            "from": {"type": "number"}, "to": {"type": "number"}, "step": {"type": "number"},
        }},
    },
    "target": {"type": "string", "example": "p99 < 200 and errors < 0.1%"},
    "seeds": {"type": "integer", "minimum": 1, "default": 3},
    "seed": {"type": "integer", "minimum": 0},
})


def sweep_body(sweep: Sweep) -> dict[str, Any]:
    return {
        "id": sweep.slug,
        "url": reverse("sweep", args=[sweep.slug]),
        "status": sweep.status,
        "reason": sweep.reason,
        "axes": sweep.axes,
        "target": sweep.target,
        "seeds": sweep.seeds,
        "seed": sweep.base_seed,
        "progress": {"done": sweep.cells_done, "total": sweep.cells_total},
        "document": sweep.document,
        "result": sweep.result,
    }


@router.post("/sweeps", auth=OptionalApiTokenAuth(), openapi_extra=_SWEEP_BODY, response={201: SweepStarted, 400: ErrorOut, 422: ErrorOut, 429: ErrorOut},
             summary="Start a sweep or replications")
def start_sweep(request: HttpRequest, response: HttpResponse):
    response["Cache-Control"] = "no-store"  # the answer carries the sweep's control token
    body = json_object_body(request)
    sweep_fields = {"axes", "target", "seeds", "seed"}
    unknown = sorted(set(body) - sweep_fields - {"document", "template", "variant"})
    if unknown:
        raise DocumentError([Problem(name, "is not a known field") for name in unknown])
    document, template, variant = document_from_request({k: v for k, v in body.items() if k not in sweep_fields})
    try:
        sweep, control_token = sweep_service.create_sweep(
            document, owner=api_owner(request), axes=body.get("axes", []), target=body.get("target", ""),
            seeds=body.get("seeds", 3), seed=body.get("seed"), template=template, variant=variant,
        )
    except RunRefused as exc:
        return _refused(request, exc)
    return Status(201, {"id": sweep.slug, "url": reverse("sweep", args=[sweep.slug]), "status": sweep.status,
                        "control_token": control_token})


@router.get("/sweeps/{slug}", response={200: SweepOut, 404: ErrorOut}, summary="A sweep: progress and result")
def get_sweep(request: HttpRequest, slug: str):
    sweep = Sweep.objects.filter(slug=slug).first()
    if sweep is None:
        return error_response(request, 404, "no sweep has that id")
    return sweep_body(sweep)


@router.post("/sweeps/{slug}/cancel", auth=OptionalApiTokenAuth(), response={200: StatusOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut}, summary="Cancel a sweep")
def cancel_sweep(request: HttpRequest, slug: str):
    sweep = Sweep.objects.filter(slug=slug).first()
    if sweep is None:
        return error_response(request, 404, "no sweep has that id")
    if not may_steer(request, sweep):
        return error_response(request, 403, "only the sweep's owner may cancel it (send X-Control-Token)")
    if not sweep_service.cancel_sweep(sweep):
        return error_response(request, 409, f"the sweep has already ended ({sweep.status})")
    return {"id": sweep.slug, "status": sweep.status}
