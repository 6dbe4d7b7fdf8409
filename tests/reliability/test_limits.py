"""Limits with clear answers: body size, active runs per owner, the start rate held in Redis, the
client address through trusted proxies, WebSocket message caps, controls, worker memory."""

from __future__ import annotations

import json
import threading

import pytest
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import User

from playground.accounts.models import ApiToken
from playground.asgi import application
from playground.limits import MessageRate, forwarded_address
from playground.runs import lifecycle, service, stream
from playground.runs.models import Run
from tests.runs.designs import web_fleet

ORIGIN = [(b"origin", b"http://localhost"), (b"host", b"localhost")]


@pytest.fixture
def clean_runs():
    yield
    r = stream.client()
    for key in r.scan_iter("ratelimit:runs:*"):
        r.delete(key)
    for slug in Run.objects.values_list("slug", flat=True):
        stream.delete_keys(slug)


def api_start(client, **extra):
    return client.post("/api/runs", json.dumps({"document": web_fleet()}), content_type="application/json", **extra)


# --- request body ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_body_over_the_limit_is_a_413_json_answer_from_the_api_naming_the_limit(client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 4096
    body = json.dumps({"document": web_fleet(), "pad": "x" * 5000})
    for path in ("/api/runs", "/api/designs"):
        response = client.post(path, body, content_type="application/json")
        assert response.status_code == 413, path
        assert "at most 4 KiB" in response.json()["error"]
        assert response.json()["problems"][0]["path"] == "body"
    assert not Run.objects.exists()


