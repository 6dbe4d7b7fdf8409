"""The parameter table of SCHEMA.md as data: every field a document may set, with its type,
default, range, allowed values, unit and a line of help.

The editor builds its forms from it and the reference page prints it; validation (``schema.py``)
checks values against it, so a parameter exists exactly when it is listed here.

Terms
-----
Param
    One field. ``type`` is one of:

    - ``int``: an integer (a float with no fraction is accepted; a boolean never is);
    - ``number``: a finite number;
    - ``bool``, ``string``;
    - ``enum``: one of ``choices``;
    - ``dist``: a duration distribution in milliseconds, a number (the mean of an exponential) or
      an object of ``DIST_FIELDS``; ``min``/``max`` bound its mean;
    - ``causes``: a list of distinct error causes;
    - ``object``: a nested object whose fields are ``fields`` (``autoscale``); its default is
      null (none) or, for a canary's ``gate``, its fields' defaults.

    ``nullable`` means ``null`` is a value (its meaning is in ``help``); ``required`` means there
    is no default. Where SCHEMA.md gives no range, a number is ``>= 0`` and ``<= 1e9``.
section
    Which part of a document a table describes: ``node`` (per kind), ``edge``, ``scenario``,
    ``traffic``, ``event`` (per action), ``control``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from playground.engine.document import ERROR_CAUSES

#: The bound on any number SCHEMA.md gives no range for.
BIG = 1e9


@dataclass(frozen=True)
class Param:
    name: str
    type: str
    default: Any
    help: str
    unit: str = ""
    min: float | None = None
    max: float | None = None
    min_exclusive: bool = False
    max_exclusive: bool = False
    choices: tuple[str, ...] = ()
    nullable: bool = False
    required: bool = False
    fields: tuple[Param, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able description, for forms and the reference page."""
        out: dict[str, Any] = {
            "name": self.name,
            "type": self.type,
            "default": list(self.default) if isinstance(self.default, tuple)
            else dict(self.default) if isinstance(self.default, Mapping) else self.default,
            "help": self.help,
            "unit": self.unit,
            "min": self.min,
            "max": self.max,
            "min_exclusive": self.min_exclusive,
            "max_exclusive": self.max_exclusive,
            "choices": list(self.choices),
            "nullable": self.nullable,
            "required": self.required,
        }
        if self.fields:
            out["fields"] = [f.to_dict() for f in self.fields]
        return out


def _int(name: str, default: Any, help: str, unit: str = "", lo: float = 0, hi: float = BIG,
         **kw: Any) -> Param:
    return Param(name, "int", default, help, unit, min=lo, max=hi, **kw)


def _num(name: str, default: Any, help: str, unit: str = "", lo: float = 0, hi: float = BIG,
         **kw: Any) -> Param:
    return Param(name, "number", default, help, unit, min=lo, max=hi, **kw)


def _dist(name: str, default: float, help: str) -> Param:
    return Param(name, "dist", default, help, "ms", min=0, max=BIG)


def _enum(name: str, choices: tuple[str, ...], help: str) -> Param:
    return Param(name, "enum", choices[0], help, choices=choices)


def _cost(default: float, per: str = "hour") -> Param:
    if per == "hour":
        return _num("cost_per_hour", default, "What one instance costs while it runs.", "$/hour")
    return _num("cost_per_million", default, "What a million invocations cost.",
                "$/million invocations")


DIST_KINDS = ("exp", "const", "lognormal", "uniform", "erlang")

#: The fields of a distribution object, by ``dist``; every field listed is required.
DIST_FIELDS: Mapping[str, tuple[Param, ...]] = MappingProxyType({
    "exp": (_num("mean", None, "Mean.", "ms", required=True),),
    "const": (_num("mean", None, "The one value.", "ms", required=True),),
    "lognormal": (
        _num("mean", None, "Mean.", "ms", required=True),
        _num("cv", None, "Coefficient of variation (standard deviation / mean).", lo=0, hi=100,
             min_exclusive=True, required=True),
    ),
    "uniform": (
        _num("min", None, "Smallest value.", "ms", required=True),
        _num("max", None, "Largest value (at least min).", "ms", required=True),
    ),
    "erlang": (
        _num("mean", None, "Mean.", "ms", required=True),
        _int("k", None, "Number of exponential phases.", lo=1, hi=1000, required=True),
    ),
})

