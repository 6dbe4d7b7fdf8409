"""Property tests (hypothesis), 1,000 examples each:

- any JSON value given to the validator yields a document or a list of problems, never an exception;
- any valid generated document (kept small) simulates without error, and its frames and summary
  hold no NaN or infinity;
- the API and the editor never answer 5xx to generated bodies;
- no GET endpoint answers 5xx to a generated query string (the names the views read, and junk:
  huge and negative numbers, overflowing floats, text);
- a WebSocket viewer with any ``?after=`` gets the run or a 4400 close, never an error (300 examples).

The start rate limit is lifted by the tests' settings (``RUN_STARTS_PER_MINUTE = 0``); the active
runs cap is lifted here so generated valid documents go all the way to a stored run.
"""

from __future__ import annotations

import json
import math
import os
import signal

import pytest
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st

from playground.engine import DocumentError, Simulation, load, parse, validate
from playground.runs import stream
from playground.runs.models import Run

EXAMPLES = int(os.environ.get("PROPERTY_EXAMPLES", "1000"))
PROPERTY = settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                           HealthCheck.function_scoped_fixture, HealthCheck.data_too_large])

KINDS = ["client", "load_balancer", "service", "serverless", "database", "store", "queue", "worker", "cdn",
         "object_storage", "external"]

scalars = (st.none() | st.booleans() | st.integers(-(10**20), 10**20)
           | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=20))
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=10), inner, max_size=4), max_leaves=20)
param_names = st.sampled_from(["rps", "users", "workflow", "instances", "workers", "queue", "service_ms",
                               "state", "role", "latency_ms", "hit_ratio", "algorithm", "autoscale", "timeout_ms",
                               "retries", "max_depth", "error_rate", "calls", "mode", "x"])
ids = st.sampled_from(["a", "b", "c", "api", "db", "Bad Id", ""]) | st.text(max_size=6)

# Documents of roughly the right shape with wrong values anywhere: they reach deep into validation.
shaped = st.fixed_dictionaries(
    {
        "nodes": st.lists(st.fixed_dictionaries({"id": ids, "kind": st.sampled_from(KINDS) | json_values},
                                                optional={"params": st.dictionaries(param_names, json_values,
                                                                                    max_size=4),
                                                          "label": json_values}), max_size=5),
        "edges": st.lists(st.fixed_dictionaries({"from": ids, "to": ids},
                                                optional={"calls": json_values, "mode": json_values,
                                                          "timeout_ms": json_values}), max_size=5),
    },
    optional={
        "schema_version": json_values,
        "title": json_values,
        "scenario": st.dictionaries(st.sampled_from(["duration_s", "tick_s", "warmup_s", "seed", "traffic",
                                                     "events", "other"]), json_values, max_size=4),
        "layout": json_values,
    },
)


@PROPERTY
@given(st.one_of(json_values, shaped))
def test_any_json_value_gives_the_validator_a_document_or_problems(value):
    problems = validate(value)
    assert isinstance(problems, list)
    assert all(p.path is not None and p.message for p in problems)
    try:
        document = load(value)
    except DocumentError as exc:
        assert exc.problems
    else:
        assert not problems
        assert document is not None


# --- valid documents, kept small --------------------------------------------------------------

small_ms = st.one_of(
    st.floats(0, 60),
    st.builds(lambda m: {"dist": "const", "mean": m}, st.floats(0, 60)),
    st.builds(lambda m, cv: {"dist": "lognormal", "mean": m, "cv": cv}, st.floats(0.1, 60), st.floats(0.1, 3)),
    st.builds(lambda a, b: {"dist": "uniform", "min": min(a, b), "max": max(a, b)}, st.floats(0, 60), st.floats(0, 60)),
    st.builds(lambda m, k: {"dist": "erlang", "mean": m, "k": k}, st.floats(0, 60), st.integers(1, 5)),
)


