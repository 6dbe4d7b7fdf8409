"""Token authentication for the JSON API (designs and runs).

The API never reads the session cookie: a client is either anonymous or presents a personal token
as ``Authorization: Bearer <token>``. A token that is presented but wrong is always a 401, even on
endpoints anonymous clients may use, so a typo never silently turns a client anonymous.

- ``ApiTokenAuth``: a token is required; ``request.auth`` is the user.
- ``OptionalApiTokenAuth``: no ``Authorization`` header lets the client through as ``ANONYMOUS``.

``api_user(request)`` gives the user or None on either.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja.security import HttpBearer

from playground.accounts.models import ApiToken, digest


class _Anonymous:
    """``request.auth`` of an anonymous client: truthy, so django-ninja lets it through."""

    is_authenticated = False

    def __bool__(self) -> bool:
        return True

    def __repr__(self) -> str:
        return "ANONYMOUS"


ANONYMOUS = _Anonymous()


def user_for_token(token: str):
    """The active user a token belongs to, or None; marks the token as used."""
    if not token or len(token) > 200:
        return None
    row = ApiToken.objects.select_related("user").filter(digest=digest(token.strip())).first()
    if row is None or not row.user.is_active:
        return None
    now = timezone.now()
    if row.last_used_at is None or (now - row.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
    return row.user


class ApiTokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        return user_for_token(token)


class OptionalApiTokenAuth(ApiTokenAuth):
    def __call__(self, request: HttpRequest) -> Any:
        if not request.headers.get(self.header):
            return ANONYMOUS
        return super().__call__(request)


def api_user(request: HttpRequest):
    """The token's user, or None for an anonymous client."""
    auth = getattr(request, "auth", None)
    return auth if getattr(auth, "is_authenticated", False) else None