AUTOSCALE_FIELDS: tuple[Param, ...] = (
    _int("min", None, "Fewest instances.", "instances", lo=1, hi=1000, required=True),
    _int("max", None, "Most instances (at least min).", "instances", lo=1, hi=1000,
         required=True),
    _num("target_utilization", None, "The utilization the fleet is sized for.", lo=0, hi=1,
         min_exclusive=True, required=True),
    _num("cooldown_s", 300, "No change within this long of the last one.", "s"),
    _num("eval_s", 60, "How often the desired count is computed, over this window.", "s",
         min_exclusive=True),
)

#: A retry budget (an edge's, or a client's for its own retries): a token bucket.
RETRY_BUDGET_FIELDS: tuple[Param, ...] = (
    _num("ratio", 0.1, "Tokens each first attempt deposits; a retry spends one.", lo=0, hi=10),
    _num("min_per_s", 10, "Tokens that arrive every second whatever the traffic.", "tokens/s",
         lo=0, hi=1e6),
)

#: A client's adaptive throttle (Google SRE book, "Handling Overload").
ADAPTIVE_THROTTLE_FIELDS: tuple[Param, ...] = (
    _num("k", 2, "Attempts allowed per accepted one before the client starts to reject.",
         lo=1, hi=100),
    _num("window_s", 60, "The window of attempts and accepts it counts.", "s", lo=1, hi=3600),
)

#: A service's rate limit: a token bucket for its arrivals.
RATE_LIMIT_FIELDS: tuple[Param, ...] = (
    _num("rps", None, "Arrivals let through per second, on average.", "requests/s", lo=0,
         hi=1e9, min_exclusive=True, required=True),
    _num("burst", None, "Tokens the bucket holds at most; null: rps (one second's worth).",
         "requests", lo=1, hi=1e9, nullable=True),
)

#: An edge's circuit breaker (docs/schema.md "Resilience": how the engine reads it).
CIRCUIT_BREAKER_FIELDS: tuple[Param, ...] = (
    _num("failure_ratio", 0.5, "The failed share of the window's calls that opens the breaker.",
         lo=0, hi=1),
    _int("min_calls", 20, "Calls the window must hold before the breaker may open.", "calls",
         lo=1, hi=1e6),
    _num("window_s", 10, "The window of completed calls the breaker counts.", "s", lo=0.1,
         hi=3600),
    _num("open_s", 5, "How long the breaker stays open before it lets probe calls through.",
         "s", lo=0.1, hi=3600),
    _int("half_open_calls", 3, "Probe calls let through half-open; all must succeed to close.",
         "calls", lo=1, hi=1000),
)


#: A release (SCHEMA.md's extensions): the new version a deploy brings.
RELEASE_FIELDS: tuple[Param, ...] = (
    _num("error_rate", 0, "Share of the new version's requests that fail error after their work.",
         hi=1),
    _num("slowdown", 1, "Factor on the new version's service times.", "x", lo=0.01, hi=1000),
)

#: A canary's gate: what its own requests may show at most for the deploy to go on.
GATE_FIELDS: tuple[Param, ...] = (
    _num("max_error_ratio", 0.01, "Share of the canary's requests that may fail.", hi=1),
    _num("max_p99_ms", None, "The canary's p99 latency at the node may be at most this; null: "
         "not checked.", "ms", hi=3600000, nullable=True),
)


def _release() -> Param:
    return Param("release", "object", None, "The new version: its error rate and slowdown; "
                 "null: it behaves as the old.", nullable=True, fields=RELEASE_FIELDS)


_WORKFLOWS = ("stateless", "session", "upload", "payment")

