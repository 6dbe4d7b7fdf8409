"""Work is bounded before it is queued, live runs are capped site-wide, sweeps are capped like runs,
and a queued run says where it stands (issue 13): through the API and the services, with the
tests' Redis and database, no worker."""

from __future__ import annotations

import json
import threading
import time

import pytest
from django.db import connections
from django.test import Client

from playground.designs.models import Design
from playground.engine import WorkBudgetExceeded
from playground.runs import guard, lifecycle, queues, service, stream, sweep_service
from playground.runs.models import Run, Sweep, SweepCell
from tests.runs.designs import web_fleet

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def clean_redis():
    yield
    r = stream.client()
    for pattern in ("ratelimit:*", "lock:*", "run:*", "sweep:*"):
        for key in r.scan_iter(pattern):
            r.delete(key)


def fan_out(rps: float = 100_000, duration_s: float = 60) -> dict:
    """A client into a chain of three services with calls 31 and 31: about 1,000 calls a request."""
    return {
        "schema_version": 1,
        "nodes": [
            {"id": "c", "kind": "client", "params": {"rps": rps}},
            {"id": "a", "kind": "service", "params": {"instances": 4}},
            {"id": "b", "kind": "service", "params": {"instances": 4}},
            {"id": "d", "kind": "service", "params": {"instances": 4}},
        ],
        "edges": [{"from": "c", "to": "a"}, {"from": "a", "to": "b", "calls": 31},
                  {"from": "b", "to": "d", "calls": 31}],
        "scenario": {"duration_s": duration_s},
    }


def owner(name: str) -> lifecycle.Owner:
    return lifecycle.Owner(key=f"addr:{name}", address=name)


def test_the_fan_out_document_is_refused_with_a_422_naming_the_work(client: Client):
    response = client.post("/api/runs", {"document": fan_out()}, content_type="application/json")
    assert response.status_code == 422
    messages = [p["message"] for p in response.json()["problems"]]
    # 6,000,000 requests (under the request cap) x (1 + 1 + 31 x (1 + 31)) = 994 calls each.
    work = next(m for m in messages if "calls at worst" in m)
    assert "about 5,964,000,000 calls at worst (6,000,000 requests x 994.0 calls each" in work
    assert "at most 100,000,000 calls per run" in work
    assert not Run.objects.exists()


def test_a_document_under_the_work_limit_is_accepted_and_the_limit_is_a_setting(client: Client, settings):
    assert client.post("/api/runs", {"document": fan_out(rps=100, duration_s=10)},
                       content_type="application/json").status_code == 201
    settings.RUN_MAX_WORK = 500_000
    refused = client.post("/api/runs", {"document": fan_out(rps=100, duration_s=10)}, content_type="application/json")
    assert refused.status_code == 422
    assert "at most 500,000 calls per run" in refused.json()["problems"][0]["message"]


def test_a_traffic_control_that_would_pass_the_work_limit_is_refused(settings):
    run, _ = service.create_run(web_fleet(rps=1000, duration_s=60), owner=owner("ctl"), mode="live")
    Run.objects.filter(pk=run.pk).update(frames_total=10)
    run.refresh_from_db()
    service.send_control(run, {"kind": "traffic", "multiplier": 3})  # 50 s x 3,000 rps: fine
    with pytest.raises(lifecycle.RunRefused) as refused:
        service.send_control(run, {"kind": "traffic", "multiplier": 1_000_000})
    assert refused.value.status == 422
    assert "traffic x1e+06 from 10 s" in refused.value.message
    assert "calls per run" in refused.value.message
    assert stream.pending_controls(run.slug) == 1


def test_controls_already_applied_count_against_the_work_limit(settings):
    """x10 applied from 0 s, then x1 from 10 s: 10 s x 10,000 + 50 s x 1,000 = 150,000 requests of
    3.5 calls (users, lb, api and half a db call): 525,000 calls, against 210,000 without the x10."""
    run, _ = service.create_run(web_fleet(rps=1000, duration_s=60), owner=owner("ctl"), mode="live")
    applied = [{"seq": 1, "t": 0.0, "control": {"kind": "traffic", "multiplier": 10, "ramp_s": 0}}]
    Run.objects.filter(pk=run.pk).update(frames_total=10, applied_events=applied)
    run.refresh_from_db()
    settings.RUN_MAX_WORK = 500_000
    with pytest.raises(lifecycle.RunRefused, match="about 525,000 calls"):
        service.send_control(run, {"kind": "traffic", "multiplier": 1})
    settings.RUN_MAX_WORK = 525_000
    service.send_control(run, {"kind": "traffic", "multiplier": 1})


