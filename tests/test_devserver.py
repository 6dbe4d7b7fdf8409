"""`make run`'s supervisor (scripts/devserver.py): starts a private Redis when none answers, then
exactly the Procfile's processes; restarts a child that dies, with back-off, while the site keeps
answering; serves collected static files with DEBUG off; and leaves no process behind when it is
stopped."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from celery import Celery

from tests.redis_server import answers, free_port

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.processes
STARTED = re.compile(r"\[make run\] started (\S+) \(pid (\d+)\)")


def _children(pid: int) -> set[int]:
    try:
        return {int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}
    except OSError:
        return set()


def _descendants(pid: int) -> set[int]:
    found = set()
    for child in _children(pid):
        found |= {child} | _descendants(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except OSError:  # refused or timed out
        return 0, b""


def _wait_for(condition, timeout: float, what: str, log: Path, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"{what} did not happen in {timeout:.0f} s; log:\n{log.read_text(errors='replace')[-6000:]}")


class Devserver:
    """scripts/devserver.py as `make run` starts it, with its output in a file."""

    def __init__(self, tmp_path: Path, *args: str, **env: str) -> None:
        self.log_path = tmp_path / "devserver.log"
        environment = {k: v for k, v in os.environ.items() if k not in {"DJANGO_SETTINGS_MODULE", "STATIC_FROM_FINDERS"}}
        environment.update(env)
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([sys.executable, "scripts/devserver.py", *args], cwd=ROOT, env=environment,
                                     stdout=self._log, stderr=subprocess.STDOUT)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def started(self) -> list[tuple[str, int]]:
        return [(name, int(pid)) for name, pid in STARTED.findall(self.log())]

    def pid_of(self, name: str) -> int:
        return [pid for started, pid in self.started() if started == name][-1]

    def wait_for(self, condition, timeout: float, what: str, interval: float = 0.1):
        return _wait_for(condition, timeout, what, self.log_path, interval)

    def stop(self, signum: int = signal.SIGTERM) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signum)
        try:
            return self.proc.wait(timeout=60)
        finally:
            self._log.close()


def _procfile() -> list[tuple[str, str]]:
    lines = [line for line in (ROOT / "Procfile").read_text().splitlines() if line.strip()]
    return [(name, command.strip()) for name, command in (line.split(":", 1) for line in lines)]


def _ready_count(log: str, node: str) -> int:
    return len(re.findall(rf"\b{node}@\S+ ready\.", log))


def _ping(redis_url: str, queue: str) -> dict:
    client = Celery(broker=redis_url, backend=redis_url)
    try:
        return client.send_task("runs.ping", queue=queue).get(timeout=30)
    finally:
        client.close()


def test_a_child_that_keeps_dying_is_restarted_with_doubling_backoff_and_sigint_stops_all(tmp_path):
    procfile = tmp_path / "Procfile"
    procfile.write_text('flaky: sh -c "exit 3"\nsteady: sh -c "sleep 60 & sleep 60"\n')
    server = Devserver(tmp_path, "--procfile", str(procfile), REDIS_URL=os.environ["TEST_REDIS_URL"])
    try:
        server.wait_for(lambda: "restarting it in 4 s" in server.log(), 15, "a third restart of flaky")
        log = server.log()
        delays = re.findall(r"flaky \(pid \d+\) exited with code 3 after [\d.]+ s; restarting it in (\d+) s", log)
        assert delays[:3] == ["1", "2", "4"]
        assert [name for name, _ in server.started()].count("steady") == 1
        steady = server.pid_of("steady")
        group = _descendants(server.proc.pid)
        assert steady in group and len(_children(steady)) == 2  # the shell and its two sleeps
    finally:
        code = server.stop(signal.SIGINT)
    assert code == 0
    assert [pid for pid in group if _alive(pid)] == []
    assert "stopping (SIGINT)" in server.log() and "all processes stopped" in server.log()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The site with DEBUG off after `make run`'s set-up of static files, on a free port, with a
    private Redis that devserver starts itself (nothing answers on that port)."""
    tmp = tmp_path_factory.mktemp("devserver")
    done = subprocess.run(
        ["make", "--no-print-directory", "-o", ".venv/.runtime-installed", "-o", "node_modules/.installed",
         "staticfiles/.collected"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    port, redis_port = free_port(), free_port()
    server = Devserver(
        tmp,
        PORT=str(port),
        REDIS_URL=f"redis://127.0.0.1:{redis_port}/0",
        DATABASE_URL=f"sqlite:///{tmp / 'db.sqlite3'}",
        DEBUG="0",
        SECRET_KEY="devserver-test",
        SECURE_SSL_REDIRECT="false",
        LIVE_CONCURRENCY="4",
    )
    server.base = f"http://127.0.0.1:{port}"
    server.port = port
    server.redis_url = f"redis://127.0.0.1:{redis_port}/0"
    try:
        server.wait_for(lambda: _get(server.base + "/healthz")[0] == 200 if server.started() else False, 90,
                        "/healthz answering 200", interval=0.3)
        server.wait_for(lambda: _ready_count(server.log(), "batch") and _ready_count(server.log(), "live"), 90,
                        "both workers ready", interval=0.3)
        yield server
    finally:
        server.stop()


def test_devserver_starts_exactly_the_procfiles_processes_after_its_own_redis(site):
    env = {k: v for k, v in os.environ.items() if k not in {"HOST", "PORT", "LIVE_CONCURRENCY"}}
    env.update(PORT=str(site.port), LIVE_CONCURRENCY="4")
    started = site.started()
    assert started[0][0] == "redis-server"  # nothing answered on that port, so it made one
    assert [name for name, _ in started[1:]] == [name for name, _ in _procfile()]
    for name, command in _procfile():
        # The words a shell (foreman, honcho, Heroku) would run, against what devserver ran.
        words = subprocess.run(["sh", "-c", f"printf '%s\\n' {command}"], env=env, capture_output=True,
                               text=True, check=True).stdout.splitlines()
        cmdline = Path(f"/proc/{site.pid_of(name)}/cmdline").read_bytes().decode().split("\0")[:-1]
        assert cmdline[-(len(words) - 1):] == words[1:], name
        assert Path(cmdline[-len(words)]).name == words[0], name
    assert _ping(site.redis_url, "batch")["pong"] is True
    assert _ping(site.redis_url, "live")["pong"] is True


def test_with_debug_off_a_page_and_its_hashed_static_files_answer_200(site):
    status, page = _get(site.base + "/")
    assert status == 200
    stylesheet = re.search(rb'href="(/static/css/site\.[0-9a-f]{12}\.css)"', page)
    assert stylesheet is not None, page[:2000]
    status, body = _get(site.base + stylesheet.group(1).decode())
    assert status == 200 and b"{" in body


def test_a_killed_worker_is_restarted_while_the_site_keeps_answering(site):
    old = site.pid_of("worker")
    ready = _ready_count(site.log(), "batch")
    os.killpg(old, signal.SIGKILL)
    statuses = []

    def restarted_and_ready():
        statuses.append(_get(site.base + "/healthz")[0])
        return _ready_count(site.log(), "batch") > ready

    site.wait_for(restarted_and_ready, 60, "the worker's restart", interval=0.2)
    assert re.search(rf"worker \(pid {old}\) was killed by SIGKILL after [\d.]+ s; restarting it in \d+ s", site.log())
    assert site.pid_of("worker") != old
    assert len(statuses) >= 3 and set(statuses) == {200}
    assert _ping(site.redis_url, "batch")["pong"] is True


def test_a_worker_whose_pool_dies_at_start_up_is_restarted_and_then_serves(site):
    old = site.pid_of("worker")
    os.killpg(old, signal.SIGKILL)
    new = site.wait_for(lambda: site.pid_of("worker") != old and site.pid_of("worker"), 60,
                        "a new worker", interval=0.01)
    killed = set()
    deadline = time.monotonic() + 60
    while _alive(new) and time.monotonic() < deadline:  # its pool processes die as they appear
        for child in _children(new) - killed:
            os.kill(child, signal.SIGKILL)
            killed.add(child)
        time.sleep(0.005)
    assert killed and not _alive(new)
    death = rf"worker \(pid {new}\) exited with code 1 after [\d.]+ s; restarting it in \d+ s"
    site.wait_for(lambda: re.search(death, site.log()), 10, "the supervisor's note of the death")
    assert "WorkerLostError: Could not start worker processes" in site.log()
    third = site.wait_for(lambda: site.pid_of("worker") not in {old, new} and site.pid_of("worker"), 60,
                          "a third worker")
    assert _ping(site.redis_url, "batch")["pong"] is True
    assert _alive(third)


def test_sigterm_stops_every_process_and_leaves_none(site):
    processes = _descendants(site.proc.pid)
    assert {pid for _, pid in site.started()[:1]} | {site.pid_of(name) for name, _ in _procfile()} <= processes
    assert len(processes) >= 7  # redis, daphne, two workers (a pool of at least one), beat
    assert site.stop(signal.SIGTERM) == 0
    time.sleep(0.5)
    assert [pid for pid in processes if _alive(pid)] == []
    assert not answers(site.redis_url)
    assert "stopping (SIGTERM)" in site.log() and "all processes stopped" in site.log()