NODE_PARAMS: Mapping[str, tuple[Param, ...]] = MappingProxyType({
    "client": (
        _num("rps", 100, "Requests emitted per second (times the traffic multiplier).",
             "requests/s", hi=1e6),
        _int("users", 1000, "Distinct users; each request belongs to one, drawn uniformly.",
             "users", lo=1, hi=1e7),
        _enum("workflow", _WORKFLOWS, "What a user is doing, and so what a lost state means."),
        _num("timeout_ms", None, "The client gives up on an attempt after this long; null: never.",
             "ms", lo=1, hi=600000, nullable=True),
        _int("retries", 0, "How many times a failed request is tried again.", lo=0, hi=10),
        Param("retry_on", "causes", ("timeout",), "Which error causes are retried.",
              choices=ERROR_CAUSES),
        _num("backoff_ms", 100, "Base of the exponential backoff with full jitter between tries.",
             "ms"),
        Param("retry_budget", "object", None,
              "A token bucket for the client's own retries; null: every retry is made.",
              nullable=True, fields=RETRY_BUDGET_FIELDS),
        Param("adaptive_throttle", "object", None,
              "Client-side throttling: rejects an attempt locally, failing rate_limited, with "
              "probability max(0, (requests - k x accepts) / (requests + 1)); null: off.",
              nullable=True, fields=ADAPTIVE_THROTTLE_FIELDS),
        Param("idempotency_keys", "bool", False, "A retried payment carries an idempotency key."),
        _int("parts", 4, "Requests per upload (upload workflow).", "parts", lo=2, hi=100),
    ),
    "load_balancer": (
        _enum("algorithm", ("round_robin", "random", "least_connections", "sticky"),
              "How the balancer picks an instance."),
        _num("health_check_s", 5, "How long a dead instance keeps receiving requests.", "s",
             hi=300),
        _dist("latency_ms", 0.1, "Delay the balancer adds."),
        _cost(0.025),
    ),
    "service": (
        _int("instances", 2, "Instances running at the start.", "instances", lo=1, hi=1000),
        _int("workers", 16, "Requests one instance serves at once.", "workers", lo=1, hi=10000),
        _int("queue", 64, "Requests waiting per instance; null: unbounded.", "requests", hi=1e6,
             nullable=True),
        _dist("service_ms", 10, "Time one request takes on a worker, before downstream calls."),
        _enum("state", ("none", "local", "external", "token"),
              "Where this service keeps its clients' workflow state."),
        _num("startup_s", 20, "Time from launch until a new instance serves.", "s", hi=3600),
        Param("replace", "bool", True, "A dead instance is replaced by a new one."),
        Param("autoscale", "object", None, "Autoscaling on target utilization; null: off.",
              nullable=True, fields=AUTOSCALE_FIELDS),
        _enum("queue_policy", ("fifo", "lifo"),
              "Which queued request a free worker takes: the oldest or the newest."),
        _num("max_queue_wait_ms", None,
             "A request taken after waiting longer than this is dropped, failing shed; "
             "null: never.", "ms", hi=3600000, nullable=True),
        Param("rate_limit", "object", None,
              "A token bucket for the node's arrivals; one that finds no token fails "
              "rate_limited. null: none.", nullable=True, fields=RATE_LIMIT_FIELDS),
        _int("cores", None, "Processor sharing per instance: requests in their own work share "
             "this many cores. null: each worker at full speed.", "cores", lo=1, hi=10000,
             nullable=True),
        _cost(0.10),
    ),
    "serverless": (
        _int("max_concurrency", 1000, "Most containers at once.", "containers"),
        _dist("cold_start_ms", 250, "Added when a request has to start a container."),
        _num("keep_warm_s", 300, "An idle container goes away after this long.", "s"),
        _dist("service_ms", 10, "Time one request takes, before downstream calls."),
        _enum("state", ("none", "external", "token"),
              "Where this function keeps its clients' workflow state."),
        _cost(0.20, per="million"),
    ),
    "database": (
        _dist("latency_ms", 5, "The service time of one query."),
        _int("connections", 100, "Queries served at once (one pool for all callers).",
             "connections", lo=1, hi=10000),
        _int("queue", None, "Queries waiting for a connection; null: unbounded.", "queries",
             nullable=True),
        _cost(0.50),
    ),
    "store": (
        _enum("role", ("cache", "state"), "A cache (hits and misses) or the home of state."),
        _dist("latency_ms", 1, "Time of one operation."),
        _int("capacity", 10000, "Operations served at once; no queue.", "operations"),
        _num("hit_ratio", 0.9, "Share of requests that hit once every key has been seen (cache).",
             hi=1),
        _int("keys", 10000, "Distinct keys requests draw from (cache).", "keys", lo=1),
        _cost(0.10),
    ),
    "queue": (
        _int("max_depth", 10000, "Messages held at most; a full queue refuses with overload.",
             "messages"),
        _dist("latency_ms", 1, "Time to enqueue one message."),
    ),
    "worker": (
        _int("workers", 4, "Messages processed at once.", "workers"),
        _dist("service_ms", 50, "Time one message takes."),
        _cost(0.10),
    ),
    "cdn": (
        _num("hit_ratio", 0.9, "Share of requests answered at the edge.", hi=1),
        _dist("latency_ms", 10, "Delay of the edge."),
        _cost(0.05),
    ),
    "object_storage": (
        _dist("latency_ms", 30, "Time of one operation."),
    ),
    "external": (
        _dist("latency_ms", 100, "Time the external service takes."),
        _num("error_rate", 0, "Share of calls that fail with cause error.", hi=1),
    ),
})

