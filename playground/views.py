"""Site-wide pages: the home page, the health check and the favicon."""

from __future__ import annotations

import redis
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from playground.navigation import available_links


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home.html", {"primary_links": available_links()[:2]})


def _check_database() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # Any driver error means "down"; the message says which.
        return f"{type(exc).__name__}: {exc}"
    return None


def _check_redis() -> str | None:
    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
    try:
        client.ping()
    except redis.RedisError as exc:
        return f"{type(exc).__name__}: {exc}"
    finally:
        client.close()
    return None


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database and Redis both answer; 503 naming each one that does not."""
    problems = {"database": _check_database(), "redis": _check_redis()}
    checks = {name: ("ok" if problem is None else "down") for name, problem in problems.items()}
    failing = sorted(name for name, problem in problems.items() if problem)
    body: dict = {"status": "ok" if not failing else "down", "checks": checks}
    if failing:
        body["failing"] = failing
        body["errors"] = {name: problems[name] for name in failing}
    return JsonResponse(body, status=503 if failing else 200)


@require_GET
def favicon(request: HttpRequest) -> HttpResponse:
    return redirect(static("img/favicon.svg"), permanent=True)
