"""The site shell: home page, health check, favicon, settings read strictly from the environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import override_settings

from tests.redis_server import free_port

ROOT = Path(__file__).resolve().parent.parent


def test_home_page_says_what_the_product_is(client):
    response = client.get("/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Learn system design by running it" in body
    assert "htmx" in body  # django-htmx's script tag
    assert 'hx-headers=\'{"X-CSRFToken"' in body


@pytest.mark.django_db
def test_healthz_is_ok_when_database_and_redis_answer(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}


@pytest.mark.django_db
def test_healthz_answers_503_naming_redis_when_redis_is_unreachable(client):
    with override_settings(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0"):
        response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["redis"]
    assert body["checks"] == {"database": "ok", "redis": "down"}
    assert "Connection" in body["errors"]["redis"]


@pytest.mark.django_db
def test_healthz_answers_503_naming_the_database_when_it_is_unreachable(client, monkeypatch):
    from django.db import connection
    from django.db.utils import OperationalError

    def refuse(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(connection, "cursor", refuse)
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["database"]
    assert body["errors"]["database"] == "OperationalError: connection refused"


def test_favicon_is_served(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"].endswith("img/favicon.svg")


def _start_django(env_overrides: dict[str, str]) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY", "PORT", "DATABASE_URL"}}
    env.update(DJANGO_SETTINGS_MODULE="playground.settings", **env_overrides)
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"DEBUG": "maybe"}, "DEBUG"),
        ({"DEBUG": "0"}, "SECRET_KEY"),
        ({"DEBUG": "1", "PORT": "eighty"}, "PORT"),
        ({"DEBUG": "1", "PORT": "70000"}, "PORT"),
        ({"DEBUG": "1", "REDIS_URL": "localhost:6379"}, "REDIS_URL"),
        ({"DEBUG": "1", "DATABASE_URL": "nosuchdb://x"}, "DATABASE_URL"),
    ],
)
def test_a_bad_setting_fails_at_start_up_naming_it(overrides, named):
    done = _start_django(overrides)
    assert done.returncode != 0
    assert "ImproperlyConfigured" in done.stderr
    assert named in done.stderr.strip().splitlines()[-1]


def test_production_settings_start_with_a_secret_key():
    done = _start_django({"DEBUG": "0", "SECRET_KEY": "x" * 60})
    assert done.returncode == 0, done.stderr
