"""Integer codes shared by the simulation's modules (plain ints keep the event loop fast).

Terms
-----
kind
    A node kind of SCHEMA.md as a small int (``KIND_CODES``).
cause
    0 is success; an error cause is 1 + its index in ``ERROR_CAUSES``.
event code
    The third field of a heap entry: what the event does.
counter
    An index into the per-tick (frame) and per-window (summary) counter lists of client requests
    and workflows.
instance state
    UP serves; STARTING was launched and serves after ``startup_s``; DRAINING takes nothing new
    and stops when empty; DEAD is gone; SERVERLESS marks a serverless node's container pool.
"""

from __future__ import annotations

from playground.engine.document import ERROR_CAUSES

# Node kinds.
CLIENT, LB, SERVICE, SERVERLESS, DATABASE, STORE, QUEUE, WORKER, CDN, OBJECT, EXTERNAL = range(11)
KIND_CODES = {"client": CLIENT, "load_balancer": LB, "service": SERVICE,
              "serverless": SERVERLESS, "database": DATABASE, "store": STORE, "queue": QUEUE,
              "worker": WORKER, "cdn": CDN, "object_storage": OBJECT, "external": EXTERNAL}

# Outcomes: 0 is success; a cause is 1 + its index in ERROR_CAUSES.
OK = 0
OVERLOAD, TIMEOUT, UNAVAILABLE, SESSION_LOST, UPLOAD_FAILED, ERROR = range(1, 7)
CIRCUIT_OPEN, RATE_LIMITED, SHED = range(7, 10)
#: Outcomes: OK and the causes (the width of per-cause arrays).
N_CAUSES = 10
#: Which causes an edge retry repeats (SCHEMA: "any cause but session_lost and upload_failed").
RETRYABLE = (False, True, True, True, False, False, True, True, True, True)
CAUSE_CODE = {name: i + 1 for i, name in enumerate(ERROR_CAUSES)}

# Event codes, in the order the main loop tests them (most frequent first).
EV_DONE, EV_ARRIVE, EV_EMIT, EV_TIMEOUT, EV_RETRY, EV_LATER = range(6)

# Counter layout of the frame (per tick) and window (summary) counters of client requests.
C_REQUESTS, C_ATTEMPTS, C_OK = 0, 1, 2          # errors by cause at 2 + cause
C_LOGINS, C_LOGGED_OUT, C_CHARGES, C_DUPLICATES, C_UPLOADS, C_UPLOADS_FAILED = range(12, 18)
N_COUNTERS = 18

# Instance states.
UP, STARTING, DRAINING, DEAD = range(4)

# How a node takes an arriving visit: a service instance's pool (picked by balancer or round
# robin), the node's one pool, a pure delay, or the node kind's own rule.
A_SERVICE, A_POOL, A_DELAY, A_OTHER = range(4)

#: The hold state (``v_hold``) of a visit on its way to its node (network latency): it holds
#: nothing yet, and an instance stopping meanwhile does not fail it (its arrival will).
IN_TRANSIT = 3

#: ``v_edge`` of a visit whose owner is reading its workflow state (the state edge, first).
STATE_ACCESS = -2

SERVERLESS_POOL = 4
