"""Issue 13's abuse findings: the former 500s are 4xx naming the problem; WebSocket close codes are
valid (through WebsocketCommunicator and a real Daphne); open sockets are capped per address in
Redis; the origin check compares scheme, host and port."""

from __future__ import annotations

import asyncio
import json

import pytest
import websockets
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from playground import sockets
from playground.accounts.models import ApiToken
from playground.asgi import application
from playground.runs import service, stream
from playground.runs.models import Run
from tests.processes import start_daphne
from tests.runs.designs import web_fleet

HUGE = "99999999999999999999"


@pytest.fixture
def clean_runs():
    yield
    for slug in Run.objects.values_list("slug", flat=True):
        stream.delete_keys(slug)


def _delete_keys(pattern: str) -> None:
    r = stream.client()
    for key in r.scan_iter(pattern):
        r.delete(key)


@pytest.fixture
def clean_slots():
    yield
    _delete_keys("ws:conns:*")


# --- the four 500s ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_sweep_range_that_overflows_is_a_422_naming_the_axis(client):
    axes = [{"path": "nodes.api.params.instances", "from": 1, "to": 1e18, "step": 1e-300}]
    response = client.post("/api/sweeps", json.dumps({"document": web_fleet(), "axes": axes}),
                           content_type="application/json")
    assert response.status_code == 422, response.content
    problem = response.json()["problems"][0]
    assert problem["path"] == "axes[0]" and "at most 200" in problem["message"]


@pytest.mark.django_db
@pytest.mark.parametrize("after", [HUGE, str(2**31), "-1"])
def test_frames_after_a_seq_out_of_range_is_a_400_naming_after(client, clean_runs, after):
    run, _ = service.create_run(web_fleet(), owner=service.Owner(key="addr:f", address="f"))
    response = client.get(f"/api/runs/{run.slug}/frames?after={after}")
    assert response.status_code == 400, response.content
    assert response.json()["problems"] == [{"path": "after", "message": "after must be a whole number from 0 to "
                                                                        f"{2**31 - 1}"}]


@pytest.mark.django_db
def test_frames_after_the_largest_seq_is_an_empty_list(client, clean_runs):
    run, _ = service.create_run(web_fleet(), owner=service.Owner(key="addr:f", address="f"))
    response = client.get(f"/api/runs/{run.slug}/frames?after={stream.MAX_SEQ}")
    assert response.status_code == 200 and response.json() == {"frames": []}


@pytest.mark.django_db
@pytest.mark.parametrize("document", ["5", "[]", '"text"', "null"])
def test_exporting_a_document_that_is_not_an_object_is_a_400(client, document):
    response = client.post("/editor/export", {"document": document, "format": "json"})
    assert response.status_code == 400
    assert b"must be a JSON object" in response.content


