"""Settings for the tests: the site's settings with the tests' own Redis database, a fixed key,
no HTTPS redirect, and static files from the finders. Processes the tests start (a Celery worker,
Daphne) run on these settings too."""

import os

os.environ.setdefault("SECRET_KEY", "tests-only-not-secret")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("SECURE_COOKIES", "false")
os.environ.setdefault("STATIC_FROM_FINDERS", "true")
# One simulation at a time per address without an account is tested on its own, with workers
# started with it on (tests/runs/test_fairness.py); most tests start work from one test "address"
# and expect it to spread over the workers.
os.environ.setdefault("ANONYMOUS_ONE_AT_A_TIME", "false")

from playground.settings import *  # noqa: F403
from playground.settings import redis_settings
from tests.redis_server import redis_url_for_tests

globals().update(redis_settings(redis_url_for_tests()))
SECURE_HSTS_SECONDS = 0
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# The rate limit on starting runs is tested on its own (tests/runs/test_limits.py); elsewhere it
# would make test order matter.
RUN_STARTS_PER_MINUTE = 0
SWEEP_STARTS_PER_MINUTE = 0
PICTURE_RENDERS_PER_MINUTE = 0  # the render budget is tested on its own (tests/runs/test_pictures.py)
# Likewise the log-in and sign-up attempt limits (tested in tests/reliability/test_abuse.py): the
# counts live in Redis for a window, across tests and test runs.
LOGIN_ATTEMPTS_PER_ADDRESS = LOGIN_ATTEMPTS_PER_ACCOUNT = SIGNUPS_PER_ADDRESS = 10**6
DESIGN_CREATES_PER_MINUTE = DESIGN_CREATES_PER_MINUTE_PER_ADDRESS = 10**6