KINDS: tuple[str, ...] = tuple(NODE_PARAMS)

EDGE_PARAMS: tuple[Param, ...] = (
    _num("calls", 1, "Expected calls per request passing through (0.3: 30% of the time).",
         "calls", hi=100),
    _enum("mode", ("sync", "async"), "sync waits for the answer; async only enqueues (to a queue)."),
    _dist("latency_ms", 0, "Network round trip, before the callee starts."),
    _num("timeout_ms", None, "The caller gives up on an attempt after this long; null: never.",
         "ms", nullable=True),
    _int("retries", 0, "How many times a failed call is repeated (after backoff_ms).", lo=0,
         hi=10),
    _num("backoff_ms", 0, "Base of the exponential backoff with full jitter between tries; "
         "0: at once.", "ms"),
    Param("retry_budget", "object", None,
          "A token bucket for this edge's retries; null: every retry is made.", nullable=True,
          fields=RETRY_BUDGET_FIELDS),
    _int("max_concurrent", None, "A bulkhead: calls in flight on the edge at most; one beyond "
         "fails overload at once. null: no bound.", "calls", lo=1, hi=1e6, nullable=True),
    Param("circuit_breaker", "object", None,
          "A circuit breaker on the edge's synchronous calls: open, they fail circuit_open at "
          "once. null: none.", nullable=True, fields=CIRCUIT_BREAKER_FIELDS),
)

SCENARIO_PARAMS: tuple[Param, ...] = (
    _num("duration_s", 60, "Simulated time during which requests start.", "s", lo=1, hi=86400),
    _num("warmup_s", 0, "Time left out of the summary (a multiple of tick_s).", "s", hi=86400),
    _num("tick_s", 1, "Simulated time between frames; never changes what happens.", "s",
         hi=86400, min_exclusive=True),
    # 2**53 - 1: the largest integer a browser's JSON numbers carry exactly.
    _int("seed", 0, "Seed of every random stream, unless the run names another.",
         hi=2**53 - 1),
)

TRAFFIC_PARAMS: tuple[Param, ...] = (
    _num("at_s", None, "When the step starts.", "s", hi=86400, required=True),
    _num("multiplier", None, "Client rates are multiplied by this.", "x", hi=1e6, required=True),
    _num("ramp_s", 0, "The multiplier moves linearly to its new value over this long.", "s",
         hi=86400),
)

#: Fields of every event; an action's own fields follow in ``ACTION_PARAMS``.
EVENT_PARAMS: tuple[Param, ...] = (
    _num("at_s", None, "When the action happens.", "s", hi=86400, required=True),
    Param("action", "enum", None, "What happens.", required=True,
          choices=("kill_instance", "rolling_deploy", "scale", "outage", "slowdown",
                   "flush_cache", "instance_errors", "canary", "blue_green", "rollback")),
    Param("node", "string", None, "The id of the node it happens to.", required=True),
)

