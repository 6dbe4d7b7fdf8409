"""How the editor and the reference page present each node kind: a name, a line on what it is, and
a colour and shape on the canvas. The kinds themselves come from the engine (``params.KINDS``)."""

from __future__ import annotations

from playground.engine.params import KINDS

KIND_INFO: dict[str, dict[str, str]] = {
    "client": {"name": "Client", "color": "#1f3a5f", "shape": "round-rectangle",
               "blurb": "Users sending requests at a rate; one call to where they enter."},
    "load_balancer": {"name": "Load balancer", "color": "#6a4c93", "shape": "round-diamond",
                      "blurb": "Spreads requests over one service's instances."},
    "service": {"name": "Service", "color": "#2f7d6d", "shape": "round-rectangle",
                "blurb": "Instances with workers and a queue; calls others in edge order."},
    "serverless": {"name": "Serverless", "color": "#3c8dbc", "shape": "round-rectangle",
                   "blurb": "Functions that scale from zero, with cold starts, paid per use."},
    "database": {"name": "Database", "color": "#b3541e", "shape": "barrel",
                 "blurb": "A connection pool and a query queue."},
    "store": {"name": "Store (Redis)", "color": "#c0392b", "shape": "barrel",
              "blurb": "A cache with hits and misses, or the shared home of state."},
    "queue": {"name": "Queue", "color": "#8e6c00", "shape": "rectangle",
              "blurb": "Holds messages for one worker pool; callers return at once."},
    "worker": {"name": "Worker", "color": "#5b6675", "shape": "round-rectangle",
               "blurb": "Drains a queue with a fixed number of workers."},
    "cdn": {"name": "CDN", "color": "#16a085", "shape": "hexagon",
            "blurb": "Answers hits at the edge; misses go on to its origin."},
    "object_storage": {"name": "Object storage", "color": "#7f8c8d", "shape": "barrel",
                       "blurb": "Shared files (S3): a pure delay that never loses data."},
    "external": {"name": "External API", "color": "#34495e", "shape": "octagon",
                 "blurb": "A third party: a delay and an error rate."},
}

# Which kinds may call which, in words (SCHEMA.md "Which kind may call which").
CALL_RULES: dict[str, str] = {
    "client": "exactly one edge, calls 1, to any kind but client, queue and worker",
    "load_balancer": "exactly one edge, calls 1, to a service or serverless",
    "service": "any kind but client; asynchronously only a queue",
    "serverless": "any kind but client; asynchronously only a queue",
    "worker": "any kind but client; asynchronously only a queue",
    "store": "a cache: where a miss goes (any kind but client, queue, worker); a state store: nothing",
    "cdn": "where a miss goes: any kind but client, queue, worker",
    "queue": "exactly one edge, to a worker",
    "database": "nothing",
    "object_storage": "nothing",
    "external": "nothing",
}


def kinds() -> list[dict[str, str]]:
    """Every kind the engine knows, in its order, with how it looks."""
    default = {"color": "#5b6675", "shape": "round-rectangle", "blurb": ""}
    return [{"kind": k, **default, "name": k.replace("_", " ").capitalize(), **KIND_INFO.get(k, {}),
             "calls": CALL_RULES.get(k, "")} for k in KINDS]