@st.composite
def valid_documents(draw):
    duration = draw(st.integers(2, 10))
    client = {"id": "users", "kind": "client", "params": {
        "rps": draw(st.floats(0, 30)), "users": draw(st.integers(1, 50)),
        "workflow": draw(st.sampled_from(["stateless", "session", "upload", "payment"])),
        "retries": draw(st.integers(0, 2)), "idempotency_keys": draw(st.booleans()),
        "parts": draw(st.integers(2, 4)),
    }}
    if draw(st.booleans()):
        client["params"]["timeout_ms"] = draw(st.floats(1, 500))
        client["params"]["retry_on"] = draw(st.lists(st.sampled_from(["timeout", "overload", "unavailable", "error"]),
                                                     min_size=1, max_size=3, unique=True))
    entry_kind = draw(st.sampled_from(["service", "serverless"]))
    state_choices = ["none", "local", "external", "token"] if entry_kind == "service" else ["none", "external", "token"]
    state = draw(st.sampled_from(state_choices))
    entry = {"id": "app", "kind": entry_kind, "params": {"service_ms": draw(small_ms), "state": state}}
    if entry_kind == "service":
        instances = draw(st.integers(1, 4))
        entry["params"].update(instances=instances, workers=draw(st.integers(1, 6)),
                               queue=draw(st.sampled_from([0, 4, 16, None])), startup_s=draw(st.integers(0, 5)),
                               replace=draw(st.booleans()))
        if draw(st.booleans()):
            low = draw(st.integers(1, 3))
            entry["params"]["autoscale"] = {"min": low, "max": low + draw(st.integers(0, 3)),
                                            "target_utilization": draw(st.floats(0.1, 0.9)),
                                            "cooldown_s": draw(st.integers(0, 5)), "eval_s": draw(st.integers(1, 5))}
    else:
        entry["params"].update(max_concurrency=draw(st.integers(1, 20)), cold_start_ms=draw(small_ms),
                               keep_warm_s=draw(st.integers(0, 10)))
    nodes = [client, entry]
    edges = []
    if entry_kind == "service" and draw(st.booleans()):
        nodes.insert(1, {"id": "lb", "kind": "load_balancer", "params": {
            "algorithm": draw(st.sampled_from(["round_robin", "random", "least_connections", "sticky"])),
            "health_check_s": draw(st.integers(0, 5))}})
        edges += [{"from": "users", "to": "lb"}, {"from": "lb", "to": "app"}]
    else:
        edges.append({"from": "users", "to": "app"})

    def call(to: str) -> dict:
        edge = {"from": "app", "to": to, "calls": draw(st.sampled_from([1, 0.5, 2]))}
        if draw(st.booleans()):
            edge["timeout_ms"] = draw(st.floats(1, 300))
            edge["retries"] = draw(st.integers(0, 2))
        return edge

    if state == "external":
        home = draw(st.sampled_from(["store", "object_storage"]))
        if home == "store":
            nodes.append({"id": "sessions", "kind": "store", "params": {"role": "state", "latency_ms": draw(small_ms)}})
        else:
            nodes.append({"id": "sessions", "kind": "object_storage", "params": {"latency_ms": draw(small_ms)}})
        edges.append({"from": "app", "to": "sessions"})
    extras = draw(st.lists(st.sampled_from(["database", "cache", "external", "queue", "cdn"]), unique=True, max_size=3))
    for extra in extras:
        if extra == "database":
            nodes.append({"id": "db", "kind": "database", "params": {"latency_ms": draw(small_ms),
                                                                     "connections": draw(st.integers(1, 8))}})
            edges.append(call("db"))
        elif extra == "cache":
            nodes.append({"id": "cache", "kind": "store", "params": {"role": "cache", "hit_ratio": draw(st.floats(0, 1)),
                                                                     "keys": draw(st.integers(1, 100))}})
            edges.append(call("cache"))
        elif extra == "external":
            nodes.append({"id": "ext", "kind": "external", "params": {"latency_ms": draw(small_ms),
                                                                      "error_rate": draw(st.floats(0, 0.5))}})
            edges.append(call("ext"))
        elif extra == "queue":
            nodes += [{"id": "jobs", "kind": "queue", "params": {"max_depth": draw(st.integers(0, 50))}},
                      {"id": "bg", "kind": "worker", "params": {"workers": draw(st.integers(1, 3)),
                                                                "service_ms": draw(small_ms)}}]
            edges += [{"from": "app", "to": "jobs", "mode": "async"}, {"from": "jobs", "to": "bg"}]
        elif extra == "cdn":
            nodes.append({"id": "edge", "kind": "cdn", "params": {"hit_ratio": draw(st.floats(0, 1))}})
            edges.append(call("edge"))
    traffic = [{"at_s": draw(st.integers(0, duration - 1)), "multiplier": draw(st.floats(0, 3)),
                "ramp_s": draw(st.integers(0, 3))} for _ in range(draw(st.integers(0, 2)))]
    events = []
    targets = ["app"] + [n["id"] for n in nodes if n["kind"] not in ("client", "load_balancer")]
    for _ in range(draw(st.integers(0, 3))):
        action = draw(st.sampled_from(["kill_instance", "rolling_deploy", "scale", "outage", "slowdown",
                                       "flush_cache"]))
        event = {"at_s": draw(st.integers(0, duration - 1)), "action": action}
        if action in ("kill_instance", "rolling_deploy", "scale"):
            if entry_kind != "service":
                continue
            event["node"] = "app"
            if action == "kill_instance":
                event["count"] = draw(st.integers(1, 2))
            elif action == "rolling_deploy":
                event.update(batch=draw(st.integers(1, 2)), interval_s=draw(st.integers(0, 3)), drain=draw(st.booleans()))
            else:
                event["instances"] = draw(st.integers(1, 4))
        elif action == "flush_cache":
            caches = [n["id"] for n in nodes if n["kind"] == "cdn" or n["params"].get("role") == "cache"]
            if not caches:
                continue
            event["node"] = draw(st.sampled_from(caches))
        else:
            event["node"] = draw(st.sampled_from(targets))
            event["duration_s"] = draw(st.integers(1, 5))
            if action == "slowdown":
                event["factor"] = draw(st.floats(0.1, 10))
        events.append(event)
    return {"schema_version": 1, "title": "generated", "nodes": nodes, "edges": edges,
            "scenario": {"duration_s": duration, "tick_s": 1, "seed": draw(st.integers(0, 1000)),
                         "traffic": traffic, "events": events}}