@pytest.mark.django_db
def test_a_form_over_the_limit_is_a_413_page_not_a_400_or_500(client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 4096
    response = client.post("/runs/start/", {"template": "x", "story": "y" * 5000})
    assert response.status_code == 413
    assert "text/html" in response["Content-Type"]
    assert b"at most 4 KiB" in response.content


@pytest.mark.django_db
def test_the_editors_save_over_the_limit_is_a_413(client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 4096
    response = client.post("/d/create", json.dumps({"document": {"nodes": [], "pad": "x" * 5000}}),
                           content_type="application/json")
    assert response.status_code == 413
    assert "4 KiB" in response.json()["error"]


@pytest.mark.django_db
def test_a_bad_content_length_is_a_400(client):
    response = client.generic("POST", "/api/runs", b"{}", content_type="application/json", CONTENT_LENGTH="lots")
    assert response.status_code == 400


# --- client address ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("remote", "header", "trusted", "expected"),
    [
        ("10.0.0.9", "", 0, "10.0.0.9"),
        ("10.0.0.9", "6.6.6.6", 0, "10.0.0.9"),  # no trusted proxy: the header is the client's
        ("10.0.0.9", "6.6.6.6, 203.0.113.7", 1, "203.0.113.7"),  # the proxy's entry, not the client's
        ("10.0.0.9", "6.6.6.6, 203.0.113.7, 10.0.0.8", 2, "203.0.113.7"),
        ("10.0.0.9", "203.0.113.7", 3, "203.0.113.7"),  # fewer entries than proxies: the first
        ("10.0.0.9", "not-an-ip", 1, "10.0.0.9"),
        ("10.0.0.9", "[2001:db8::1]:4711", 1, "2001:db8::1"),
        ("10.0.0.9", "203.0.113.7:4711", 1, "203.0.113.7"),
    ],
)
def test_the_client_address_believes_only_trusted_proxies(remote, header, trusted, expected):
    assert forwarded_address(remote, header, trusted) == expected


@pytest.mark.django_db
def test_a_cookieless_client_cannot_dodge_its_cap_by_sending_x_forwarded_for(client, settings, clean_runs):
    settings.RUN_MAX_ACTIVE_ANONYMOUS = 2
    settings.TRUSTED_PROXY_COUNT = 0
    for i in range(2):
        assert api_start(client, HTTP_X_FORWARDED_FOR=f"198.51.100.{i}").status_code == 201
    refused = api_start(client, HTTP_X_FORWARDED_FOR="198.51.100.99")
    assert refused.status_code == 429
    assert "2 runs queued or running already" in refused.json()["error"]
    assert refused["Retry-After"]


@pytest.mark.django_db
def test_behind_one_trusted_proxy_each_forwarded_client_has_its_own_cap(client, settings, clean_runs):
    settings.RUN_MAX_ACTIVE_ANONYMOUS = 1
    settings.TRUSTED_PROXY_COUNT = 1
    assert api_start(client, HTTP_X_FORWARDED_FOR="198.51.100.1").status_code == 201
    assert api_start(client, HTTP_X_FORWARDED_FOR="1.2.3.4, 198.51.100.1").status_code == 429
    assert api_start(client, HTTP_X_FORWARDED_FOR="198.51.100.2").status_code == 201
    assert set(Run.objects.values_list("client_address", flat=True)) == {"198.51.100.1", "198.51.100.2"}


# --- active runs per owner ---------------------------------------------------------------------


@pytest.mark.django_db
def test_an_anonymous_browser_may_have_three_active_runs_then_gets_a_429_page(client, clean_runs, settings):
    from playground.designs.models import Design

    design = Design.objects.create(title="d", document_json=json.dumps(web_fleet()))
    for _ in range(settings.RUN_MAX_ACTIVE_ANONYMOUS):
        assert client.post("/runs/start/", {"design": design.slug}).status_code == 302
    refused = client.post("/runs/start/", {"design": design.slug})
    assert refused.status_code == 429
    assert b"3 runs queued or running already" in refused.content
    # Another browser is another owner.
    from django.test import Client

    assert Client().post("/runs/start/", {"design": design.slug}).status_code == 302


@pytest.mark.django_db
def test_a_client_that_drops_its_cookies_meets_the_cap_of_its_address(clean_runs, settings):
    """Each cookieless form post is a new anonymous browser; its address still has a cap."""
    from django.test import Client

    from playground.designs.models import Design

    settings.RUN_MAX_ACTIVE_PER_ADDRESS = 4
    design = Design.objects.create(title="d", document_json=json.dumps(web_fleet()))
    for _ in range(4):
        assert Client().post("/runs/start/", {"design": design.slug}).status_code == 302
    refused = Client().post("/runs/start/", {"design": design.slug})
    assert refused.status_code == 429
    assert b"4 runs without an account are queued or running from your address" in refused.content
    assert Client(REMOTE_ADDR="198.51.100.7").post("/runs/start/", {"design": design.slug}).status_code == 302


@pytest.mark.django_db
def test_a_client_that_drops_its_cookies_meets_the_start_rate_of_its_address(clean_runs, settings):
    from django.test import Client

    from playground.designs.models import Design

    settings.RUN_STARTS_PER_MINUTE = 30
    settings.RUN_STARTS_PER_MINUTE_PER_ADDRESS = 3
    settings.RUN_MAX_ACTIVE_PER_ADDRESS = 100
    design = Design.objects.create(title="d", document_json=json.dumps(web_fleet()))
    for _ in range(3):
        assert Client().post("/runs/start/", {"design": design.slug}).status_code == 302
    refused = Client().post("/runs/start/", {"design": design.slug})
    assert refused.status_code == 429 and refused["Retry-After"]
    assert b"at most 3 runs without an account may start per minute from one address" in refused.content
    # The refused start gave back what it took from its own browser's rate.
    assert sum(stream.client().zcard(k) for k in stream.client().scan_iter("ratelimit:runs:browser:*")) == 3


@pytest.mark.django_db
def test_runs_started_with_a_token_count_against_its_user_with_the_users_cap(client, clean_runs, settings):
    settings.RUN_MAX_ACTIVE_USER = 3
    user = User.objects.create_user("ann", password="pw-123456789")
    _, token = ApiToken.issue(user, "ci")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    service.create_run(web_fleet(), owner=service.Owner(key=f"user:{user.pk}", user=user, is_user=True))
    assert api_start(client, **auth).status_code == 201
    assert api_start(client, **auth).status_code == 201
    refused = api_start(client, **auth)
    assert refused.status_code == 429
    assert "3 runs queued or running already" in refused.json()["error"]
    assert Run.objects.filter(owner=user).count() == 3
    # The cookieless cap of that address is untouched by the user's runs.
    assert api_start(client).status_code == 201


@pytest.mark.django_db
def test_ended_runs_do_not_count_as_active(client, clean_runs, settings):
    settings.RUN_MAX_ACTIVE_ANONYMOUS = 1
    assert api_start(client).status_code == 201
    Run.objects.update(status=Run.Status.DONE)
    assert api_start(client).status_code == 201


# --- start rate ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_concurrent_starts_cannot_pass_the_rate_together(settings, clean_runs):
    """The check and the count are one Lua script: 40 threads racing for 7 starts get exactly 7."""
    settings.RUN_STARTS_PER_MINUTE = 7
    owner = service.Owner(key="addr:race", address="race")
    taken, refused = [], []
    barrier = threading.Barrier(40)

    def attempt():
        barrier.wait()
        try:
            taken.extend(lifecycle._take_start(owner, lifecycle.caps_of(Run)))
        except service.RunRefused as exc:
            refused.append(exc)

    threads = [threading.Thread(target=attempt) for _ in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(taken) == 7 and len(refused) == 33
    assert all(exc.status == 429 and 1 <= exc.retry_after <= 60 for exc in refused)
    assert stream.client().zcard("ratelimit:runs:addr:race") == 7


@pytest.mark.django_db
def test_a_start_that_fails_after_counting_is_given_back(settings, clean_runs, monkeypatch):
    settings.RUN_STARTS_PER_MINUTE = 1
    owner = service.Owner(key="addr:giveback", address="giveback")

    def broken(run):
        raise RuntimeError("the broker is away")

    monkeypatch.setattr("playground.runs.queues.send_run", broken)
    with pytest.raises(RuntimeError):
        service.create_run(web_fleet(), owner=owner)
    monkeypatch.undo()
    run, _ = service.create_run(web_fleet(), owner=owner)  # the failed start did not count
    assert run.pk


@pytest.mark.django_db
def test_the_rate_limit_answers_429_with_retry_after_on_the_page_too(client, settings, clean_runs):
    from playground.designs.models import Design

    settings.RUN_STARTS_PER_MINUTE = 1
    design = Design.objects.create(title="d", document_json=json.dumps(web_fleet()))
    assert client.post("/runs/start/", {"design": design.slug}).status_code == 302
    refused = client.post("/runs/start/", {"design": design.slug})
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert b"at most 1 run may start per minute" in refused.content


# --- controls and frames -------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_live_run_takes_a_bounded_number_of_controls(settings, clean_runs):
    settings.RUN_MAX_CONTROLS = 3
    run, _ = service.create_run(web_fleet(), owner=service.Owner(key="addr:c", address="c"), mode="live")
    for _ in range(3):
        service.send_control(run, {"kind": "traffic", "multiplier": 2, "ramp_s": 0})
    with pytest.raises(service.RunRefused, match="at most 3 controls") as refused:
        service.send_control(run, {"kind": "traffic", "multiplier": 2, "ramp_s": 0})
    assert refused.value.status == 429


@pytest.mark.django_db
def test_a_run_stops_at_the_frame_bound_with_a_reason(settings, clean_runs):
    from playground.runs.runner import Runner

    settings.RUN_MAX_FRAMES = 5
    run, _ = service.create_run(web_fleet(duration_s=20), owner=service.Owner(key="addr:f", address="f"))
    assert Runner(run.pk).execute() == "failed"
    run.refresh_from_db()
    assert run.status == "failed" and "at most 5 frames" in run.reason
    assert stream.log_length(run.slug) == 5


# --- WebSockets ----------------------------------------------------------------------------------


def test_message_rate_is_a_sliding_window():
    now = [0.0]
    rate = MessageRate(3, 10, clock=lambda: now[0])
    assert [rate.allow() for _ in range(4)] == [True, True, True, False]
    now[0] = 10.5
    assert rate.allow()


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("path", ["/ws/ping/", "run"])
async def test_a_websocket_message_over_the_size_cap_closes_the_socket_4009(path, settings, clean_runs):
    from asgiref.sync import sync_to_async

    if path == "run":
        run, _ = await sync_to_async(service.create_run)(web_fleet(), owner=service.Owner(key="addr:w", address="w"))
        path = f"/ws/runs/{run.slug}/"
    communicator = WebsocketCommunicator(application, path, headers=ORIGIN)
    assert (await communicator.connect())[0]
    await communicator.send_to(text_data="x" * (settings.WS_MAX_MESSAGE_BYTES + 1))
    while True:
        output = await communicator.receive_output(timeout=5)
        if output["type"] == "websocket.close":
            break
    assert output["code"] == 4009
    await communicator.wait()


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("path", ["/ws/ping/", "run"])
async def test_too_many_websocket_messages_close_the_socket_4008(path, settings, clean_runs):
    from asgiref.sync import sync_to_async

    settings.WS_MAX_MESSAGES = 5
    if path == "run":
        run, _ = await sync_to_async(service.create_run)(web_fleet(), owner=service.Owner(key="addr:w", address="w"))
        path = f"/ws/runs/{run.slug}/"
    communicator = WebsocketCommunicator(application, path, headers=ORIGIN)
    assert (await communicator.connect())[0]
    for _ in range(6):
        await communicator.send_to(text_data="ping")
    codes = []
    while not codes:
        output = await communicator.receive_output(timeout=5)
        if output["type"] == "websocket.close":
            codes.append(output["code"])
    assert codes == [4008]
    await communicator.wait()


# --- Celery --------------------------------------------------------------------------------------


def test_a_worker_child_is_replaced_past_its_memory_cap():
    from playground.celery import app

    assert app.conf.worker_max_memory_per_child == 1024 * 1024  # KiB


# --- NUL characters (PostgreSQL refuses them in text: a 500 unless refused first) ---------------


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/runs", "/api/designs", "/d/create"])
def test_a_nul_in_a_json_body_is_a_400_naming_it(client, django_user_model, path, clean_runs):
    user = django_user_model.objects.create_user("nul", password="pw-123456789")
    token = ApiToken.issue(user, "n")[1]
    document = web_fleet()
    document["title"] = "a\x00b"
    response = client.post(path, json.dumps({"document": document}), content_type="application/json",
                           HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 400
    assert "NUL" in response.json()["error"]


@pytest.mark.django_db
def test_a_nul_in_a_form_a_path_or_a_query_is_a_400(client):
    assert client.post("/runs/start/", {"design": "a\x00b"}).status_code == 400
    assert client.post("/runs/start/", "design=a%00b", content_type="application/x-www-form-urlencoded").status_code == 400
    assert client.get("/r/abc%00def/").status_code == 400
    assert client.get("/templates/?q=%00").status_code == 400


@pytest.mark.django_db
def test_text_that_only_looks_like_a_nul_is_accepted(client, clean_runs):
    document = web_fleet()
    document["title"] = "a literal \\u0000 and 100%00"
    response = client.post("/d/create", json.dumps({"document": document}), content_type="application/json")
    assert response.status_code == 201
    assert response.json()["title"] == "a literal \\u0000 and 100%00"


# --- Redis away --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_without_redis_starting_a_run_is_a_503_not_a_500(client, settings):
    from playground.settings import redis_settings
    from tests.redis_server import free_port

    for name, value in redis_settings(f"redis://127.0.0.1:{free_port()}/0").items():
        setattr(settings, name, value)
    response = api_start(client)
    assert response.status_code == 503
    assert "run queue is unavailable" in response.json()["error"]
    assert response["Retry-After"] == "10"
    assert not Run.objects.exists()