def test_live_runs_are_capped_site_wide_and_batch_runs_are_not(settings):
    settings.RUN_LIVE_MAX_ACTIVE = 2
    for name in ("l1", "l2"):
        service.create_run(web_fleet(), owner=owner(name), mode="live")
    with pytest.raises(lifecycle.RunRefused) as refused:
        service.create_run(web_fleet(), owner=owner("l3"), mode="live")
    assert refused.value.status == 429
    assert "most live runs at once (2)" in refused.value.message
    run, _ = service.create_run(web_fleet(), owner=owner("l3"))
    assert run.mode == "batch"


def test_a_queued_run_says_how_many_runs_wait_ahead_of_it(client: Client):
    slugs = [client.post("/api/runs", {"document": web_fleet(seed=k)}, content_type="application/json").json()["id"]
             for k in range(3)]
    first, third = (client.get(f"/api/runs/{slugs[k]}").json() for k in (0, 2))
    assert first["queue"] == {"queue": "batch", "ahead": 0}
    assert first["reason"] == "waiting for a free worker: yours is next"
    assert third["queue"] == {"queue": "batch", "ahead": 2}
    assert third["reason"] == "waiting for a free worker: 2 runs ahead of yours"
    page = client.get(f"/r/{slugs[2]}/")
    assert b"2 runs ahead of yours" in page.content
    Run.objects.filter(slug=slugs[0]).update(status="running")
    assert client.get(f"/api/runs/{slugs[2]}").json()["queue"]["ahead"] == 1
    assert client.get(f"/api/runs/{slugs[0]}").json()["queue"] is None


# ------------------------------------------------------------------------------------ sweeps

SWEEP = {"axes": [{"path": "nodes.api.params.instances", "values": [2, 3]}], "seeds": 2}


def start_sweep(c: Client, **extra):
    return c.post("/api/sweeps", {"document": web_fleet(), **SWEEP}, content_type="application/json", **extra)


def test_sweep_caps_hold_across_eight_fresh_clients_from_one_address(settings):
    """Eight cookie jars at one address: each browser may have one sweep, the address three."""
    settings.SWEEP_MAX_ACTIVE_PER_ADDRESS = 3
    design = Design.objects.create(document_json=json.dumps(web_fleet()))
    answers = []
    for _ in range(8):
        browser = Client(REMOTE_ADDR="10.9.8.7")  # a fresh cookie jar each time
        answers.append(browser.post("/sweeps/new/", {"design": design.slug, "axis1_path": "nodes.api.params.instances",
                                                     "axis1_values": "2, 3", "seeds": "2"}).status_code)
        assert answers[-1] in (302, 429), answers
    assert answers.count(302) == 3
    assert Sweep.objects.filter(client_address="10.9.8.7", status="queued").count() == 3


def test_sweep_starts_are_rate_limited_per_owner(client: Client, settings):
    settings.SWEEP_STARTS_PER_MINUTE = 2
    settings.SWEEP_MAX_ACTIVE_ANONYMOUS = 10
    codes = [start_sweep(client).status_code for _ in range(3)]
    assert codes == [201, 201, 429]
    refused = start_sweep(client)
    assert "at most 2 sweeps may start per minute" in refused.json()["error"]
    assert 1 <= int(refused["Retry-After"]) <= 60


@pytest.mark.django_db(transaction=True)
def test_concurrent_sweep_starts_take_the_owner_lock(settings):
    settings.SWEEP_MAX_ACTIVE_ANONYMOUS = 2
    made, refused = [], []
    barrier = threading.Barrier(10)

    def attempt():
        barrier.wait()
        try:
            made.append(sweep_service.create_sweep(web_fleet(), owner=owner("racer"), **SWEEP))
        except lifecycle.RunRefused as exc:
            refused.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=attempt) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(made) == 2 and len(refused) == 8
    assert Sweep.objects.filter(client_address="racer").count() == 2