def _finite(value) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_finite(v) for v in value.values())
    if isinstance(value, list):
        return all(_finite(v) for v in value)
    return True


class TookTooLong(Exception):
    pass


def _too_long(signum, frame):
    raise TookTooLong(f"a small document took more than {SIMULATION_BUDGET_S} s to simulate")


SIMULATION_BUDGET_S = 5


# No shrinking here: shrinking a hang costs the budget per attempt; the examples are small already.
@settings(PROPERTY, phases=[Phase.explicit, Phase.reuse, Phase.generate])
@given(valid_documents())
def test_a_valid_generated_document_simulates_without_error_or_nan(document):
    problems = validate(document)
    assume(not problems)
    # A hang must fail this example, not the whole run: a small document takes milliseconds.
    previous = signal.signal(signal.SIGALRM, _too_long)
    signal.alarm(SIMULATION_BUDGET_S)
    try:
        output = Simulation(load(document), document["scenario"]["seed"]).run(frames=True)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert len(output["frames"]) == document["scenario"]["duration_s"]
    assert _finite(output), "NaN or infinity in the output"
    json.dumps(output, allow_nan=False)


def test_the_document_generator_mostly_makes_valid_documents():
    """A generator whose documents were mostly refused would test little: check what it makes."""
    valid = []

    @settings(max_examples=200, deadline=None, database=None, derandomize=True)
    @given(valid_documents())
    def collect(document):
        valid.append(not validate(document))

    collect()
    assert sum(valid) / len(valid) > 0.9, f"only {sum(valid)} of {len(valid)} generated documents are valid"


# --- the API under generated bodies ------------------------------------------------------------

bodies = st.one_of(
    st.binary(max_size=200),
    json_values.map(lambda v: json.dumps(v, allow_nan=True).encode()),
    st.fixed_dictionaries({}, optional={"document": st.one_of(shaped, json_values), "seed": json_values,
                                        "mode": st.sampled_from(["batch", "live", "x"]) | json_values,
                                        "speed": json_values, "template": json_values,
                                        "variant": json_values, "draft": json_values, "version": json_values,
                                        "title": json_values}).map(lambda v: json.dumps(v).encode()),
    valid_documents().map(lambda d: json.dumps({"document": d, "mode": "live"}).encode()),
    st.builds(lambda d, t: json.dumps({"document": dict(d, title=t), "title": t}).encode(), valid_documents(),
              st.text(alphabet="a\x00<>&\"'\u2028\ud7ff", max_size=6)),
    st.text(max_size=50).map(lambda t: ('{"document": {"nodes": [' * 40 + t).encode()),
)
ENDPOINTS = [("post", "/api/runs"), ("post", "/api/designs"), ("put", "/api/designs/{design}"),
             ("post", "/api/runs/{run}/controls"), ("post", "/d/create"), ("post", "/editor/validate"),
             ("post", "/api/sweeps")]


@pytest.fixture
def api_setup(db, django_user_model, settings):
    from playground.accounts.models import ApiToken
    from playground.designs.models import Design
    from playground.runs import service
    from tests.runs.designs import web_fleet

    settings.RUN_MAX_ACTIVE_ANONYMOUS = 10**6
    settings.RUN_MAX_ACTIVE_USER = 10**6
    settings.SWEEP_MAX_ACTIVE_ANONYMOUS = 10**6
    settings.SWEEP_MAX_ACTIVE_USER = 10**6
    user = django_user_model.objects.create_user("prop", password="pw-123456789")
    token = ApiToken.issue(user, "prop")[1]
    design = Design.objects.create(owner=user, document_json=json.dumps(web_fleet()))
    run, control = service.create_run(web_fleet(), owner=service.Owner(key="addr:prop", address="prop"), mode="live")
    yield {"token": token, "design": design.slug, "run": run.slug, "control": control}
    for slug in Run.objects.values_list("slug", flat=True):
        stream.delete_keys(slug)


