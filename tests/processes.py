"""Real processes for tests that cross process boundaries: a Celery worker and Daphne, started
on the test settings, the test database and the tests' Redis."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from django.db import connection

from tests.redis_server import free_port

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def database_url() -> str:
    """The URL of the database the tests are using right now (the test database)."""
    s = connection.settings_dict
    if s["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{Path(s['NAME']).resolve()}"
    if "postgresql" in s["ENGINE"]:
        auth = s["USER"] or ""
        if s["PASSWORD"]:
            auth += f":{s['PASSWORD']}"
        host = s["HOST"] or "localhost"
        port = f":{s['PORT']}" if s["PORT"] else ""
        return f"postgres://{auth}{'@' if auth else ''}{host}{port}/{s['NAME']}"
    raise RuntimeError(f"no child-process URL for database engine {s['ENGINE']}")


def child_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="tests.settings",
        DATABASE_URL=database_url(),
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


class Process:
    def __init__(self, name: str, argv: list[str], env: dict[str, str], log: Path) -> None:
        self.name = name
        self.log_path = log
        self._log = open(log, "wb")
        self.proc = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.kill(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                pass
        self.kill(signal.SIGKILL)
        self.proc.wait()
        self._log.close()


def purge_task_queue() -> None:
    """Drop tasks earlier tests queued with no worker to take them (a run started in a
    transactional test is sent on commit), so a new worker starts on this test's tasks only."""
    from playground.celery import app

    app.control.purge()


def start_celery_beat(log: Path, **env: str) -> Process:
    """Celery beat (the reaper's clock), its schedule file beside its log."""
    beat = Process(
        "celery beat",
        [str(BIN / "celery"), "-A", "playground.celery", "beat", "--loglevel", "INFO",
         "-s", str(log.with_suffix(".schedule"))],
        child_env(**env),
        log,
    )
    deadline = time.monotonic() + 60
    while "beat: Starting" not in beat.log():
        if beat.proc.poll() is not None or time.monotonic() > deadline:
            beat.stop()
            raise RuntimeError(f"Celery beat did not start:\n{beat.log()}")
        time.sleep(0.1)
    return beat


def start_celery_worker(log: Path, *, concurrency: int = 1, purge: bool = True, queues: str = "",
                        pool: str = "", **env: str) -> Process:
    """A worker process on every queue, or on ``queues`` (comma-separated) as the Procfile's
    workers are, with Celery's default pool (prefork) or ``pool`` (threads for the live worker)."""
    if purge:
        purge_task_queue()
    argv = [str(BIN / "celery"), "-A", "playground.celery", "worker", "--loglevel", "INFO",
            "--concurrency", str(concurrency), "--without-gossip", "--without-mingle", "-n", f"test-{free_port()}@%h"]
    if queues:
        argv += ["-Q", queues]
    if pool:
        argv += ["-P", pool]
    worker = Process("celery worker", argv, child_env(**env), log)
    deadline = time.monotonic() + 60
    while "ready." not in worker.log():
        if worker.proc.poll() is not None or time.monotonic() > deadline:
            worker.stop()
            raise RuntimeError(f"the Celery worker did not start:\n{worker.log()}")
        time.sleep(0.1)
    return worker


def start_daphne(log: Path, *, port: int | None = None, **env: str) -> tuple[Process, str]:
    port = port or free_port()
    server = Process(
        "daphne",
        # As the Procfile's web line: Daphne through playground.server (the body limit as it arrives).
        [sys.executable, "-m", "playground.server", "-b", "127.0.0.1", "-p", str(port), "playground.asgi:application"],
        child_env(**env),
        log,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(base + "/favicon.ico", timeout=1):
                break
        except OSError:
            if server.proc.poll() is not None or time.monotonic() > deadline:
                server.stop()
                raise RuntimeError(f"Daphne did not start:\n{server.log()}") from None
            time.sleep(0.1)
    return server, base
