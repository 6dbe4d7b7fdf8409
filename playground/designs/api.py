"""The designs API: list, create, read, replace and delete designs with a personal API token.

Reading one design is open to anyone with its slug (as its page is); everything else needs
``Authorization: Bearer <token>`` and acts as the token's user. A document is checked by the
engine: one with problems is refused (422, each problem named) unless the request says
``"draft": true``, which saves it as the editor saves a design being drawn.
"""

from __future__ import annotations

from typing import Any

from django.db.models import F
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from ninja import Router
from ninja.errors import HttpError
from ninja.responses import Status

from playground import jsontext
from playground.accounts.auth import ApiTokenAuth, OptionalApiTokenAuth, api_user
from playground.api import api, json_object_body, json_request_body
from playground.api_schemas import SCHEMA_REFERENCE, DesignListOut, DesignOut, ErrorOut
from playground.designs import documents, quota
from playground.designs.models import Design
from playground.engine import DocumentError, Problem

router = Router(tags=["designs"])

MAX_PAGE = 100
#: The largest ``offset``: beyond it a database's integer (SQLite's 64-bit, PostgreSQL's bigint) overflows.
MAX_OFFSET = 2**31 - 1

_BODY = json_request_body({
    "document": {"type": "object", "description": f"a design document ({SCHEMA_REFERENCE})"},
    "title": {"type": "string", "maxLength": 200, "description": "instead of the document's title"},
    "version": {"type": "integer", "description": "PUT: the version you changed; 409 if it moved on"},
    "draft": {"type": "boolean", "default": False, "description": "save even with problems"},
}, required=("document",))


def _document(body: dict[str, Any]) -> tuple[dict[str, Any], list[Problem], str]:
    """The body's document (raises DocumentError with its problems unless ``draft``) and title."""
    if "document" not in body:
        raise DocumentError([Problem("document", "is required")])
    doc = body["document"]
    shape = documents.editable_problems(doc)
    if shape:
        raise DocumentError([Problem("document." + p.path if p.path else "document", p.message) for p in shape])
    title = body.get("title")
    if title is not None:
        if not isinstance(title, str) or len(title) > documents.MAX_TITLE:
            raise DocumentError([Problem("title", f"must be a string of at most {documents.MAX_TITLE} characters")])
        doc = dict(doc, title=title)
    draft = body.get("draft", False)
    if not isinstance(draft, bool):
        raise DocumentError([Problem("draft", "must be true or false")])
    problems = documents.check(doc)
    if problems and not draft:
        raise DocumentError([Problem("document." + p.path if p.path else "document", p.message) for p in problems])
    return doc, problems, documents.title_of(doc) or documents.EMPTY_TITLE


def _summary(request: HttpRequest, design: Design) -> dict[str, Any]:
    return {
        "id": design.slug,
        "title": design.title,
        "version": design.version,
        "url": request.build_absolute_uri(reverse("design-editor", args=[design.slug])),
        "created_at": design.created_at.isoformat(),
        "updated_at": design.updated_at.isoformat(),
    }


def _full(request: HttpRequest, design: Design, problems: list[Problem] | None = None) -> dict[str, Any]:
    doc = design.document
    problems = documents.check(doc) if problems is None else problems
    user = api_user(request)
    return {
        **_summary(request, design),
        "document": doc,
        "problems": [{"path": p.path, "message": p.message, "text": documents.problem_words(doc, p)} for p in problems],
        "forked_from": design.forked_from.slug if design.forked_from_id else None,
        "yours": bool(user and design.owner_id == user.pk),
    }


class QuotaError(HttpError):
    """A quota or create-rate refusal: its status, message and Retry-After (``designs/quota.py``)."""

    def __init__(self, exc: quota.StorageRefused) -> None:
        super().__init__(exc.status, exc.message)
        self.retry_after = exc.retry_after


def _within_quota(request: HttpRequest, text: str, replacing: Design | None = None) -> None:
    try:
        quota.check(request, text, replacing=replacing, user=request.auth)
    except quota.StorageRefused as exc:
        raise QuotaError(exc) from None


def _design(slug: str) -> Design:
    design = Design.objects.filter(slug=slug).select_related("forked_from").first()
    if design is None:
        raise HttpError(404, f"no design has the id '{slug[:40]}'")
    return design


def _owned(request: HttpRequest, slug: str) -> Design:
    design = _design(slug)
    if design.owner_id != request.auth.pk:
        raise HttpError(403, "only the owner of a design may change it")
    return design


@router.get("/designs", auth=ApiTokenAuth(), response={200: DesignListOut, 400: ErrorOut, 401: ErrorOut}, summary="Your designs, newest change first")
def list_designs(request: HttpRequest, limit: int = 50, offset: int = 0):
    if not 1 <= limit <= MAX_PAGE or not 0 <= offset <= MAX_OFFSET:
        raise HttpError(400, f"limit must be 1-{MAX_PAGE} and offset from 0 to {MAX_OFFSET}")
    rows = Design.objects.filter(owner=request.auth)
    return {"count": rows.count(), "designs": [_summary(request, d) for d in rows[offset:offset + limit]]}


@router.post("/designs", auth=ApiTokenAuth(), openapi_extra=_BODY, response={201: DesignOut, 400: ErrorOut, 401: ErrorOut, 413: ErrorOut, 422: ErrorOut, 429: ErrorOut},
             summary="Create a design")
def create_design(request: HttpRequest):
    doc, problems, title = _document(json_object_body(request))
    text = jsontext.dumps(doc)
    _within_quota(request, text)
    design = Design.objects.create(owner=request.auth, document_json=text, title=title)
    return Status(201, _full(request, design, problems))


@router.get("/designs/{slug}", auth=OptionalApiTokenAuth(), response={200: DesignOut, 404: ErrorOut}, summary="A design and its problems")
def get_design(request: HttpRequest, slug: str):
    return _full(request, _design(slug))


@router.put("/designs/{slug}", auth=ApiTokenAuth(), openapi_extra=_BODY,
            response={200: DesignOut, 400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut,
                      413: ErrorOut, 422: ErrorOut},
            summary="Replace a design")
def put_design(request: HttpRequest, slug: str):
    design = _owned(request, slug)
    body = json_object_body(request)
    doc, problems, title = _document(body)
    version = body.get("version")
    if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
        raise DocumentError([Problem("version", "must be an integer")])
    text = jsontext.dumps(doc)
    _within_quota(request, text, replacing=design)
    rows = Design.objects.filter(pk=design.pk)
    if version is not None:
        rows = rows.filter(version=version)
    changed = rows.update(document_json=text, title=title, version=F("version") + 1,
                          updated_at=timezone.now())
    design.refresh_from_db()
    if not changed:
        return api.create_response(request, {"error": f"the design is at version {design.version}, not {version}",
                                             "problems": [], "version": design.version}, status=409)
    return _full(request, design, problems)


@router.delete("/designs/{slug}", auth=ApiTokenAuth(), response={204: None}, summary="Delete a design")
def delete_design(request: HttpRequest, slug: str):
    _owned(request, slug).delete()
    return Status(204, None)
