"""Validation: every kind of problem is reported, with the path of the field at fault."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from typing import Any

import pytest

from playground.engine import DocumentError, Limits, Problem, estimate_document, load, validate
from tests.engine.conftest import EXAMPLE, KITCHEN_SINK, resolves

Doc = dict[str, Any]


def node(d: Doc, node_id: str) -> Doc:
    return next(n for n in d["nodes"] if n["id"] == node_id)


def params(d: Doc, node_id: str) -> Doc:
    return node(d, node_id).setdefault("params", {})


def setp(node_id: str, name: str, value: Any) -> Callable[[Doc], None]:
    return lambda d: params(d, node_id).__setitem__(name, value)


def add_nodes(*nodes: Doc) -> Callable[[Doc], None]:
    return lambda d: d["nodes"].extend(copy.deepcopy(nodes))


def add_edges(*edges: Doc) -> Callable[[Doc], None]:
    return lambda d: d["edges"].extend(copy.deepcopy(edges))


def both(*fns: Callable[[Doc], None]) -> Callable[[Doc], None]:
    def apply(d: Doc) -> None:
        for f in fns:
            f(d)
    return apply


def scenario(**fields: Any) -> Callable[[Doc], None]:
    return lambda d: d["scenario"].update(fields)


def event(**fields: Any) -> Callable[[Doc], None]:
    return lambda d: d["scenario"]["events"].append(fields)


SVC = {"id": "svc", "kind": "service"}
QUEUE = {"id": "q", "kind": "queue"}
WORKER = {"id": "w", "kind": "worker"}
CACHE = {"id": "cache", "kind": "store", "params": {"role": "cache"}}

# (name, mutation of SCHEMA.md's example, path that must be reported, words the message has)
BAD: list[tuple[str, Callable[[Doc], None], str, str]] = [
    # the document itself
    ("unknown top-level field", lambda d: d.update(extra=1), "extra", "unknown field"),
    ("misspelt top-level field", lambda d: d.update(edge=[]), "edge", "did you mean 'edges'"),
    ("newer schema_version", lambda d: d.update(schema_version=2), "schema_version", "newer"),
    ("schema_version as text", lambda d: d.update(schema_version="1"), "schema_version",
     "integer"),
    ("schema_version as boolean", lambda d: d.update(schema_version=True), "schema_version",
     "integer"),
    ("unknown old schema_version", lambda d: d.update(schema_version=0), "schema_version",
     "not a known version"),
    ("title too long", lambda d: d.update(title="t" * 201), "title", "at most 200"),
    ("title not text", lambda d: d.update(title=5), "title", "string"),
    ("no nodes", lambda d: d.pop("nodes"), "nodes", "required"),
    ("nodes not a list", lambda d: d.update(nodes={}), "nodes", "must be a list"),
    ("edges not a list", lambda d: d.update(edges="x"), "edges", "must be a list"),
    # nodes
    ("node not an object", lambda d: d["nodes"].append(3), "nodes[5]", "must be an object"),
    ("node without id", lambda d: node(d, "db").pop("id"), "nodes[4].id", "required"),
    ("id with capitals", lambda d: node(d, "db").update(id="DB"), "nodes[4].id", "must match"),
    ("id starting with a digit", lambda d: node(d, "db").update(id="1db"), "nodes[4].id",
     "must match"),
    ("id of 65 characters", lambda d: node(d, "db").update(id="d" * 65), "nodes[4].id",
     "must match"),
    ("id not text", lambda d: node(d, "db").update(id=7), "nodes[4].id", "must match"),
    ("duplicate id", lambda d: node(d, "db").update(id="redis"), "nodes[4].id",
     "duplicate id 'redis' (also nodes[3])"),
    ("label too long", lambda d: node(d, "lb").update(label="l" * 101), "nodes[1].label",
     "at most 100"),
    ("label not text", lambda d: node(d, "lb").update(label=1), "nodes[1].label", "string"),
    ("label with a lone surrogate", lambda d: node(d, "lb").update(label="a\ud800"),
     "nodes[1].label", "unpaired surrogate"),
    ("title with a lone surrogate", lambda d: d.update(title="\udfff"), "title",
     "unpaired surrogate"),
    ("unknown node field", lambda d: node(d, "lb").update(colour="red"), "nodes[1].colour",
     "unknown field"),
    ("unknown kind", lambda d: node(d, "db").update(kind="mainframe"), "nodes[4].kind",
     "unknown kind 'mainframe'"),
    ("no kind", lambda d: node(d, "db").pop("kind"), "nodes[4].kind", "required"),
    ("params not an object", lambda d: node(d, "db").update(params=[]), "nodes[4].params",
     "must be an object"),
    ("unknown parameter", setp("api", "worker", 3), "nodes[2].params.worker",
     "did you mean 'workers'"),
    ("parameter of another kind", setp("db", "workers", 3), "nodes[4].params.workers",
     "unknown parameter for a database"),
    # types
    ("integer as text", setp("api", "workers", "16"), "nodes[2].params.workers",
     "must be an integer, not a string"),
    ("boolean for an integer", setp("api", "workers", True), "nodes[2].params.workers",
     "not a boolean"),
    ("boolean for a number", setp("guests", "rps", False), "nodes[0].params.rps",
     "not a boolean"),
    ("fraction for an integer", setp("api", "workers", 1.5), "nodes[2].params.workers",
     "integer"),
    ("null where not allowed", setp("api", "workers", None), "nodes[2].params.workers",
     "must not be null"),
    ("text for a boolean", setp("api", "replace", "yes"), "nodes[2].params.replace",
     "true or false"),
    ("unknown algorithm", setp("lb", "algorithm", "fastest"), "nodes[1].params.algorithm",
     "one of round_robin"),
    ("unknown workflow", setp("guests", "workflow", "chat"), "nodes[0].params.workflow",
     "one of stateless"),
    ("serverless with local state", both(add_nodes({"id": "fn", "kind": "serverless",
                                                    "params": {"state": "local"}})),
     "nodes[5].params.state", "one of none, external, token"),
    # ranges
    ("zero workers", setp("api", "workers", 0), "nodes[2].params.workers", "must be >= 1"),
    ("too many instances", setp("api", "instances", 1001), "nodes[2].params.instances",
     "must be <= 1000"),
    ("negative rps", setp("guests", "rps", -1), "nodes[0].params.rps", "must be >= 0"),
    ("rps above a million", setp("guests", "rps", 2e6), "nodes[0].params.rps",
     "must be <= 1000000"),
    ("no users", setp("guests", "users", 0), "nodes[0].params.users", "must be >= 1"),
    ("eleven retries", setp("guests", "retries", 11), "nodes[0].params.retries",
     "must be <= 10"),
    ("one part", setp("guests", "parts", 1), "nodes[0].params.parts", "must be >= 2"),
    ("zero timeout", setp("guests", "timeout_ms", 0), "nodes[0].params.timeout_ms",
     "must be >= 1"),
    ("long health check", setp("lb", "health_check_s", 301), "nodes[1].params.health_check_s",
     "must be <= 300"),
    ("negative cost", setp("db", "cost_per_hour", -0.5), "nodes[4].params.cost_per_hour",
     "must be >= 0"),
    ("number beyond 1e9", setp("db", "cost_per_hour", 2e9), "nodes[4].params.cost_per_hour",
     "must be <= 1000000000"),
    ("hit ratio above 1", setp("redis", "hit_ratio", 1.5), "nodes[3].params.hit_ratio",
     "must be <= 1"),
    ("negative queue", setp("api", "queue", -1), "nodes[2].params.queue", "must be >= 0"),
    ("huge integer", setp("api", "workers", 10**30), "nodes[2].params.workers",
     "must be <= 10000"),
    ("huge integer for a number", setp("guests", "rps", 10**400), "nodes[0].params.rps",
     "must be <= 1000000"),
    ("NaN", setp("guests", "rps", float("nan")), "nodes[0].params.rps", "finite"),
    ("infinity", setp("db", "cost_per_hour", float("inf")), "nodes[4].params.cost_per_hour",
     "finite"),
    ("infinite integer parameter", setp("api", "workers", float("-inf")),
     "nodes[2].params.workers", "finite"),
    # distributions
    ("negative mean", setp("api", "service_ms", -3), "nodes[2].params.service_ms",
     "must be >= 0"),
    ("distribution as text", setp("api", "service_ms", "12ms"), "nodes[2].params.service_ms",
     "number or a distribution"),
    ("distribution as boolean", setp("api", "service_ms", True), "nodes[2].params.service_ms",
     "not a boolean"),
    ("unknown distribution", setp("api", "service_ms", {"dist": "gamma", "mean": 1}),
     "nodes[2].params.service_ms.dist", "one of exp"),
    ("distribution without dist", setp("api", "service_ms", {"mean": 1}),
     "nodes[2].params.service_ms.dist", "required"),
    ("lognormal without cv", setp("api", "service_ms", {"dist": "lognormal", "mean": 5}),
     "nodes[2].params.service_ms.cv", "required"),
    ("zero cv", setp("api", "service_ms", {"dist": "lognormal", "mean": 5, "cv": 0}),
     "nodes[2].params.service_ms.cv", "must be > 0"),
    ("negative distribution mean", setp("api", "service_ms", {"dist": "const", "mean": -1}),
     "nodes[2].params.service_ms.mean", "must be >= 0"),
    ("erlang with k 0", setp("api", "service_ms", {"dist": "erlang", "mean": 5, "k": 0}),
     "nodes[2].params.service_ms.k", "must be >= 1"),
    ("erlang with fractional k", setp("api", "service_ms", {"dist": "erlang", "mean": 5,
                                                            "k": 1.5}),
     "nodes[2].params.service_ms.k", "integer"),
    ("uniform with min above max", setp("api", "service_ms", {"dist": "uniform", "min": 5,
                                                              "max": 1}),
     "nodes[2].params.service_ms.max", "must be >= min"),
    ("negative uniform min", setp("api", "service_ms", {"dist": "uniform", "min": -1,
                                                        "max": 1}),
     "nodes[2].params.service_ms.min", "must be >= 0"),
    ("unknown distribution field", setp("api", "service_ms", {"dist": "exp", "mean": 1,
                                                              "sigma": 2}),
     "nodes[2].params.service_ms.sigma", "unknown field"),
    ("mean on a uniform", setp("api", "service_ms", {"dist": "uniform", "min": 1, "max": 2,
                                                     "mean": 1.5}),
     "nodes[2].params.service_ms.mean", "unknown field"),
    # lists and objects in params
    ("unknown retry cause", setp("guests", "retry_on", ["timeout", "boredom"]),
     "nodes[0].params.retry_on[1]", "one of overload"),
    ("cause listed twice", setp("guests", "retry_on", ["timeout", "timeout"]),
     "nodes[0].params.retry_on[1]", "twice"),
    ("retry_on not a list", setp("guests", "retry_on", "timeout"), "nodes[0].params.retry_on",
     "list of error causes"),
    ("autoscale not an object", setp("api", "autoscale", 5), "nodes[2].params.autoscale",
     "must be an object"),
    ("autoscale min above max", setp("api", "autoscale", {"min": 3, "max": 2,
                                                          "target_utilization": 0.5}),
     "nodes[2].params.autoscale.max", "must be >= min"),
    ("autoscale without target", setp("api", "autoscale", {"min": 1, "max": 2}),
     "nodes[2].params.autoscale.target_utilization", "required"),
    ("autoscale target of 0", setp("api", "autoscale", {"min": 1, "max": 2,
                                                        "target_utilization": 0}),
     "nodes[2].params.autoscale.target_utilization", "must be > 0"),
    ("autoscale unknown field", setp("api", "autoscale", {"min": 1, "max": 2,
                                                          "target_utilization": 0.5,
                                                          "step": 1}),
     "nodes[2].params.autoscale.step", "unknown field"),
    # edges
    ("edge not an object", lambda d: d["edges"].append("a->b"), "edges[4]", "must be an object"),
    ("edge to an unknown node", lambda d: d["edges"][3].update(to="dbx"), "edges[3].to",
     "unknown node 'dbx'"),
    ("edge from an unknown node", lambda d: d["edges"][3].update({"from": "apx"}),
     "edges[3].from", "unknown node 'apx'"),
    ("edge without to", lambda d: d["edges"][3].pop("to"), "edges[3].to", "required"),
    ("edge end not text", lambda d: d["edges"][3].update(to=5), "edges[3].to", "node id"),
    ("unknown edge field", lambda d: d["edges"][3].update(weight=2), "edges[3].weight",
     "unknown field"),
    ("calls above 100", lambda d: d["edges"][3].update(calls=101), "edges[3].calls",
     "must be <= 100"),
    ("negative calls", lambda d: d["edges"][3].update(calls=-1), "edges[3].calls",
     "must be >= 0"),
    ("unknown mode", lambda d: d["edges"][3].update(mode="maybe"), "edges[3].mode",
     "one of sync, async"),
    ("eleven edge retries", lambda d: d["edges"][3].update(retries=11), "edges[3].retries",
     "must be <= 10"),
    ("negative edge timeout", lambda d: d["edges"][3].update(timeout_ms=-1),
     "edges[3].timeout_ms", "must be >= 0"),
    ("bad edge latency", lambda d: d["edges"][3].update(latency_ms={"dist": "uniform"}),
     "edges[3].latency_ms.min", "required"),
    # which kind may call which
    ("client with two edges", add_edges({"from": "guests", "to": "api"}), "nodes[0]",
     "exactly one outgoing edge (has 2)"),
    ("client with no edge", lambda d: d["edges"].pop(0), "nodes[0]",
     "exactly one outgoing edge (has 0)"),
    ("client edge with calls 2", lambda d: d["edges"][0].update(calls=2), "edges[0].calls",
     "must be 1"),
    ("client calling a queue", both(add_nodes(QUEUE, WORKER),
                                    lambda d: d["edges"][0].update(to="q"),
                                    add_edges({"from": "q", "to": "w"})),
     "edges[0].to", "a client cannot call a queue"),
    ("client calling a worker", both(add_nodes(WORKER), lambda d: d["edges"][0].update(to="w")),
     "edges[0].to", "a client cannot call a worker"),
    ("load balancer to a database", lambda d: d["edges"][1].update(to="db"), "edges[1].to",
     "a load balancer cannot call a database"),
    ("load balancer with calls 2", lambda d: d["edges"][1].update(calls=2), "edges[1].calls",
     "must be 1"),
    ("load balancer with no edge", lambda d: d["edges"].pop(1), "nodes[1]",
     "exactly one outgoing edge to a service or serverless (has 0)"),
    ("load balancer with two edges", both(add_nodes(SVC), add_edges({"from": "lb",
                                                                     "to": "svc"})),
     "nodes[1]", "(has 2)"),
    ("database calling", add_edges({"from": "db", "to": "api"}), "edges[4]",
     "a database calls nothing"),
    ("state store calling", add_edges({"from": "redis", "to": "db"}), "edges[4]",
     "a state store calls nothing"),
    ("object storage calling", both(add_nodes({"id": "s3", "kind": "object_storage"}),
                                    add_edges({"from": "s3", "to": "db"})),
     "edges[4]", "an object storage calls nothing"),
    ("external calling", both(add_nodes({"id": "psp", "kind": "external"}),
                              add_edges({"from": "psp", "to": "db"})),
     "edges[4]", "an external calls nothing"),
    ("nothing calls a client", add_edges({"from": "api", "to": "guests"}), "edges[4].to",
     "nothing may call a client"),
    ("queue calling a service", both(add_nodes(QUEUE), add_edges({"from": "q", "to": "api"})),
     "edges[4].to", "a queue cannot call a service"),
    ("queue with no edge", add_nodes(QUEUE), "nodes[5]", "to a worker (has 0)"),
    ("queue with two edges", both(add_nodes(QUEUE, WORKER, dict(WORKER, id="w2")),
                                  add_edges({"from": "q", "to": "w"},
                                            {"from": "q", "to": "w2"})),
     "nodes[5]", "(has 2)"),
    ("async to a database", lambda d: d["edges"][3].update(mode="async"), "edges[3].mode",
     "an asynchronous edge must go to a queue"),
    ("async from a client", lambda d: d["edges"][0].update(mode="async"), "edges[0].mode",
     "only a service, serverless or worker calls asynchronously, not a client"),
    ("async from a queue", both(add_nodes(QUEUE, WORKER),
                                add_edges({"from": "q", "to": "w", "mode": "async"})),
     "edges[4].mode", "not a queue"),
    ("cache calling a worker", both(add_nodes(CACHE, WORKER),
                                    add_edges({"from": "cache", "to": "w"})),
     "edges[4].to", "a cache store cannot call a worker"),
    ("cdn calling a queue", both(add_nodes({"id": "cdn", "kind": "cdn"}, QUEUE, WORKER),
                                 add_edges({"from": "cdn", "to": "q"}, {"from": "q", "to": "w"})),
     "edges[4].to", "a cdn cannot call a queue"),
    # cycles
    ("a service calling itself", add_edges({"from": "api", "to": "api"}), "edges[4]",
     "synchronous calls form a cycle: api -> api"),
    ("two services calling each other", both(add_nodes(SVC), add_edges(
        {"from": "api", "to": "svc"}, {"from": "svc", "to": "api"})), "edges[4]",
     "synchronous calls form a cycle: api -> svc -> api"),
    ("a worker feeding its own queue", both(add_nodes(QUEUE, WORKER), add_edges(
        {"from": "q", "to": "w"}, {"from": "w", "to": "q", "mode": "async"})), "edges[4]",
     "asynchronous hand-offs form a cycle: q -> w -> q"),
    ("a worker calling the service that feeds it", both(add_nodes(QUEUE, WORKER), add_edges(
        {"from": "api", "to": "q", "mode": "async"}, {"from": "q", "to": "w"},
        {"from": "w", "to": "api"})), "edges[4]",
     "asynchronous hand-offs form a cycle: api -> q -> w -> api"),
    # where state lives
    ("two state owners on one path", both(add_nodes(dict(SVC, params={"state": "local"})),
                                          add_edges({"from": "api", "to": "svc"})),
     "nodes[5].params.state", "client 'guests' reaches 2 state owners, 'api' and 'svc'"),
    ("external state with no state edge", lambda d: d["edges"].pop(2), "nodes[2].params.state",
     "exactly one synchronous edge to a state store or an object_storage (has 0)"),
    ("external state with two state edges", both(
        add_nodes({"id": "s3", "kind": "object_storage"}), add_edges({"from": "api",
                                                                      "to": "s3"})),
     "nodes[2].params.state", "(has 2)"),
    ("external state through a cache", setp("redis", "role", "cache"), "nodes[2].params.state",
     "(has 0)"),
    ("state access called sometimes", lambda d: d["edges"][2].update(calls=0.5),
     "edges[2].calls", "must be 1: this edge is the state access"),
    # scenario
    ("scenario not an object", lambda d: d.update(scenario=[]), "scenario", "must be an object"),
    ("unknown scenario field", scenario(speed=2), "scenario.speed", "unknown field"),
    ("zero duration", scenario(duration_s=0), "scenario.duration_s", "must be >= 1"),
    ("duration over a day", scenario(duration_s=86401), "scenario.duration_s",
     "must be <= 86400"),
    ("duration off the ticks", scenario(duration_s=120.5), "scenario.duration_s",
     "multiple of tick_s"),
    ("warmup off the ticks", scenario(warmup_s=2.5), "scenario.warmup_s", "multiple of tick_s"),
    ("warmup as long as the run", scenario(warmup_s=120), "scenario.warmup_s",
     "must be < duration_s"),
    ("zero tick", scenario(tick_s=0), "scenario.tick_s", "must be > 0"),
    ("more than 3600 frames", scenario(duration_s=7200, tick_s=1, events=[], traffic=[]),
     "scenario.tick_s", "at most 3,600 frames"),
    ("negative seed", scenario(seed=-1), "scenario.seed", "must be >= 0"),
    ("seed with a fraction", scenario(seed=1.5), "scenario.seed", "integer"),
    ("seed as text", scenario(seed="7"), "scenario.seed", "integer"),
    ("traffic not a list", scenario(traffic={}), "scenario.traffic", "must be a list"),
    ("traffic step without multiplier", scenario(traffic=[{"at_s": 1}]),
     "scenario.traffic[0].multiplier", "required"),
    ("traffic step after the end", scenario(traffic=[{"at_s": 120, "multiplier": 2}]),
     "scenario.traffic[0].at_s", "within the run"),
    ("negative multiplier", scenario(traffic=[{"at_s": 1, "multiplier": -1}]),
     "scenario.traffic[0].multiplier", "must be >= 0"),
    ("negative ramp", scenario(traffic=[{"at_s": 1, "multiplier": 1, "ramp_s": -1}]),
     "scenario.traffic[0].ramp_s", "must be >= 0"),
    ("unknown traffic field", scenario(traffic=[{"at_s": 1, "multiplier": 1, "node": "api"}]),
     "scenario.traffic[0].node", "unknown field"),
    ("too many traffic steps", scenario(traffic=[{"at_s": 1, "multiplier": 1}] * 1001),
     "scenario.traffic", "at most 1,000 traffic steps"),
    # events
    ("events not a list", scenario(events="boom"), "scenario.events", "must be a list"),
    ("unknown action", event(at_s=1, action="reboot", node="api"), "scenario.events[1].action",
     "one of kill_instance"),
    ("event without node", event(at_s=1, action="outage", duration_s=5),
     "scenario.events[1].node", "required"),
    ("event on an unknown node", event(at_s=1, action="outage", node="ghost", duration_s=5),
     "scenario.events[1].node", "unknown node 'ghost'"),
    ("kill on a database", event(at_s=1, action="kill_instance", node="db"),
     "scenario.events[1].node", "kill_instance fits a service, not a database"),
    ("scale on a store", event(at_s=1, action="scale", node="redis", instances=3),
     "scenario.events[1].node", "scale fits a service"),
    ("flush on a state store", event(at_s=1, action="flush_cache", node="redis"),
     "scenario.events[1].node", "flush_cache fits a cache store or a cdn, not a state store"),
    ("outage on a client", event(at_s=1, action="outage", node="guests", duration_s=5),
     "scenario.events[1].node", "not a client"),
    ("event after the end", event(at_s=120, action="kill_instance", node="api"),
     "scenario.events[1].at_s", "within the run"),
    ("event without time", event(action="kill_instance", node="api"), "scenario.events[1].at_s",
     "required"),
    ("outage without duration", event(at_s=1, action="outage", node="db"),
     "scenario.events[1].duration_s", "required"),
    ("scale without instances", event(at_s=1, action="scale", node="api"),
     "scenario.events[1].instances", "required"),
    ("kill of zero instances", event(at_s=1, action="kill_instance", node="api", count=0),
     "scenario.events[1].count", "must be >= 1"),
    ("slowdown by 0", event(at_s=1, action="slowdown", node="db", factor=0, duration_s=5),
     "scenario.events[1].factor", "must be > 0"),
    ("drain as text", event(at_s=1, action="rolling_deploy", node="api", drain="yes"),
     "scenario.events[1].drain", "true or false"),
    ("field of another action", event(at_s=1, action="kill_instance", node="api", factor=2),
     "scenario.events[1].factor", "unknown field"),
    # layout
    ("layout not an object", lambda d: d.update(layout=[]), "layout", "must be an object"),
    ("layout of an unknown node", lambda d: d["layout"].update(ghost={"x": 1, "y": 2}),
     "layout.ghost", "unknown node"),
    ("layout x as text", lambda d: d["layout"]["guests"].update(x="40"), "layout.guests.x",
     "must be a number"),
    ("layout without y", lambda d: d["layout"]["guests"].pop("y"), "layout.guests.y",
     "required"),
    ("layout with infinity", lambda d: d["layout"]["guests"].update(x=float("inf")),
     "layout.guests.x", "finite"),
    ("layout with an unknown field", lambda d: d["layout"]["guests"].update(z=1),
     "layout.guests.z", "unknown field"),
    ("layout position not an object", lambda d: d["layout"].update(guests=[1, 2]),
     "layout.guests", "must be an object"),
    ("layout key that is no id", lambda d: d["layout"].update({"my node": {"x": 1, "y": 1}}),
     'layout["my node"]', "unknown node"),
    # site bounds
    ("201 nodes", lambda d: d["nodes"].extend({"id": f"x{i}", "kind": "object_storage"}
                                              for i in range(196)),
     "nodes", "at most 200 nodes (has 201)"),
    ("1001 edges", lambda d: d["edges"].extend([{"from": "api", "to": "db"}] * 997), "edges",
     "at most 1,000 edges (has 1,001)"),
    ("too many expected requests", both(setp("guests", "rps", 1e6),
                                        scenario(duration_s=3600)),
     "scenario.duration_s", "limit is 10,000,000"),
]


@pytest.mark.parametrize(("mutate", "path", "words"), [b[1:] for b in BAD],
                         ids=[b[0] for b in BAD])
def test_a_bad_document_is_reported_at_the_field_at_fault(mutate, path, words):
    doc = copy.deepcopy(EXAMPLE)
    mutate(doc)
    problems = validate(doc)
    at_path = [p for p in problems if p.path == path]
    assert at_path, f"no problem at {path!r}; got {[str(p) for p in problems]}"
    assert any(words in p.message for p in at_path), [str(p) for p in at_path]
    assert all(resolves(doc, p) for p in problems), [str(p) for p in problems]
    with pytest.raises(DocumentError) as raised:
        load(doc)
    assert raised.value.problems == problems


@pytest.mark.parametrize("obj", [[], "doc", 3, None, True], ids=repr)
def test_a_document_that_is_not_an_object_is_one_problem(obj):
    problems = validate(obj)
    assert len(problems) == 1
    assert problems[0].path == ""
    assert problems[0].message.startswith("must be an object, not ")


def test_every_problem_is_reported_at_once(example):
    params(example, "api")["workers"] = 0
    params(example, "guests")["rps"] = "many"
    example["edges"][3]["to"] = "nowhere"
    example["scenario"]["duration_s"] = 0
    paths = [p.path for p in validate(example)]
    assert paths == ["nodes[0].params.rps", "nodes[2].params.workers", "edges[3].to",
                     "scenario.duration_s"]


def test_a_problem_reads_path_colon_reason():
    assert str(Problem("nodes[2].params.workers", "must be >= 1")) == \
        "nodes[2].params.workers: must be >= 1"
    assert str(Problem("", "must be an object")) == "(document): must be an object"


def test_a_node_with_bad_params_is_not_also_called_unknown(example):
    params(example, "db")["connections"] = 0
    assert [p.path for p in validate(example)] == ["nodes[4].params.connections"]


def test_two_owners_are_reported_once_even_for_several_clients(example):
    example["nodes"].append({"id": "svc", "kind": "service", "params": {"state": "token"}})
    example["nodes"].append({"id": "mobile", "kind": "client"})
    example["edges"] += [{"from": "api", "to": "svc"}, {"from": "mobile", "to": "lb"}]
    owners = [p for p in validate(example) if "state owners" in p.message]
    assert len(owners) == 1


def test_owners_on_separate_clients_paths_are_fine(example):
    example["nodes"] += [{"id": "admin", "kind": "client"},
                         {"id": "back", "kind": "service", "params": {"state": "local"}}]
    example["edges"].append({"from": "admin", "to": "back"})
    assert validate(example) == []


def test_an_unreachable_node_is_allowed(example):
    example["nodes"].append({"id": "spare", "kind": "service"})
    assert validate(example) == []


def test_the_expected_request_cap_counts_ramps_and_is_configurable(example):
    # 500 rps for 120 s with a step to 3x from 60 s ramped over 10 s:
    # 60 s x 1 + 10 s x 2 (mean of the ramp) + 50 s x 3 = 230 multiplier-seconds, 115,000 requests.
    assert validate(example, Limits(max_expected_requests=115_000)) == []
    problems = validate(example, Limits(max_expected_requests=114_999))
    assert [p.path for p in problems] == ["scenario.duration_s"]
    assert "115,000 requests" in problems[0].message


def test_fan_out_beyond_the_cap_is_refused(example):
    example["edges"][3]["calls"] = 100
    example["nodes"].append({"id": "svc", "kind": "service"})
    example["edges"].append({"from": "api", "to": "svc", "calls": 100})
    example["edges"].append({"from": "svc", "to": "db", "calls": 100})
    problems = validate(example, Limits(max_work=math.inf))
    assert [p.path for p in problems] == ["nodes[0]"]
    assert "calls downstream" in problems[0].message
    assert validate(example, Limits(max_calls_per_request=1e6, max_work=math.inf)) == []


def test_the_work_estimate_counts_every_call_with_retries_at_their_worst(example):
    # 115,000 requests (see above). Per request: the client's attempt, then lb, api, redis and
    # 0.3 db calls: 4.3 calls.
    assert estimate_document(load(example)).calls == pytest.approx(115_000 * 4.3)
    # Two client retries (3 attempts) and three retries on api -> db (4 tries of 0.3 calls):
    # W(api) = 1 + 0.3 x 4 = 2.2, W(lb) = 3.2, W(guests) = 4.2: 5.2 calls per attempt, 15.6 per request.
    example["nodes"][0]["params"]["retries"] = 2
    example["edges"][3]["retries"] = 3
    assert estimate_document(load(example)).calls == pytest.approx(115_000 * 15.6)


def test_work_over_the_limit_is_refused_naming_the_estimate_and_the_limit(example):
    example["edges"][3]["calls"] = 31
    example["nodes"].append({"id": "svc", "kind": "service"})
    example["edges"].append({"from": "api", "to": "svc", "calls": 31})
    example["edges"].append({"from": "svc", "to": "db", "calls": 31})
    # W(svc) = 31, W(api) = 1 + 31 + 31 x 32 = 1,024; 1,027 calls per request.
    assert estimate_document(load(example, Limits(max_calls_per_request=1e6, max_work=math.inf))).calls_per_request == pytest.approx(1027)
    problems = validate(example, Limits(max_calls_per_request=1e6, max_work=100_000_000))
    assert [p.path for p in problems] == ["scenario"]
    assert "about 118,105,000 calls at worst" in problems[0].message
    assert "1,027.0 calls each" in problems[0].message
    assert "at most 100,000,000 calls per run" in problems[0].message
    assert validate(example, Limits(max_calls_per_request=1e6, max_work=118_105_000)) == []


def test_the_node_and_edge_caps_are_configurable(example):
    problems = validate(example, Limits(max_nodes=4, max_edges=3))
    assert {p.path for p in problems} >= {"nodes", "edges"}


@pytest.mark.parametrize("kind", ["service", "serverless", "worker"])
def test_services_serverless_and_workers_may_hand_off_to_a_queue(example, kind):
    example["nodes"] += [{"id": "src", "kind": kind}, {"id": "q", "kind": "queue"},
                         {"id": "w", "kind": "worker"}]
    example["edges"] += [{"from": "src", "to": "q", "mode": "async"}, {"from": "q", "to": "w"}]
    assert validate(example) == []


@pytest.mark.parametrize("target", ["cache", "cdn"])
def test_flush_cache_fits_a_cache_store_and_a_cdn(example, target):
    example["nodes"] += [{"id": "cache", "kind": "store", "params": {"role": "cache"}},
                         {"id": "cdn", "kind": "cdn"}]
    example["scenario"]["events"].append({"at_s": 5, "action": "flush_cache", "node": target})
    assert validate(example) == []


def test_the_kitchen_sink_is_valid():
    assert validate(KITCHEN_SINK) == []


@pytest.mark.parametrize("obj", [
    {f"k{i}": 0 for i in range(80_000)},
    {"nodes": [{"id": "a", "kind": "service", "params": {f"wrkrs{i}": 0 for i in range(60_000)}}]},
    {"nodes": [{"id": "c", "kind": "client", "params": {"retry_on": ["timeout"] * 90_000}}]},
    {"nodes": [], "layout": {f"n{i}": {"x": 1, "y": 1} for i in range(30_000)}},
    {"nodes": [], "x" * 1_000_000: 1},
], ids=["unknown-keys", "unknown-params", "long-list", "layout", "long-key"])
def test_a_hostile_mebibyte_is_validated_quickly_with_short_paths(obj):
    import time

    started = time.perf_counter()
    problems = validate(obj)
    assert time.perf_counter() - started < 2
    assert problems
    assert all(len(p.path) < 200 for p in problems)


@pytest.mark.parametrize(("mutate", "path"), [
    (lambda d: d["edges"][0].update(calls="one"), "edges[0].calls"),
    (lambda d: params(d, "lb").update(algorithm="best"), "nodes[1].params.algorithm"),
    (lambda d: d["edges"][2].update(retries=-1), "edges[2].retries"),
    (lambda d: params(d, "redis").update(capacity=-1), "nodes[3].params.capacity"),
], ids=["client-edge-field", "balancer-params", "state-edge-field", "state-store-params"])
def test_a_bad_edge_or_node_is_reported_once_not_again_as_a_missing_edge(example, mutate, path):
    mutate(example)
    assert [p.path for p in validate(example)] == [path]


def test_a_seed_is_at_most_what_a_browser_carries_exactly(example):
    example["scenario"]["seed"] = 2**53 - 1
    assert validate(example) == []
    example["scenario"]["seed"] = 2**53
    assert [str(p) for p in validate(example)] == ["scenario.seed: must be <= 9007199254740991"]


def test_a_tangle_of_cycles_is_summed_up_after_ten(example):
    example["nodes"] += [{"id": f"s{i}", "kind": "service"} for i in range(6)]
    example["edges"] += [{"from": f"s{i}", "to": f"s{j}"} for i in range(6) for j in range(6)
                         if i != j]
    problems = [p for p in validate(example) if "cycle" in p.message]
    assert len(problems) == 11
    assert problems[-1].path == "edges"
    assert problems[-1].message.startswith("synchronous calls form ")
    assert problems[-1].message.endswith(" more cycles")


def test_load_takes_a_document_as_it_is(example):
    doc = load(example)
    assert load(doc) is doc
