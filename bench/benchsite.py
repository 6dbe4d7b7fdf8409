"""A site of the benchmarks' own: a private redis-server on a free port, a SQLite database in a
temporary folder (migrated), Daphne processes and one Celery worker, on the site's real settings
(DEBUG off). With ``procfile=True`` the workers are the Procfile's own lines instead (the prefork
``worker`` on batch, sweeps and celery, the thread-pool ``live`` worker, and ``beat``), started as
``make run`` starts them. Also what the benchmarks measure with: a design, per-process CPU and
memory, and the moment each frame appears in a run's Redis stream."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.devserver import read_procfile  # noqa: E402
from tests.redis_server import PrivateRedis, free_port  # noqa: E402

BIN = Path(sys.executable).parent


def design(duration_s: int, rps: int = 200) -> dict:
    return {
        "title": "Benchmark fleet",
        "nodes": [
            {"id": "users", "kind": "client", "params": {"rps": rps}},
            {"id": "lb", "kind": "load_balancer"},
            {"id": "api", "kind": "service", "params": {"instances": 4, "workers": 16, "service_ms": 12}},
            {"id": "cache", "kind": "store", "params": {"role": "cache", "latency_ms": 1}},
            {"id": "db", "kind": "database", "params": {"latency_ms": 5}},
        ],
        "edges": [{"from": "users", "to": "lb"}, {"from": "lb", "to": "api"}, {"from": "api", "to": "cache"},
                  {"from": "cache", "to": "db"}],
        "scenario": {"duration_s": duration_s, "tick_s": 1},
    }


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its children still running, from /proc."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    pids = [pid]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    pids.append(int(entry.name))
            except OSError:
                pass
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except OSError:
            pass
    return total


def process_tree(pid: int) -> list[int]:
    """``pid`` and every process below it (a Celery worker and its pool), from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    tree, todo = [], [pid]
    while todo:
        p = todo.pop()
        tree.append(p)
        todo.extend(children.get(p, ()))
    return tree


def tree_rss_mib(pid: int) -> float:
    """Resident memory of a process and everything below it, summed."""
    total = 0.0
    for p in process_tree(pid):
        try:
            total += rss_mib(p)
        except OSError:
            pass
    return total


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def watch_stream(redis_url: str, slug: str, published: dict[int, float], done: asyncio.Event,
                       clock=time.perf_counter) -> None:
    """Record in ``published`` when each frame of the run appears in its replay log, until ``done``."""
    client = redis.asyncio.Redis.from_url(redis_url)
    last = "0-0"
    key = f"run:{slug}:frames"
    while not done.is_set():
        entries = await client.xread({key: last}, block=500)
        now = clock()
        for _stream, items in entries:
            for entry_id, _fields in items:
                published[int(entry_id.decode().split("-")[0])] = now
                last = entry_id
    await client.aclose()


class Site:
    def __init__(self, tmp: Path, *, daphnes: int = 1, worker_concurrency: int = 1, load_templates: bool = False,
                 procfile: bool = False, database: Path | None = None, **env: str) -> None:
        self.redis = PrivateRedis().start()
        self.database = database or tmp / "bench.sqlite3"
        self.env = dict(os.environ, DJANGO_SETTINGS_MODULE="playground.settings", DEBUG="0",
                        SECRET_KEY="bench-only", SECURE_SSL_REDIRECT="false", SECURE_COOKIES="false",
                        STATIC_FROM_FINDERS="true", REDIS_URL=self.redis.url,
                        DATABASE_URL=f"sqlite:///{self.database}", LOG_LEVEL="WARNING", **env)
        commands = [["migrate", "-v0"]] + ([["loadtemplates"]] if load_templates else [])
        for command in commands:
            subprocess.run([str(BIN / "python"), "manage.py", *command], cwd=ROOT, env=self.env, check=True,
                           stdout=subprocess.DEVNULL)
        self.logs = tmp / "logs"
        self.logs.mkdir()
        self.ports = [free_port() for _ in range(daphnes)]
        self.daphnes = [
            subprocess.Popen([str(BIN / "daphne"), "-b", "127.0.0.1", "-p", str(port), "playground.asgi:application"],
                             cwd=ROOT, env=self.env, stdout=open(self.logs / f"daphne-{i}.log", "wb"),
                             stderr=subprocess.STDOUT)
            for i, port in enumerate(self.ports)
        ]
        #: Each Celery process by its Procfile name (only "worker" without ``procfile``).
        self.workers: dict[str, subprocess.Popen] = {}
        if procfile:
            for name, argv in read_procfile(env=self.env):
                if name == "web":
                    continue  # the Daphnes above are its command, on free ports
                if "-s" in argv:  # beat's schedule file: the bench's own, not make run's under var/
                    argv[argv.index("-s") + 1] = str(tmp / f"{name}-schedule")
                self.workers[name] = subprocess.Popen(
                    [str(BIN / argv[0]), *argv[1:]], cwd=ROOT, env=self.env, start_new_session=True,
                    stdout=open(self.logs / f"{name}.log", "wb"), stderr=subprocess.STDOUT)
        else:
            self.workers["worker"] = subprocess.Popen(
                [str(BIN / "celery"), "-A", "playground.celery", "worker", "-c", str(worker_concurrency),
                 "--loglevel", "WARNING", "--without-gossip", "--without-mingle"],
                cwd=ROOT, env=self.env, start_new_session=True, stdout=open(self.logs / "worker.log", "wb"),
                stderr=subprocess.STDOUT)
        self.worker = self.workers["worker"]
        self.bases = [f"http://127.0.0.1:{port}" for port in self.ports]
        self.base = self.bases[0]
        for base in self.bases:
            for _ in range(300):
                try:
                    urllib.request.urlopen(base + "/healthz", timeout=1)
                    break
                except OSError:
                    time.sleep(0.1)
        time.sleep(3)  # the worker's pool

    def post_run(self, body: dict, base: str | None = None, address: str = "127.0.0.1",
                 token: str | None = None) -> tuple[int, dict, dict]:
        """POST /api/runs: (status, body, headers); ``address`` goes in X-Forwarded-For, ``token`` (an
        API token) in Authorization."""
        headers = {"Content-Type": "application/json", "X-Forwarded-For": address}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        request = urllib.request.Request((base or self.base) + "/api/runs", data=json.dumps(body).encode(),
                                         headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.load(response), dict(response.headers)
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"{}"), dict(exc.headers)

    def wait_done(self, slug: str) -> None:
        for _ in range(600):
            with urllib.request.urlopen(f"{self.base}/api/runs/{slug}", timeout=10) as response:
                if json.load(response)["status"] in ("done", "failed"):
                    return
            time.sleep(0.1)

    def daphne_log(self) -> str:
        return "\n".join((self.logs / f"daphne-{i}.log").read_text() for i in range(len(self.daphnes)))

    def stop(self) -> None:
        for proc in self.daphnes:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        # Each worker leads its own process group (its pool processes): SIGTERM, then SIGKILL to
        # whatever of the group is left.
        for proc in self.workers.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.workers.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                pass
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        self.redis.stop()
