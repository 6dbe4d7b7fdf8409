"""Site-wide limits on what one client may send: the request body's size, and who the client is.

Terms
-----
client address
    The address a limit counts against when there is no better identity (a cookieless API client).
    It is ``REMOTE_ADDR`` unless the site sits behind ``TRUSTED_PROXY_COUNT`` proxies, each of which
    appends the address it saw to ``X-Forwarded-For``: then it is the entry the outermost trusted
    proxy wrote, ``X-Forwarded-For[-N]``. Entries left of it were written by the client and are
    never believed, so a client cannot pick its own address by sending the header.
body limit
    ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (``REQUEST_MAX_BYTES``). A request that declares a longer body is
    answered 413, naming the limit, before any view (or the CSRF check) reads it; Django itself
    would answer a bare 400.
NUL
    A request with a NUL character in its path, query or body is a 400: PostgreSQL refuses NUL in
    text, which would otherwise be a 500.
message rate
    A WebSocket client may send at most ``WS_MAX_MESSAGES`` messages in any ``WS_RATE_WINDOW_S``
    seconds; past that the socket is closed with code 4008 (see ``playground/sockets.py`` for every
    close code).
"""

from __future__ import annotations

import ipaddress
import re
import time
from collections import deque
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from playground.engine import Limits


def engine_limits() -> Limits:
    """The engine's bounds on one run on this site (settings RUN_MAX_*): what a run is admitted
    under, and what the editor and the designs API check a document against."""
    return Limits(
        max_expected_requests=settings.RUN_MAX_EXPECTED_REQUESTS,
        max_in_flight=settings.RUN_MAX_IN_FLIGHT,
        max_work=settings.RUN_MAX_WORK,
    )


def _valid_ip(text: str) -> str | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # [v6]:port
        text = text[1:text.index("]")]
    elif text.count(":") == 1:  # v4:port
        text = text.split(":", 1)[0]
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def forwarded_address(remote_addr: str, forwarded_for: str, trusted: int) -> str:
    """The client's address from the peer's address and X-Forwarded-For, believing only the entries
    ``trusted`` proxies wrote (see *client address*)."""
    remote = remote_addr or "unknown"
    if trusted <= 0 or not forwarded_for:
        return remote
    hops = [hop for hop in forwarded_for.split(",") if hop.strip()]
    if not hops:
        return remote
    # With fewer entries than proxies, the outermost proxy saw the client as the first entry.
    chosen = hops[-trusted] if len(hops) >= trusted else hops[0]
    return _valid_ip(chosen) or remote


def client_address(request: HttpRequest) -> str:
    return forwarded_address(
        request.META.get("REMOTE_ADDR", ""),
        request.META.get("HTTP_X_FORWARDED_FOR", ""),
        settings.TRUSTED_PROXY_COUNT,
    )


def wants_json(request: HttpRequest) -> bool:
    return (
        request.path.startswith("/api/")
        or "json" in request.META.get("CONTENT_TYPE", "")
        or "json" in request.META.get("HTTP_ACCEPT", "")
        or request.META.get("HTTP_HX_REQUEST") == "true"
    )


def refusal(request: HttpRequest, status: int, message: str, path: str = "body") -> HttpResponse:
    """A 4xx naming the problem: the API's JSON shape, or a small page for a browser."""
    if wants_json(request):
        return JsonResponse({"error": message, "problems": [{"path": path, "message": message}]}, status=status)
    return render(request, "refused.html", {"status": status, "message": message}, status=status)


def size_text(n: int) -> str:
    if n % (1024 * 1024) == 0:
        return f"{n // (1024 * 1024)} MiB"
    if n % 1024 == 0:
        return f"{n // 1024} KiB"
    return f"{n:,} bytes"


def too_long_message(length: int | None, limit: int) -> str:
    """The refusal of a body over ``limit``: ``length`` bytes, or None for a chunked body cut off
    as it passed the limit (``playground/server.py``)."""
    if length is None:
        return f"the request body is longer than the site accepts: at most {size_text(limit)}"
    return f"the request body is {length:,} bytes; the site accepts at most {size_text(limit)}"


class BodySizeLimitMiddleware:
    """413 for a request whose declared body is longer than the site accepts (see *body limit*)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raw = request.META.get("CONTENT_LENGTH") or "0"
        try:
            length = int(raw)
        except ValueError:
            return refusal(request, 400, "the Content-Length header is not a number")
        if length < 0:
            return refusal(request, 400, "the Content-Length header is not a number")
        if limit is not None and length > limit:
            return refusal(request, 413, too_long_message(length, limit))
        return self.get_response(request)


# A JSON \u0000 escape: an odd number of backslashes before u0000 (an even number is a literal
# backslash followed by the text "u0000").
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


def _has_nul(request: HttpRequest) -> bool:
    if "\x00" in request.path or "%00" in request.META.get("QUERY_STRING", ""):
        return True
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return False
    body = request.body
    if b"\x00" in body:
        return True
    content_type = request.META.get("CONTENT_TYPE", "")
    if content_type.startswith("multipart/"):
        return False
    if content_type.startswith("application/x-www-form-urlencoded") and b"%00" in body:
        return True
    return bool(_JSON_NUL.search(body))  # JSON views read a body as JSON whatever its declared type


class NulRefusalMiddleware:
    """400 for a request carrying a NUL character in its path, query or body: PostgreSQL cannot
    store one in text (nor compare one in a query), so it would otherwise surface as a 500. Runs
    after the body limit, so it reads at most REQUEST_MAX_BYTES."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if _has_nul(request):
            return refusal(request, 400, "text may not contain NUL (\\u0000) characters")
        return self.get_response(request)


class MessageRate:
    """A sliding window of message times: ``allow()`` is False once ``limit`` messages came within
    ``window_s`` seconds."""

    def __init__(self, limit: int, window_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window_s = window_s
        self.clock = clock
        self.times: deque[float] = deque()

    def allow(self) -> bool:
        now = self.clock()
        while self.times and self.times[0] <= now - self.window_s:
            self.times.popleft()
        if len(self.times) >= self.limit:
            return False
        self.times.append(now)
        return True