@PROPERTY
@given(body=bodies, endpoint=st.sampled_from(ENDPOINTS), content_type=st.sampled_from(
    ["application/json", "text/plain", "application/x-www-form-urlencoded"]))
def test_the_api_never_answers_5xx_to_a_generated_body(client, api_setup, body, endpoint, content_type):
    method, path = endpoint
    path = path.format(**api_setup)
    response = getattr(client, method)(path, body, content_type=content_type,
                                       HTTP_AUTHORIZATION=f"Bearer {api_setup['token']}",
                                       HTTP_X_CONTROL_TOKEN=api_setup["control"])
    assert response.status_code < 500, (path, body[:300], response.content[:500])


def test_parse_refuses_deep_nesting_without_recursion_error():
    with pytest.raises(DocumentError):
        parse("[" * 100_000, "json")


# --- every GET endpoint under generated query strings ---------------------------------------------

# The names the site's GET views and API read, and junk: huge and negative numbers, floats that
# overflow, text, empty values, repeated names.
query_names = st.sampled_from(["after", "limit", "offset", "design", "a", "b", "concept", "company", "q", "variant",
                               "template", "run", "model", "rho", "workers", "queue", "seed", "choice", "next",
                               "format"]) | st.text(max_size=8)
query_values = st.one_of(
    st.integers(-(10**30), 10**30).map(str),
    st.sampled_from(["9223372036854775808", "99999999999999999999", "-1", "0", "1e999", "nan", "inf", "-inf",
                     "1e-300", "0x10", "", " 7 ", "\u0663", "None", "true", "[]", "{}"]),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.text(max_size=30),
)
queries = st.lists(st.tuples(query_names, query_values), max_size=6)
GET_PATHS = ["/api/runs/{run}/frames", "/api/designs", "/api/runs/{run}", "/api/designs/{design}", "/api/sweeps/{sweep}",
             "/templates/", "/templates/{template}/", "/templates/{template}/edit/", "/runs/", "/compare/",
             "/sweeps/new/", "/s/{sweep}/", "/s/{sweep}/progress/", "/r/{run}/", "/r/{run}/checks/", "/d/new/",
             "/d/{design}/", "/d/{design}/document", "/designs/", "/reference/", "/lessons/stateless-services/",
             "/accuracy/", "/login/", "/signup/", "/account/", "/"]


@pytest.fixture
def query_setup(api_setup, client):
    from django.core.management import call_command

    from playground.designs.models import Template
    from playground.runs.models import Sweep

    call_command("loadtemplates", verbosity=0)
    response = client.post("/api/sweeps", json.dumps({"template": "netflix", "axes": [], "seeds": 1}),
                           content_type="application/json")
    assert response.status_code == 201, response.content
    yield {**api_setup, "template": Template.objects.order_by("slug").first().slug,
           "sweep": Sweep.objects.get(slug=response.json()["id"]).slug}


@PROPERTY
@given(path=st.sampled_from(GET_PATHS), query=queries, htmx=st.booleans())
def test_no_get_endpoint_answers_5xx_to_a_generated_query_string(client, query_setup, path, query, htmx):
    from urllib.parse import urlencode

    url = path.format(**query_setup) + "?" + urlencode(query)
    extra = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    response = client.get(url, HTTP_AUTHORIZATION=f"Bearer {query_setup['token']}", **extra)
    assert response.status_code < 500, (url, response.content[:500])


# --- the WebSocket's ?after= ------------------------------------------------------------------------

afters = st.one_of(st.integers(-(10**30), 10**30).map(str), query_values)


@settings(PROPERTY, max_examples=min(EXAMPLES, 300))
@given(after=afters)
def test_a_viewer_with_any_after_gets_the_run_or_a_4400_close_never_an_error(api_setup, transactional_db, after):
    import asyncio
    from urllib.parse import quote

    from channels.testing import WebsocketCommunicator

    from playground.asgi import application

    async def first_output() -> dict:
        communicator = WebsocketCommunicator(application, f"/ws/runs/{api_setup['run']}/?after={quote(after)}",
                                             headers=[(b"origin", b"http://localhost"), (b"host", b"localhost")])
        communicator.scope["client"] = ["10.9.9.9", 1]
        connected, _ = await communicator.connect(timeout=5)
        assert connected
        output = await communicator.receive_output(timeout=5)
        await communicator.disconnect()
        return output

    output = asyncio.run(first_output())
    if output["type"] == "websocket.close":
        assert output["code"] == 4400, (after, output)
    else:
        assert json.loads(output["text"])["type"] in ("status", "frame", "done", "end"), (after, output)
