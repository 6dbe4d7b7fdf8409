"""Runs end to end on real parts: a Celery worker process on the tests' Redis, the Redis replay log,
the channel layer, and the WebSocket consumer (Channels' WebsocketCommunicator)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from playground.asgi import application
from playground.engine import Simulation, load
from playground.runs import service, stream
from playground.runs.lifecycle import reap
from playground.runs.models import Run
from tests.processes import ROOT, start_celery_worker
from tests.runs.designs import web_fleet

pytestmark = [pytest.mark.processes, pytest.mark.django_db(transaction=True)]
ORIGIN = [(b"origin", b"http://localhost"), (b"host", b"localhost")]


@pytest.fixture
def worker(tmp_path):
    proc = start_celery_worker(tmp_path / "worker.log", RUN_LEASE_TTL_S="3")
    yield proc
    proc.stop()


@pytest.fixture
def cleanup_keys():
    slugs: list[str] = []
    yield slugs
    for slug in slugs:
        stream.delete_keys(slug)


def start(document, cleanup_keys, **kwargs) -> Run:
    run, _ = service.create_run(document, owner=service.Owner(key="addr:test", address="test"), **kwargs)
    cleanup_keys.append(run.slug)
    return run


def wait_for(predicate, timeout=60.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what() if callable(what) else what}")


def final_status(run: Run, timeout=90.0) -> Run:
    def ended():
        run.refresh_from_db()
        return run.is_terminal
    wait_for(ended, timeout, f"run {run.slug} to end (status {run.status})")
    return run


async def view(slug: str, after: int = 0, timeout: float = 60.0) -> tuple[list[dict], dict]:
    """Everything a viewer receives until done/end: (frames, last message)."""
    communicator = WebsocketCommunicator(application, f"/ws/runs/{slug}/?after={after}", headers=ORIGIN)
    connected, _ = await communicator.connect()
    assert connected
    frames = []
    try:
        while True:
            message = await communicator.receive_json_from(timeout=timeout)
            if message["type"] == "frame":
                frames.append(message["frame"])
            elif message["type"] in ("done", "end"):
                return frames, message
    finally:
        await communicator.disconnect()


def cli_output(document: dict, seed: int, tmp_path) -> dict:
    path = tmp_path / "design.json"
    path.write_text(json.dumps(document))
    done = subprocess.run([sys.executable, "-m", "playground.engine", str(path), "--seed", str(seed), "--frames"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.asyncio
async def test_two_viewers_get_every_frame_in_order_and_the_cli_summary(worker, tmp_path, cleanup_keys):
    document = web_fleet(duration_s=30)
    run = await sync_to_async(start)(document, cleanup_keys, seed=11)
    (frames_a, end_a), (frames_b, end_b) = await asyncio.gather(view(run.slug), view(run.slug))
    assert [f["seq"] for f in frames_a] == list(range(1, 31))
    assert frames_a == frames_b
    assert end_a == end_b
    assert end_a["type"] == "done"
    expected = await sync_to_async(cli_output)(document, 11, tmp_path)
    assert end_a["summary"] == expected["summary"]
    assert frames_a == expected["frames"]
    late_frames, late_end = await view(run.slug, after=17)
    assert [f["seq"] for f in late_frames] == list(range(18, 31))
    assert late_frames == frames_a[17:]
    assert late_end == end_a


def test_frames_come_from_the_database_once_the_replay_log_is_gone(worker, client, cleanup_keys):
    run = final_status(start(web_fleet(duration_s=12), cleanup_keys))
    assert run.status == "done"
    from_log = client.get(f"/api/runs/{run.slug}/frames?after=3&limit=5").json()["frames"]
    stream.delete_keys(run.slug)
    from_db = client.get(f"/api/runs/{run.slug}/frames?after=3&limit=5").json()["frames"]
    assert [f["seq"] for f in from_db] == [4, 5, 6, 7, 8]
    assert from_db == from_log
    assert client.get(f"/api/runs/{run.slug}").json()["summary"] == run.summary


def test_an_identical_batch_run_reuses_the_stored_result(worker, cleanup_keys):
    first = final_status(start(web_fleet(duration_s=10), cleanup_keys, seed=4))
    document = web_fleet(duration_s=10)
    document["title"] = "Another title"
    document["layout"] = {"api": {"x": 1, "y": 2}}
    second = start(document, cleanup_keys, seed=4)
    assert second.status == "done"
    assert second.summary == first.summary
    assert service.frames_after(second) == service.frames_after(first)
    third = final_status(start(web_fleet(duration_s=10), cleanup_keys, seed=5))
    assert third.summary != first.summary


@pytest.mark.asyncio
async def test_cancel_ends_a_live_run_for_its_viewers(worker, cleanup_keys):
    run = await sync_to_async(start)(web_fleet(duration_s=600), cleanup_keys, mode="live", speed=1)
    communicator = WebsocketCommunicator(application, f"/ws/runs/{run.slug}/", headers=ORIGIN)
    await communicator.connect()
    while (await communicator.receive_json_from(timeout=30))["type"] != "frame":
        pass
    assert await sync_to_async(service.cancel_run)(run)
    while True:
        message = await communicator.receive_json_from(timeout=30)
        if message["type"] == "end":
            break
    assert message == {"type": "end", "status": "cancelled", "reason": "cancelled by its owner"}
    await communicator.disconnect()
    await sync_to_async(worker.log)()
    length = await sync_to_async(stream.log_length)(run.slug)
    await asyncio.sleep(2.5)
    assert await sync_to_async(stream.log_length)(run.slug) == length  # the worker stopped


def test_a_worker_that_loses_its_lease_stops_publishing(worker, cleanup_keys):
    run = start(web_fleet(duration_s=600), cleanup_keys, mode="live", speed=5)
    wait_for(lambda: stream.log_length(run.slug) >= 2, what=lambda: f"the first frames; worker log:\n{worker.log()}")
    stream.client().set(stream.lease_key(run.slug), "someone-else", px=60_000)  # another worker took it
    time.sleep(1.0)
    length = stream.log_length(run.slug)
    time.sleep(2.0)
    assert stream.log_length(run.slug) == length
    assert "lease lost" in worker.log()


def test_a_live_control_changes_the_following_frames_and_the_replay_is_exact(worker, cleanup_keys):
    document = web_fleet(duration_s=40, rps=100)
    run = start(document, cleanup_keys, mode="live", speed=20)
    wait_for(lambda: stream.log_length(run.slug) >= 5, what="five frames")
    service.send_control(run, {"kind": "traffic", "multiplier": 3, "ramp_s": 0})
    service.send_control(run, {"kind": "event", "action": "kill_instance", "node": "api"})
    run = final_status(run)
    assert run.status == "done", run.reason
    assert len(run.applied_events) == 2
    # Each applies at the tick after it arrived: usually both at one, but on a loaded machine the
    # second can arrive a tick later (each send checks the control against the run first).
    seq, kill = (e["seq"] for e in run.applied_events)
    assert 5 < seq <= kill <= seq + 2
    frames = service.frames_after(run)
    before = sum(f["offered_rps"] for f in frames[: seq - 1]) / (seq - 1)
    after = sum(f["offered_rps"] for f in frames[kill + 2:]) / len(frames[kill + 2:])
    assert 2.4 < after / before < 3.6
    assert frames[kill - 1]["nodes"]["api"]["up"] == 2  # the kill shows in the frame of its tick
    # The replay: the frozen document, the seed and the recorded controls at their ticks.
    sim = Simulation(load(run.document), run.seed)
    replay = []
    for n in range(1, len(frames) + 1):
        for entry in run.applied_events:
            if entry["seq"] == n:
                sim.apply(entry["control"])
        replay.append(sim.step())
    assert replay == frames
    assert sim.summary() == run.summary


def test_sigkill_of_the_worker_mid_run_ends_in_done_by_resimulation(tmp_path, cleanup_keys, settings):
    settings.RUN_LEASE_TTL_S = 3
    first = start_celery_worker(tmp_path / "first.log", RUN_LEASE_TTL_S="3")
    try:
        run = start(web_fleet(duration_s=60), cleanup_keys, mode="live", speed=20)
        wait_for(lambda: stream.log_length(run.slug) >= 10, what="ten frames")
    finally:
        first.kill()  # SIGKILL to the whole worker: main process and pool
        first.stop()
    run.refresh_from_db()
    assert run.status == "running"
    second = start_celery_worker(tmp_path / "second.log", purge=False, RUN_LEASE_TTL_S="3")
    try:
        def reaped():
            return reap()["requeued"] or None
        wait_for(reaped, timeout=30, what="the reaper to requeue the run")
        run = final_status(run)
    finally:
        second.stop()
    assert run.status == "done", run.reason
    assert run.attempts == 2
    frames = service.frames_after(run)
    assert [f["seq"] for f in frames] == list(range(1, 61))
    expected = Simulation(load(run.document), run.seed).run(frames=True)
    assert frames == expected["frames"]
    assert run.summary == expected["summary"]


def test_a_run_that_keeps_dying_fails_with_a_reason(cleanup_keys, settings):
    settings.RUN_LEASE_TTL_S = 1
    run = start(web_fleet(), cleanup_keys)
    Run.objects.filter(pk=run.pk).update(status="running", attempts=settings.RUN_MAX_ATTEMPTS,
                                         started_at=run.created_at)
    time.sleep(1.1)
    assert reap()["failed"] == 1
    run.refresh_from_db()
    assert run.status == "failed"
    assert "stopped 3 times" in run.reason
