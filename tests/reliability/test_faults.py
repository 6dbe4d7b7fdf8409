"""Real-process fault tests, each on a Redis of its own (a private redis-server on a free port), with
a real Daphne, Celery worker and Celery beat (the reaper) started for the test.

A *viewer* here behaves as the run page's script does: it opens ``/ws/runs/<slug>/?after=<last>``,
and when the socket closes before ``done`` or ``end`` it opens it again after the last frame it
has. It asserts that every frame it receives is the one after its last: the frames a viewer sees
are contiguous across faults and reconnects, with no gap and no repeat.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import urllib.request

import pytest
import websockets

from playground.engine import Simulation, load
from playground.runs.models import Run
from playground.settings import redis_settings
from tests.processes import start_celery_beat, start_celery_worker, start_daphne
from tests.redis_server import PrivateRedis
from tests.runs.designs import web_fleet

pytestmark = [pytest.mark.processes, pytest.mark.django_db(transaction=True)]

LEASE_TTL_S = 2
CHILD_ENV = {"RUN_LEASE_TTL_S": str(LEASE_TTL_S), "RUN_REAP_INTERVAL_S": "1", "RUN_MAX_ACTIVE_ANONYMOUS": "50",
             "RUN_REQUEUE_S": "5", "LOG_LEVEL": "INFO"}


class Site:
    """A private Redis and the processes around it; each test starts what it needs."""

    def __init__(self, tmp_path, settings) -> None:
        self.tmp = tmp_path
        self.redis = PrivateRedis().start()
        self.env = dict(CHILD_ENV, TEST_REDIS_URL=self.redis.url)
        for name, value in redis_settings(self.redis.url).items():
            setattr(settings, name, value)
        settings.RUN_LEASE_TTL_S = LEASE_TTL_S
        self.procs: list = []
        self.daphne = None
        self.base = ""
        self.port = None

    def worker(self, name: str, concurrency: int = 1):
        proc = start_celery_worker(self.tmp / f"{name}.log", concurrency=concurrency, purge=False, **self.env)
        self.procs.append(proc)
        return proc

    def beat(self):
        proc = start_celery_beat(self.tmp / "beat.log", **self.env)
        self.procs.append(proc)
        return proc

    def start_daphne(self, name: str = "daphne"):
        self.daphne, self.base = start_daphne(self.tmp / f"{name}.log", port=self.port, **self.env)
        self.port = int(self.base.rsplit(":", 1)[1])
        self.procs.append(self.daphne)
        return self.daphne

    def start_run(self, document: dict, **fields) -> dict:
        body = json.dumps({"document": document, **fields}).encode()
        request = urllib.request.Request(self.base + "/api/runs", data=body,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)

    def logs(self) -> str:
        return "\n".join(f"--- {p.name} ({p.log_path.name})\n{p.log()[-3000:]}" for p in self.procs)

    def stop(self) -> None:
        for proc in reversed(self.procs):
            proc.stop()
        self.redis.stop()


@pytest.fixture
def site(tmp_path, settings):
    site = Site(tmp_path, settings)
    yield site
    site.stop()


class Viewer:
    """One viewer of a run, reconnecting as the page does (see the module's docstring)."""

    def __init__(self, site: Site, slug: str) -> None:
        self.site = site
        self.slug = slug
        self.frames: list[dict] = []
        self.end: dict | None = None
        self.connects = 0
        self.problem: str | None = None

    @property
    def last(self) -> int:
        return self.frames[-1]["seq"] if self.frames else 0

    async def watch(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.end is None and self.problem is None and time.monotonic() < deadline:
            url = f"{self.site.base.replace('http', 'ws')}/ws/runs/{self.slug}/?after={self.last}"
            try:
                async with websockets.connect(url, origin=self.site.base, open_timeout=5) as ws:
                    self.connects += 1
                    async for raw in ws:
                        message = json.loads(raw)
                        if message["type"] == "frame":
                            seq = message["frame"]["seq"]
                            if seq != self.last + 1:
                                self.problem = f"frame {seq} arrived after frame {self.last}"
                                return
                            self.frames.append(message["frame"])
                        elif message["type"] in ("done", "end"):
                            self.end = message
                            return
            except (TimeoutError, OSError, websockets.WebSocketException):
                pass
            await asyncio.sleep(0.3)


class Audience:
    """Viewers watching in a thread of their own, so the test's own thread can break things."""

    def __init__(self, viewers: list[Viewer], timeout: float = 120) -> None:
        self.viewers = viewers
        self.thread = threading.Thread(target=lambda: asyncio.run(self._all(timeout)), daemon=True)
        self.thread.start()

    async def _all(self, timeout: float) -> None:
        await asyncio.gather(*(v.watch(timeout) for v in self.viewers))

    def join(self, timeout: float = 150) -> list[Viewer]:
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the viewers did not finish"
        return self.viewers


def wait_for(predicate, timeout: float, what) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what() if callable(what) else what}")


def frames_published(site: Site, slug: str) -> int:
    import redis

    try:
        return redis.Redis.from_url(site.redis.url).xlen(f"run:{slug}:frames")
    except redis.RedisError:
        return 0


def check_viewers(viewers: list[Viewer], site: Site) -> None:
    for v in viewers:
        assert v.problem is None, f"viewer of {v.slug}: {v.problem}\n{site.logs()}"
        assert v.end is not None, f"viewer of {v.slug} saw no end after {v.last} frames\n{site.logs()}"
        run = Run.objects.get(slug=v.slug)
        assert run.status in ("done", "failed"), run.status
        if run.status == "done":
            assert v.end["type"] == "done"
            assert [f["seq"] for f in v.frames] == list(range(1, run.frames_total + 1))
        else:
            assert v.end == {"type": "end", "status": "failed", "reason": run.reason} and run.reason


def test_sigkill_of_the_worker_during_ten_runs_ends_each_done_or_failed_with_contiguous_frames(site):
    site.start_daphne()
    site.beat()
    first = site.worker("first", concurrency=2)
    started = [site.start_run(web_fleet(duration_s=24, seed=i), mode="live", speed=20) for i in range(10)]
    audience = Audience([Viewer(site, s["id"]) for s in started])
    wait_for(lambda: frames_published(site, started[0]["id"]) >= 8, 60,
             lambda: f"the first run's frames\n{site.logs()}")
    first.kill()  # SIGKILL to the worker's whole process group: main process and pool
    first.stop()
    killed_mid_run = Run.objects.filter(status="running").count()
    assert killed_mid_run >= 1
    site.worker("second", concurrency=2)
    viewers = audience.join()
    check_viewers(viewers, site)
    runs = Run.objects.filter(slug__in=[s["id"] for s in started])
    assert {r.status for r in runs} <= {"done", "failed"}
    assert sum(r.attempts >= 2 for r in runs) >= killed_mid_run
    # A re-simulated run published what an uninterrupted one does.
    run = max(runs, key=lambda r: r.attempts)
    if run.status == "done":
        expected = Simulation(load(run.document), run.seed).run(frames=True)
        viewer = next(v for v in viewers if v.slug == run.slug)
        assert viewer.frames == expected["frames"]
        assert viewer.end["summary"] == expected["summary"]


def test_a_redis_restart_during_a_run_is_survived_by_worker_daphne_and_viewers(site):
    site.start_daphne()
    site.beat()
    site.worker("worker")
    started = site.start_run(web_fleet(duration_s=40), mode="live", speed=5)
    audience = Audience([Viewer(site, started["id"]), Viewer(site, started["id"])])
    wait_for(lambda: frames_published(site, started["id"]) >= 6, 60, lambda: f"six frames\n{site.logs()}")
    site.redis.stop()  # everything in it is gone: the replay log, the lease, the queue, the groups
    time.sleep(1.0)
    site.redis = PrivateRedis(port=site.redis.port).start()
    viewers = audience.join()
    check_viewers(viewers, site)
    run = Run.objects.get(slug=started["id"])
    assert run.status == "done", f"{run.status}: {run.reason}\n{site.logs()}"
    assert run.attempts >= 2  # the run was re-simulated after its lease vanished with Redis
    # Daphne serves a new viewer, and its health check, on the restarted Redis.
    late = Viewer(site, started["id"])
    asyncio.run(late.watch(30))
    assert late.end == viewers[0].end and late.frames == viewers[0].frames
    with urllib.request.urlopen(site.base + "/healthz", timeout=5) as response:
        assert json.load(response)["status"] == "ok"


def test_a_daphne_restart_is_resumed_by_a_viewer_without_a_gap(site):
    site.start_daphne("daphne-1")
    site.worker("worker")
    started = site.start_run(web_fleet(duration_s=40), mode="live", speed=5)
    viewer = Viewer(site, started["id"])
    audience = Audience([viewer])
    wait_for(lambda: viewer.last >= 5, 60, lambda: f"five frames at the viewer\n{site.logs()}")
    site.daphne.kill()  # SIGKILL: no goodbye to the viewer
    site.daphne.stop()
    seen_before = viewer.last
    site.start_daphne("daphne-2")
    audience.join()
    check_viewers([viewer], site)
    assert viewer.connects >= 2
    assert seen_before < len(viewer.frames) == Run.objects.get(slug=started["id"]).frames_total == 40
