"""Limits on log-in and sign-up attempts, counted with django-ratelimit in the Redis cache (so every
Daphne process shares the counts).

Terms
-----
attempt
    A POST to the log-in or sign-up form, right or wrong: each one counts, so guessing passwords
    costs the same whether a guess succeeds.
window
    ``LOGIN_RATE_WINDOW_S`` seconds. django-ratelimit counts in fixed windows (each key's window
    starts at a staggered point of the clock), so a client may make up to twice a limit across one
    window boundary; it is never more than that.
limits
    ``LOGIN_ATTEMPTS_PER_ADDRESS`` log-ins per client address (``limits.client_address``),
    ``LOGIN_ATTEMPTS_PER_ACCOUNT`` log-ins per username (whatever the address: a botnet guessing
    one account's password meets this one), ``SIGNUPS_PER_ADDRESS`` sign-ups per client address.
    Past one, the form is shown again with a 429 naming the limit and when to try again
    (``Retry-After``); JSON for a client that asks for it.

If Redis does not answer, attempts are let through (with a warning in the log): the limit is not
worth an outage of logging in.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse, JsonResponse
from django_ratelimit.core import get_usage
from redis.exceptions import RedisError

from playground.limits import client_address, wants_json

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limit:
    group: str
    what: str  # "log-in attempts from your address"
    setting: str  # the number's setting
    key: Callable[[str, HttpRequest], str]
    window_setting: str = "LOGIN_RATE_WINDOW_S"

    @property
    def number(self) -> int:
        return getattr(settings, self.setting)

    @property
    def window(self) -> int:
        return getattr(settings, self.window_setting)


def address_key(group: str, request: HttpRequest) -> str:
    return client_address(request)


def _username(group: str, request: HttpRequest) -> str:
    return request.POST.get("username", "").strip().lower()[:150]


LOGIN_LIMITS = (
    Limit("login-address", "log-in attempts from your address", "LOGIN_ATTEMPTS_PER_ADDRESS", address_key),
    Limit("login-account", "log-in attempts for this account", "LOGIN_ATTEMPTS_PER_ACCOUNT", _username),
)
SIGNUP_LIMITS = (Limit("signup-address", "sign-ups from your address", "SIGNUPS_PER_ADDRESS", address_key),)


@dataclass(frozen=True)
class Refusal:
    message: str
    retry_after: int


def _window_text(seconds: int) -> str:
    if seconds % 3600 == 0:
        return f"{seconds // 3600} hour{'s' if seconds != 3600 else ''}"
    if seconds % 60 == 0:
        return f"{seconds // 60} minute{'s' if seconds != 60 else ''}"
    return f"{seconds} s"


def take_attempt(request: HttpRequest, limits: tuple[Limit, ...]) -> Refusal | None:
    """Count this POST against each limit; a Refusal naming the first one it goes past, else None.
    (Also the designs' create rate: ``designs/quota.py``.)"""
    refusal = None
    for limit in limits:
        if not limit.key(limit.group, request):
            continue
        window = limit.window
        try:
            usage = get_usage(request, group=limit.group, key=limit.key, rate=f"{limit.number}/{window}s",
                              method="POST", increment=True)
        except (RedisError, OSError, ImproperlyConfigured) as exc:
            log.warning("%s not counted, the cache did not answer: %s", limit.what, exc)
            continue
        if usage and usage["should_limit"] and refusal is None:
            retry = max(1, usage["time_left"])
            refusal = Refusal(f"too many {limit.what}: at most {limit.number} in {_window_text(window)}; "
                              f"try again in {retry} s", retry)
    return refusal


def refused(request: HttpRequest, refusal: Refusal, page: Callable[[], HttpResponse]) -> HttpResponse:
    """The 429: JSON for a client that asks for it, else ``page()`` (the form again, saying why)."""
    if wants_json(request):
        response: HttpResponse = JsonResponse({"error": refusal.message, "problems": [
            {"path": "body", "message": refusal.message}]}, status=429)
    else:
        response = page()
        response.status_code = 429
    response["Retry-After"] = str(refusal.retry_after)
    return response
