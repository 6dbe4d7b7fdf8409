"""`make run`'s supervisor: starts a private Redis when none answers, serves the site with its
worker and beat, and leaves no process behind on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.redis_server import answers, free_port

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.processes


def _descendants(pid: int) -> set[int]:
    children = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            children.add(int(entry.name))
    for child in list(children):
        children |= _descendants(child)
    return children


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_devserver_starts_everything_and_sigterm_leaves_nothing_behind(tmp_path):
    port, redis_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env.update(
        PORT=str(port),
        REDIS_URL=f"redis://127.0.0.1:{redis_port}/0",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        DEBUG="1",
        SECRET_KEY="devserver-test",
    )
    log = open(tmp_path / "devserver.log", "wb")
    proc = subprocess.Popen([sys.executable, "scripts/devserver.py"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        health = None
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                    health = response.read().decode()
                    break
            except OSError:
                time.sleep(0.5)
        output = (tmp_path / "devserver.log").read_text()
        assert health is not None, output
        assert '"status": "ok"' in health
        assert "started redis-server" in output  # nothing answered on that port, so it made one
        for _ in range(120):
            if "ready." in (tmp_path / "devserver.log").read_text():
                break
            time.sleep(0.5)
        children = _descendants(proc.pid)
        assert len(children) >= 4  # redis-server, daphne, a worker (with its pool), beat
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        log.close()
    time.sleep(0.5)
    assert [pid for pid in children if _alive(pid)] == []
    assert not answers(f"redis://127.0.0.1:{redis_port}/0")
    assert "all processes stopped" in (tmp_path / "devserver.log").read_text()