def test_a_sweep_sends_a_window_of_cells_and_cancel_skips_the_rest(client: Client, settings):
    settings.SWEEP_CELLS_IN_FLIGHT = 2
    body = start_sweep(client).json()
    sweep = Sweep.objects.get(slug=body["id"])
    assert SweepCell.objects.filter(sweep=sweep, sent_at__isnull=False).count() == 2
    assert SweepCell.objects.filter(sweep=sweep, sent_at__isnull=True).count() == 2
    assert client.post(f"/api/sweeps/{sweep.slug}/cancel").status_code == 403
    wrong = client.post(f"/api/sweeps/{sweep.slug}/cancel", HTTP_X_CONTROL_TOKEN="nope")
    assert wrong.status_code == 403
    done = client.post(f"/api/sweeps/{sweep.slug}/cancel", HTTP_X_CONTROL_TOKEN=body["control_token"])
    assert done.status_code == 200 and done.json()["status"] == "cancelled"
    assert stream.sweep_cancel_requested(sweep.slug)
    # The cells never sent are skipped at once; the two sent ones stop or skip in their worker.
    assert SweepCell.objects.filter(sweep=sweep, status="skipped").count() == 2
    again = client.post(f"/api/sweeps/{sweep.slug}/cancel", HTTP_X_CONTROL_TOKEN=body["control_token"])
    assert again.status_code == 409


def test_a_sweep_cell_stops_within_a_slice_when_its_sweep_is_cancelled():
    sweep, _ = sweep_service.create_sweep(web_fleet(rps=5000, duration_s=600), owner=owner("stop"), **SWEEP)
    cell = SweepCell.objects.filter(sweep=sweep).first()
    threading.Timer(0.3, stream.request_sweep_cancel, (sweep.slug,)).start()  # what cancel_sweep raises
    started = time.monotonic()
    assert sweep_service.simulate_cell(cell.pk) == "stopped"
    assert time.monotonic() - started < 2
    cell.refresh_from_db()
    assert cell.status == "skipped"


# ------------------------------------------------------------------------------------- guard


def test_the_guard_stops_on_cancel_on_a_lost_lease_and_past_its_memory(monkeypatch, settings):
    monkeypatch.setattr(guard, "CHECK_S", 0.0)
    monkeypatch.setattr(guard, "RENEW_S", 0.0)
    flag = {"cancelled": False}
    token = stream.acquire_lease("guarded", 5)
    g = guard.Guard(lambda: flag["cancelled"], ("guarded", token, 5))
    g()  # nothing to report
    flag["cancelled"] = True
    with pytest.raises(guard.Stopped):
        g()
    flag["cancelled"] = False
    stream.client().set(stream.lease_key("guarded"), "someone-else")
    with pytest.raises(stream.LeaseLost):
        g()
    settings.RUN_MAX_MEMORY_MB = 16
    g = guard.Guard(lambda: False)
    monkeypatch.setattr(guard, "resident_bytes", lambda: g.base + 17 * 2**20)
    with pytest.raises(guard.MemoryBudgetExceeded, match="limit 16 MB"):
        g()


def test_the_site_limits_carry_the_work_limit(settings):
    settings.RUN_MAX_WORK = 1234
    assert lifecycle.site_limits().max_events == 4936
    assert issubclass(WorkBudgetExceeded, RuntimeError)
    assert queues.QUEUES == ("batch", "live", "sweeps", "celery")


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_viewer_of_a_queued_run_hears_why_it_waits_and_stays_connected():
    """A socket with nothing to send for longer than channels_redis's 5 s block: redis-py 8's own
    5 s read timeout used to kill it (TimeoutError, close 1011); it now gets the waiting reason
    again and again."""
    from asgiref.sync import sync_to_async
    from channels.testing import WebsocketCommunicator

    from playground.asgi import application

    run, _ = await sync_to_async(service.create_run)(web_fleet(), owner=owner("quiet"))
    communicator = WebsocketCommunicator(application, f"/ws/runs/{run.slug}/",
                                         headers=[(b"origin", b"http://localhost"), (b"host", b"localhost")])
    assert (await communicator.connect())[0]
    heard = []
    started = time.monotonic()
    while time.monotonic() - started < 8:
        heard.append(await communicator.receive_json_from(timeout=7))
    await communicator.disconnect()
    assert len(heard) >= 2
    assert all(m == {"type": "status", "status": "queued", "reason": "waiting for a free worker: yours is next"}
               for m in heard)