ACTION_PARAMS: Mapping[str, tuple[Param, ...]] = MappingProxyType({
    "kill_instance": (
        _int("count", 1, "How many instances die (the lowest-numbered healthy ones).",
             "instances", lo=1, hi=1000),
    ),
    "rolling_deploy": (
        _int("batch", 1, "Instances replaced at a time.", "instances", lo=1, hi=1000),
        _num("interval_s", 30, "Pause after a batch serves before the next starts.", "s",
             hi=86400),
        Param("drain", "bool", True, "Old instances finish their requests before stopping."),
        _release(),
    ),
    "scale": (
        _int("instances", None, "The new instance count.", "instances", lo=1, hi=1000,
             required=True),
    ),
    "outage": (
        _num("duration_s", None, "How long the node is unreachable.", "s", hi=86400,
             min_exclusive=True, required=True),
    ),
    "slowdown": (
        _num("factor", None, "Service times are multiplied by this.", "x", hi=1000,
             min_exclusive=True, required=True),
        _num("duration_s", None, "How long the slowdown lasts.", "s", hi=86400,
             min_exclusive=True, required=True),
    ),
    "flush_cache": (),
    "instance_errors": (
        _int("instance", None, "The instance's number; null: the lowest-numbered one up.",
             "instances", nullable=True),
        _num("error_rate", 1, "Share of its requests answered at once with error.", hi=1),
        _num("duration_s", None, "How long it lasts; null: to the end of the run.", "s",
             hi=86400, min_exclusive=True, nullable=True),
    ),
    "canary": (
        _num("weight", 0.05, "Share of the node's traffic the canary takes from its balancers.",
             hi=1),
        _num("watch_s", 60, "How long the canary serves before its gate decides.", "s"),
        Param("gate", "object", {"max_error_ratio": 0.01, "max_p99_ms": None},
              "The thresholds on the canary's own requests.", fields=GATE_FIELDS),
        _release(),
        _enum("then", ("rolling", "blue_green"),
              "How the rest of the fleet is replaced once the gate passes."),
    ),
    "blue_green": (
        _release(),
        _num("keep_s", 300, "How long the old fleet stays up, idle, after the switch.", "s"),
    ),
    "rollback": (),
})

ACTIONS: tuple[str, ...] = tuple(ACTION_PARAMS)

#: Which node an action fits, in words (the rule itself is ``schema.action_fits``).
ACTION_TARGETS: Mapping[str, str] = MappingProxyType({
    "kill_instance": "a service",
    "rolling_deploy": "a service",
    "scale": "a service",
    "outage": "any node but a client",
    "slowdown": "any node but a client",
    "flush_cache": "a cache store or a cdn",
    "instance_errors": "a service",
    "canary": "a service",
    "blue_green": "a service",
    "rollback": "a service",
})

#: Fields of a live-run traffic control (``{"kind": "traffic", ...}``); it applies at the next tick.
TRAFFIC_CONTROL_PARAMS: tuple[Param, ...] = TRAFFIC_PARAMS[1:]


def node_params(kind: str) -> tuple[Param, ...]:
    """The parameters of a node kind, in table order; KeyError for an unknown kind."""
    return NODE_PARAMS[kind]


def action_params(action: str) -> tuple[Param, ...]:
    """An event action's own fields (beyond at_s, action, node); KeyError for an unknown one."""
    return ACTION_PARAMS[action]


def spec() -> dict[str, Any]:
    """The whole table as JSON-able data: what the editor's forms and the reference page read."""

    def rows(params: tuple[Param, ...]) -> list[dict[str, Any]]:
        return [p.to_dict() for p in params]

    return {
        "nodes": {kind: rows(ps) for kind, ps in NODE_PARAMS.items()},
        "edge": rows(EDGE_PARAMS),
        "scenario": rows(SCENARIO_PARAMS),
        "traffic": rows(TRAFFIC_PARAMS),
        "event": rows(EVENT_PARAMS),
        "actions": {a: {"fits": ACTION_TARGETS[a], "params": rows(ps)}
                    for a, ps in ACTION_PARAMS.items()},
        "dist": {d: rows(ps) for d, ps in DIST_FIELDS.items()},
        "error_causes": list(ERROR_CAUSES),
    }
