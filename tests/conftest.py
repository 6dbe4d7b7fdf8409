"""Fixtures shared by every test: real Redis keys cleaned per test, real processes on demand."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
import redis as redis_lib
from django.conf import settings

from tests.processes import start_celery_worker, start_daphne


def pytest_report_header(config):
    lines = []
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if os.path.exists(chromium):
        done = subprocess.run([chromium, "--version"], capture_output=True, text=True)
        lines.append(f"chromium: {done.stdout.strip() or done.stderr.strip()}")
    try:
        from importlib.metadata import version

        lines.append(f"playwright (pip): {version('playwright')}")
    except Exception:
        pass
    return lines


def pytest_collection_modifyitems(config, items):
    """Browser tests run last: Playwright's sync API keeps an event loop running in the main
    thread while its browser is open, and async tests (or async_to_sync) cannot run beside it."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)


@pytest.fixture
def redis_client():
    """A client on the tests' Redis database; a test deletes the keys it writes."""
    client = redis_lib.Redis.from_url(settings.REDIS_URL)
    yield client
    client.close()


@pytest.fixture
def celery_worker_process(tmp_path, transactional_db):
    worker = start_celery_worker(tmp_path / "worker.log")
    yield worker
    worker.stop()


@pytest.fixture(scope="session", autouse=True)
def _close_async_test_connections(request):
    """Close the database connection that async tests (consumers under WebsocketCommunicator)
    leave open in asgiref's thread for thread-sensitive calls, so that the test database can be
    dropped at the end (PostgreSQL refuses while a session is using it). Asking for the test
    database here, in sessions that use it, makes this run before it is dropped."""
    if not any(item.get_closest_marker("django_db") for item in request.session.items):
        yield
        return
    request.getfixturevalue("django_db_setup")
    yield
    from asgiref.sync import SyncToAsync
    from django.db import connections

    SyncToAsync.single_thread_executor.submit(connections.close_all).result(timeout=30)


@pytest.fixture(scope="session")
def daphne_server(tmp_path_factory, django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        server, base = start_daphne(tmp_path_factory.mktemp("daphne") / "daphne.log")
    yield base
    server.stop()
