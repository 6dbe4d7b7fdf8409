"""Production settings pass Django's deployment checks as they are, with no warning left."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys

from tests.processes import ROOT

# What the tests' own settings put in the environment; production has none of it.
_TEST_ONLY = {"DEBUG", "SECRET_KEY", "SECURE_SSL_REDIRECT", "SECURE_COOKIES", "STATIC_FROM_FINDERS",
              "SECURE_HSTS_SECONDS", "DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE"}


def production_env(tmp_path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _TEST_ONLY}
    env.update(DJANGO_SETTINGS_MODULE="playground.settings", ALLOWED_HOSTS="playground.example.com",
               DATABASE_URL=f"sqlite:///{tmp_path / 'prod.sqlite3'}", SECRET_KEY=secrets.token_urlsafe(50))
    env.update(extra)
    return env


def manage(env, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


def test_check_deploy_passes_on_production_settings_with_no_warning(tmp_path):
    done = manage(production_env(tmp_path), "check", "--deploy", "--fail-level", "WARNING")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout
    # The one silenced check is HSTS preload, and only while the domain owner has not opted in.
    preload = manage(production_env(tmp_path, SECURE_HSTS_PRELOAD="true"), "check", "--deploy",
                     "--fail-level", "WARNING")
    assert preload.returncode == 0, preload.stdout + preload.stderr


def test_production_settings_are_strict(tmp_path):
    env = production_env(tmp_path)
    code = ("from django.conf import settings as s; print(s.DEBUG, s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE,"
            " s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS >= 31536000, s.SECURE_HSTS_INCLUDE_SUBDOMAINS,"
            " s.SILENCED_SYSTEM_CHECKS)")
    done = subprocess.run([sys.executable, "-c", f"import django; django.setup(); {code}"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    # django_ratelimit.W001 only says Django's own RedisCache is not on its list (settings.py says why it works).
    assert done.stdout.split(" ", 6) == ["False", "True", "True", "True", "True", "True",
                                         "['security.W021', 'django_ratelimit.W001']\n"], \
        done.stderr


def test_production_settings_refuse_to_start_without_a_secret_key(tmp_path):
    env = production_env(tmp_path)
    del env["SECRET_KEY"]
    done = manage(env, "check")
    assert done.returncode != 0
    assert "SECRET_KEY: required when DEBUG is off" in done.stderr
