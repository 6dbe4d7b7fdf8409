"""The JSON API: one NinjaAPI, one OpenAPI schema (``/api/openapi.json``, docs at ``/api/docs``).

Each app adds its router here. The API authenticates by personal token (``Authorization: Bearer
...``) or not at all; it never reads the session cookie, so it needs no CSRF token. Every error is a
JSON body ``{"error": message, "problems": [{"path", "message"}]}`` with a 4xx status.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from playground.engine import DocumentError, Problem, parse

api = NinjaAPI(
    title="System Design Playground API",
    version="1",
    description=("Designs kept as code, simulated on demand: create designs, start runs, read frames and summaries. "
                 "The design document, its frames and summaries are described at /reference/schema/ "
                 "(every kind and parameter at /reference/)."),
    urls_namespace="api",
)


class BodyError(DocumentError):
    """The request body itself does not parse: a 400, where a bad document is a 422."""


def json_object_body(request: HttpRequest) -> dict[str, Any]:
    """The request's JSON object, parsed with the engine's caps; 413 if too large, else a 400
    whose problems' paths start at ``body``."""
    try:
        raw = request.body
    except RequestDataTooBig:
        raise HttpError(413, f"the request body is larger than the site accepts "
                             f"({settings.DATA_UPLOAD_MAX_MEMORY_SIZE:,} bytes)") from None
    if not raw:
        raise BodyError([Problem("body", "must be a JSON object")])
    try:
        body = parse(raw, "json")
    except DocumentError as exc:
        raise BodyError([Problem(("body." + p.path) if p.path else "body", p.message) for p in exc.problems]) from None
    if not isinstance(body, dict):
        raise BodyError([Problem("body", "must be a JSON object")])
    return body


def json_request_body(properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    """``openapi_extra`` describing a JSON object body the operation reads itself."""
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def error_response(request: HttpRequest, status: int, message: str, problems: list[dict] | None = None) -> HttpResponse:
    return api.create_response(request, {"error": message, "problems": problems or []}, status=status)


@api.exception_handler(DocumentError)
def _document_error(request: HttpRequest, exc: DocumentError) -> HttpResponse:
    problems = [{"path": p.path, "message": p.message} for p in exc.problems]
    if isinstance(exc, BodyError):
        return error_response(request, 400, "the request body is not valid JSON", problems)
    return error_response(request, 422, "the request is not valid", problems)


@api.exception_handler(NinjaValidationError)
def _request_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    problems = []
    for err in exc.errors:
        loc = [str(part) for part in err.get("loc", ()) if part not in ("body", "payload")]
        problems.append({"path": ".".join(loc) or "body", "message": err.get("msg", "invalid")})
    return error_response(request, 400, "the request is not valid", problems)


@api.exception_handler(AuthenticationError)
def _auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return error_response(request, 401, "a valid API token is needed: Authorization: Bearer <token>")


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    response = error_response(request, exc.status_code, str(exc.message) if hasattr(exc, "message") else str(exc))
    if getattr(exc, "retry_after", None) is not None:  # a rate limit says when to try again
        response["Retry-After"] = str(exc.retry_after)
    return response


def _mount_routers() -> None:
    from playground.designs.api import router as designs_router
    from playground.designs.validate_api import router as validate_router
    from playground.runs.api import router as runs_router
    from playground.runs.sweep_api import router as sweeps_router

    api.add_router("/", designs_router)
    api.add_router("/", validate_router)
    api.add_router("/", runs_router)
    api.add_router("/", sweeps_router)


_mount_routers()