@pytest.mark.django_db
@pytest.mark.parametrize("offset", ["9223372036854775808", str(2**31), "-1"])
def test_a_designs_offset_out_of_range_is_a_400_naming_it(client, django_user_model, offset):
    user = django_user_model.objects.create_user("offset", password="pw-123456789")
    token = ApiToken.issue(user, "t")[1]
    response = client.get(f"/api/designs?offset={offset}", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 400
    assert "offset from 0 to 2147483647" in response.json()["error"]


# --- close codes, through WebsocketCommunicator -----------------------------------------------------

ORIGIN = [(b"origin", b"http://localhost"), (b"host", b"localhost")]


async def close_code(path: str, address: str = "10.0.0.1", headers=ORIGIN) -> int:
    """The code the socket at ``path`` is closed with, right after connecting."""
    communicator = WebsocketCommunicator(application, path, headers=headers)
    communicator.scope["client"] = [address, 5000]
    connected, _ = await communicator.connect()
    assert connected
    output = await communicator.receive_output(timeout=5)
    assert output["type"] == "websocket.close", output
    await communicator.wait()
    return output["code"]


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("query", [f"after={HUGE}", "after=x", "after=-3", "after=1e5", f"after={2**31}"])
async def test_a_viewer_with_a_bad_after_is_closed_4400(query, clean_runs, clean_slots):
    run, _ = await sync_to_async(service.create_run)(web_fleet(), owner=service.Owner(key="addr:w", address="w"))
    assert await close_code(f"/ws/runs/{run.slug}/?{query}") == sockets.CLOSE_BAD_QUERY


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_viewer_of_no_run_is_closed_4404(clean_slots):
    assert await close_code("/ws/runs/no-such-run-at-all/") == sockets.CLOSE_NO_SUCH_RUN


def test_after_from_reads_whole_numbers_up_to_the_largest_seq():
    assert sockets.CLOSE_BAD_QUERY == 4400
    from playground.runs.consumers import after_from

    assert after_from(b"") == 0
    assert after_from(b"after=17") == 17
    assert after_from(f"after={2**31 - 1}".encode()) == 2**31 - 1
    assert [after_from(q) for q in (b"after=%2B5", b"after=\xd9\xa3", b"after=2147483648", b"after=")] == [
        None, None, None, 0]


# --- connections per address -------------------------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_sockets_past_the_per_address_cap_are_closed_4429_and_a_freed_slot_is_reused(settings, clean_slots):
    settings.WS_MAX_CONNECTIONS_PER_ADDRESS = 2
    open_ones = []
    for _ in range(2):
        communicator = WebsocketCommunicator(application, "/ws/ping/", headers=ORIGIN)
        communicator.scope["client"] = ["10.1.1.1", 4000]
        assert (await communicator.connect())[0]
        open_ones.append(communicator)
    assert await close_code("/ws/ping/", address="10.1.1.1") == sockets.CLOSE_TOO_MANY_CONNECTIONS
    other = WebsocketCommunicator(application, "/ws/ping/", headers=ORIGIN)
    other.scope["client"] = ["10.1.1.2", 4000]
    assert (await other.connect())[0]  # another address has its own count
    await other.disconnect()
    await open_ones[0].disconnect()
    again = WebsocketCommunicator(application, "/ws/ping/", headers=ORIGIN)
    again.scope["client"] = ["10.1.1.1", 4000]
    assert (await again.connect())[0]
    await again.send_to(text_data="still works")
    assert await again.receive_from(timeout=5) == "still works"
    for communicator in (again, open_ones[1]):
        await communicator.disconnect()
    assert stream.client().zcard(sockets.slots_key("10.1.1.1")) == 0


@pytest.mark.asyncio
async def test_a_slot_whose_process_died_lapses_after_its_ttl(settings, clean_slots):
    settings.WS_MAX_CONNECTIONS_PER_ADDRESS = 2
    settings.WS_CONNECTION_TTL_S = 1
    # Two sockets in a process that died: taken, never released nor refreshed.
    assert await sockets.take_slot("10.2.2.2", "dead-1")
    assert await sockets.take_slot("10.2.2.2", "dead-2")
    assert not await sockets.take_slot("10.2.2.2", "new")
    await asyncio.sleep(1.2)
    assert await sockets.take_slot("10.2.2.2", "new")
    assert stream.client().ttl(sockets.slots_key("10.2.2.2")) <= 2


@pytest.mark.asyncio
async def test_an_open_socket_keeps_its_slot_past_the_ttl(settings, clean_slots):
    settings.WS_MAX_CONNECTIONS_PER_ADDRESS = 1
    settings.WS_CONNECTION_TTL_S = 0.6
    assert await sockets.take_slot("10.3.3.3", "alive")
    keeper = asyncio.create_task(sockets._keep_slot("10.3.3.3", "alive"))
    try:
        await asyncio.sleep(1.5)
        assert not await sockets.take_slot("10.3.3.3", "another")
    finally:
        keeper.cancel()


def test_the_socket_address_believes_x_forwarded_for_only_from_trusted_proxies(settings):
    scope = {"client": ["10.0.0.9", 1], "headers": [(b"x-forwarded-for", b"6.6.6.6, 1.2.3.4")]}
    settings.TRUSTED_PROXY_COUNT = 0
    assert sockets.scope_address(scope) == "10.0.0.9"
    settings.TRUSTED_PROXY_COUNT = 1
    assert sockets.scope_address(scope) == "1.2.3.4"


# --- the origin check -------------------------------------------------------------------------------


def ws_scope(origin: str | None, host: str, scheme: str = "ws", **headers: str) -> dict:
    raw = [(b"host", host.encode())] + ([(b"origin", origin.encode())] if origin is not None else [])
    raw += [(name.replace("_", "-").encode(), value.encode()) for name, value in headers.items()]
    return {"type": "websocket", "scheme": scheme, "headers": raw}


@pytest.mark.parametrize(("origin", "host", "scheme", "headers", "same"), [
    ("http://localhost:8000", "localhost:8000", "ws", {}, True),
    ("http://localhost", "localhost", "ws", {}, True),
    ("http://localhost:80", "localhost", "ws", {}, True),
    ("http://localhost:9000", "localhost:8000", "ws", {}, False),  # another port
    ("https://localhost:8000", "localhost:8000", "ws", {}, False),  # another scheme
    ("http://127.0.0.1:8000", "localhost:8000", "ws", {}, False),  # another host, though allowed
    ("https://localhost", "localhost", "wss", {}, True),
    ("http://localhost", "localhost", "wss", {}, False),
    ("https://localhost", "localhost", "ws", {"x_forwarded_proto": "https"}, True),  # TLS ended at the proxy
    ("http://localhost", "localhost", "ws", {"x_forwarded_proto": "https"}, False),
    ("http://evil.example", "evil.example", "ws", {}, False),  # a Host not in ALLOWED_HOSTS
    (None, "localhost", "ws", {}, False),
    ("null", "localhost", "ws", {}, False),
    ("https://app.example.com", "localhost", "ws", {}, True),  # in CSRF_TRUSTED_ORIGINS
    ("https://app.example.com:444", "localhost", "ws", {}, False),
])
def test_the_origin_must_be_the_sites_own_scheme_host_and_port(settings, origin, host, scheme, headers, same):
    settings.CSRF_TRUSTED_ORIGINS = ["https://app.example.com"]
    assert sockets.same_origin(ws_scope(origin, host, scheme, **headers)) is same


@pytest.mark.asyncio
async def test_a_socket_from_another_port_of_the_same_host_is_refused():
    communicator = WebsocketCommunicator(application, "/ws/ping/",
                                         headers=[(b"origin", b"http://localhost:9999"), (b"host", b"localhost")])
    connected, _ = await communicator.connect()
    assert not connected


# --- the codes a client receives through a real Daphne ----------------------------------------------


@pytest.fixture
def capped_daphne(tmp_path, transactional_db, clean_slots):
    server, base = start_daphne(tmp_path / "daphne.log", WS_MAX_CONNECTIONS_PER_ADDRESS="3", WS_MAX_MESSAGES="3")
    yield server, base
    server.stop()


def test_a_client_of_a_real_daphne_receives_each_documented_close_code(capped_daphne):
    server, base = capped_daphne
    ws_base = base.replace("http://", "ws://")

    async def code_after(path: str, messages: list[str] | None = None) -> int:
        async with websockets.connect(ws_base + path, origin=base, open_timeout=5) as ws:
            for message in messages or []:
                await ws.send(message)
            with pytest.raises(websockets.ConnectionClosed) as closed:
                while True:
                    await asyncio.wait_for(ws.recv(), 5)
            return closed.value.rcvd.code

    async def scenario() -> dict:
        codes = {
            "no such run": await code_after("/ws/runs/no-such-run-at-all/"),
            "bad after": await code_after(f"/ws/runs/no-such-run-at-all/?after={HUGE}"),
            "too big": await code_after("/ws/ping/", ["x" * 2000]),
            "too many": await code_after("/ws/ping/", ["a", "b", "c", "d"]),
        }
        held = [await websockets.connect(ws_base + "/ws/ping/", origin=base, open_timeout=5) for _ in range(3)]
        try:
            codes["fourth socket"] = await code_after("/ws/ping/")
        finally:
            for ws in held:
                await ws.close()
        with pytest.raises(websockets.InvalidStatus) as refused:
            await websockets.connect(ws_base + "/ws/ping/", origin=base.replace("127.0.0.1", "localhost"))
        codes["foreign origin"] = refused.value.response.status_code
        return codes

    assert asyncio.run(scenario()) == {"no such run": 4404, "bad after": 4400, "too big": 4009, "too many": 4008,
                                       "fourth socket": 4429, "foreign origin": 403}
    log = server.log()
    assert "invalid close code" not in log and "Traceback" not in log, log


# --- tokens are not cached; a design's run list is the viewer's own ----------------------------------


@pytest.mark.django_db
def test_the_account_page_showing_a_new_token_is_no_store(client, django_user_model):
    user = django_user_model.objects.create_user("tok", password="pw-123456789")
    client.force_login(user)
    response = client.post("/account/", {"name": "ci"})
    assert response.status_code == 200 and response.context["new_token"]
    assert "no-store" in response["Cache-Control"]
    assert "no-store" in client.get("/account/")["Cache-Control"]


@pytest.mark.django_db
def test_a_run_start_answer_with_its_control_token_is_no_store(client, clean_runs):
    response = client.post("/api/runs", json.dumps({"document": web_fleet()}), content_type="application/json")
    assert response.status_code == 201 and response.json()["control_token"]
    assert response["Cache-Control"] == "no-store"


@pytest.mark.django_db
def test_a_designs_run_list_shows_only_the_viewers_runs(client, django_user_model, clean_runs):
    from django.test import Client

    from playground.designs.models import Design

    owner = django_user_model.objects.create_user("owner", password="pw-123456789")
    design = Design.objects.create(owner=owner, document_json=json.dumps(web_fleet()))
    theirs, _ = service.create_run(web_fleet(), owner=service.Owner(key=f"user:{owner.pk}", user=owner, is_user=True),
                                   design=design)
    client.get("/d/new/")  # this browser's owner token
    client.post("/runs/start/", {"design": design.slug})
    mine = Run.objects.exclude(pk=theirs.pk).get(design=design)
    page = client.get(f"/runs/?design={design.slug}").content.decode()
    assert mine.slug in page and theirs.slug not in page
    owners_page = Client()
    owners_page.force_login(owner)
    page = owners_page.get(f"/runs/?design={design.slug}").content.decode()
    assert theirs.slug in page and mine.slug not in page


# --- log-in and sign-up attempts ---------------------------------------------------------------------


@pytest.fixture
def attempt_limits(settings):
    settings.LOGIN_ATTEMPTS_PER_ADDRESS = 5
    settings.LOGIN_ATTEMPTS_PER_ACCOUNT = 3
    settings.SIGNUPS_PER_ADDRESS = 2
    yield settings
    _delete_keys("playground:cache:*")


def _address() -> str:
    import secrets

    return f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.{secrets.randbelow(250)}"


@pytest.mark.django_db
def test_log_ins_past_the_per_account_limit_are_refused_even_with_the_right_password(client, django_user_model,
                                                                                     attempt_limits):
    django_user_model.objects.create_user("victim", password="right-password-1")
    for _ in range(3):  # each from another address: the account's own count binds
        wrong = client.post("/login/", {"username": "victim", "password": "wrong"}, REMOTE_ADDR=_address())
        assert wrong.status_code == 200
    refused = client.post("/login/", {"username": "Victim", "password": "right-password-1"}, REMOTE_ADDR=_address())
    assert refused.status_code == 429
    text = refused.content.decode()
    assert "too many log-in attempts for this account: at most 3 in 15 minutes; try again in" in text
    assert 'name="username"' in text and 'value="Victim"' in text  # the form again
    assert 0 < int(refused["Retry-After"]) <= 900
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_log_ins_past_the_per_address_limit_are_refused_for_any_account(client, attempt_limits):
    address = _address()
    answers = [client.post("/login/", {"username": f"user{i}", "password": "x"}, REMOTE_ADDR=address).status_code
               for i in range(6)]
    assert answers == [200] * 5 + [429]
    other = client.post("/login/", {"username": "user9", "password": "x"}, REMOTE_ADDR=_address())
    assert other.status_code == 200


@pytest.mark.django_db
def test_a_refused_log_in_answers_json_to_a_client_that_asks(client, attempt_limits):
    address = _address()
    for _ in range(5):
        client.post("/login/", {"username": "j", "password": "x"}, REMOTE_ADDR=address)
    response = client.post("/login/", {"username": "k", "password": "x"}, REMOTE_ADDR=address,
                           HTTP_ACCEPT="application/json")
    assert response.status_code == 429 and response["Retry-After"]
    assert response.json()["error"].startswith("too many log-in attempts from your address: at most 5")


@pytest.mark.django_db
def test_sign_ups_past_the_per_address_limit_are_refused_and_make_no_account(client, django_user_model,
                                                                             attempt_limits):
    from django.test import Client

    address = _address()
    for i in range(2):
        Client().post("/signup/", {"username": f"new{i}", "password1": "a-long-pass-123", "password2": "a-long-pass-123"},
                      REMOTE_ADDR=address)
    refused = client.post("/signup/", {"username": "new2", "password1": "a-long-pass-123",
                                       "password2": "a-long-pass-123"}, REMOTE_ADDR=address)
    assert refused.status_code == 429
    assert "too many sign-ups from your address: at most 2 in 15 minutes" in refused.content.decode()
    assert 'value="new2"' in refused.content.decode()
    assert sorted(django_user_model.objects.values_list("username", flat=True)) == ["new0", "new1"]


def test_the_attempt_counts_live_in_the_redis_cache_every_process_shares(settings):
    assert settings.CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    assert settings.CACHES["default"]["LOCATION"] == settings.REDIS_URL


# --- design storage quota and create rate --------------------------------------------------------------


@pytest.fixture
def design_limits(settings):
    settings.DESIGN_MAX_COUNT_ANONYMOUS = 3
    settings.DESIGN_MAX_BYTES_ANONYMOUS = 3072
    settings.DESIGN_CREATES_PER_MINUTE = 5
    settings.DESIGN_CREATES_PER_MINUTE_PER_ADDRESS = 6
    yield settings
    _delete_keys("playground:cache:*")


def _create(client, document: dict, address: str = "10.5.5.5"):
    return client.post("/d/create", json.dumps({"document": document}), content_type="application/json",
                       REMOTE_ADDR=address)


def _doc(padding: int = 0) -> dict:
    from playground.designs.documents import empty_document

    return empty_document("x" * min(padding, 200)) | {"layout": {"pad": "p" * padding}}


@pytest.mark.django_db
def test_a_browser_past_its_design_count_is_refused_429_naming_it(client, design_limits):
    from playground.designs.models import Design

    assert [_create(client, _doc()).status_code for _ in range(4)] == [201, 201, 201, 429]
    refused = _create(client, _doc())
    assert refused.json()["problems"] == [{"path": "quota", "message": "you have 3 designs, the most a browser "
                                           "without an account may keep: delete one first"}]
    assert Design.objects.count() == 3


@pytest.mark.django_db
def test_a_save_past_the_bytes_quota_is_a_413_and_the_design_keeps_its_last_save(client, design_limits):
    from playground.designs.models import Design

    created = _create(client, _doc(100)).json()
    big = client.post(f"/d/{created['slug']}/save", json.dumps({"document": _doc(3000), "version": 1}),
                      content_type="application/json")
    assert big.status_code == 413
    assert "bytes; at most 3 KiB may be kept: delete a design or make this one smaller" in big.json()["error"]
    assert big.json()["problems"][0]["path"] == "quota"
    assert Design.objects.get(slug=created["slug"]).version == 1
    small = client.post(f"/d/{created['slug']}/save", json.dumps({"document": _doc(200), "version": 1}),
                        content_type="application/json")
    assert small.status_code == 200  # a save replaces the design's own bytes, it does not add to them


@pytest.mark.django_db
def test_anonymous_drafts_in_a_burst_meet_the_create_rate_per_owner_and_per_address(design_limits):
    from django.test import Client

    browser = Client()
    answers = [_create(browser, _doc()).status_code for _ in range(3)]
    design_limits.DESIGN_MAX_COUNT_ANONYMOUS = 100
    answers += [_create(browser, _doc()).status_code for _ in range(3)]
    assert answers == [201] * 5 + [429]
    # Dropping cookies: a new browser each time, all at one address.
    fresh = [_create(Client(), _doc(), address="10.6.6.6").status_code for _ in range(7)]
    assert fresh == [201] * 6 + [429]
    refused = _create(Client(), _doc(), address="10.6.6.6")
    assert "new designs without an account from your address: at most 6 in 1 minute" in refused.json()["error"]
    assert 0 < int(refused["Retry-After"]) <= 60


@pytest.mark.django_db
def test_forks_count_against_the_quota_and_are_refused_with_a_page(client, design_limits):
    from playground.designs.models import Design

    slugs = [_create(client, _doc()).json()["slug"] for _ in range(3)]
    response = client.post(f"/d/{slugs[0]}/fork")
    assert response.status_code == 429
    assert "you have 3 designs" in response.content.decode()
    assert Design.objects.count() == 3


@pytest.mark.django_db
def test_the_api_refuses_a_design_past_the_users_quota(client, django_user_model, design_limits):
    design_limits.DESIGN_MAX_COUNT_USER = 1
    user = django_user_model.objects.create_user("quota", password="pw-123456789")
    token = ApiToken.issue(user, "t")[1]

    def post():
        return client.post("/api/designs", json.dumps({"document": web_fleet()}), content_type="application/json",
                           HTTP_AUTHORIZATION=f"Bearer {token}")

    assert post().status_code == 201
    refused = post()
    assert refused.status_code == 429 and refused.json()["error"].startswith("you have 1 designs, the most an account")


# --- the editor's panels, validate and import are bounded ----------------------------------------------


def _with_events(count: int) -> dict:
    document = web_fleet()
    document["scenario"]["events"] = [{"at_s": 1, "action": "kill_instance", "node": "api"}] * count
    return document


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/editor/panel/scenario", "/editor/panel/node", "/editor/validate", "/editor/import"])
def test_a_document_with_1000_events_is_refused_fast_by_the_editor_endpoints(client, path):
    import time

    from django.core.files.uploadedfile import SimpleUploadedFile

    text = json.dumps(_with_events(1000))
    started = time.perf_counter()
    if path == "/editor/validate":
        response = client.post(path, json.dumps({"document": json.loads(text)}), content_type="application/json")
    elif path == "/editor/import":
        response = client.post(path, {"file": SimpleUploadedFile("d.json", text.encode())})
    else:
        response = client.post(path, {"document": text, "node": "api", "apply": "1"})
    took = time.perf_counter() - started
    assert response.status_code == 400
    text = response.content.decode()
    assert "scenario.events" in text and "has 1000 entries; at most 100" in text
    assert took < 0.5


@pytest.mark.django_db
def test_the_scenario_panel_at_the_event_cap_answers_in_milliseconds(client):
    import time

    started = time.perf_counter()
    response = client.post("/editor/panel/scenario", {"document": json.dumps(_with_events(100)), "apply": "1"})
    took = time.perf_counter() - started
    assert response.status_code == 200
    assert len(response.content) < 2_000_000 and took < 1.0, (len(response.content), took)
