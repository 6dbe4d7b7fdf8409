"""Where state lives: workflows (session, upload, payment) and their owners (SCHEMA.md).

Terms
-----
owner
    The service or serverless node on a client's path whose ``state`` is not "none": local (on the
    instance that created it), external (in the store or object storage it reaches by its state
    edge) or token (carried by the client). At most one per path (validation).
charger
    Where a payment is charged: the owner, or with none the first service or serverless on the
    path (which charges every attempt it takes up, with no key check).
take-up
    The moment the owner checks and sets a request's state: for local and token, when a worker
    picks the request up; for external, when the state access (the state edge, made first, before
    the owner's own work) completes. A check that fails fails the request at once, with no
    service time and no downstream call.
request id (``rid``)
    What every visit of a client request carries (``v_req``), packed into one int so that calls
    and orphans need no per-request record: bits 0-23 the user, 24-31 the client node, 32 a login,
    33-39 an upload's part, 40 and up the upload or payment number.
user key
    ``rid & 0xFFFFFFFF``: client and user, the key of sessions and sticky pins.
"""

from __future__ import annotations

from typing import Any

from playground.engine import rng
from playground.engine.codes import (
    CLIENT,
    LB,
    OBJECT,
    SERVERLESS,
    SERVICE,
    STORE,
)

STATELESS, SESSION, UPLOAD, PAYMENT = range(4)
_WORKFLOWS = {"stateless": STATELESS, "session": SESSION, "upload": UPLOAD, "payment": PAYMENT}
NO_STATE, LOCAL, EXTERNAL_STATE, TOKEN = range(4)
_STATES = {"none": NO_STATE, "local": LOCAL, "external": EXTERNAL_STATE, "token": TOKEN}
_USER = 0xFFFFFF
_KEY = 0xFFFFFFFF


class WorkflowsMixin:
    """Workflow state for ``Simulation`` (which provides every attribute used here)."""

    workflows = False

    def _compile_workflows(self: Any) -> None:
        nodes = self.document.nodes
        nn = len(nodes)
        self.c_wf = [_WORKFLOWS.get(str(n.params.get("workflow", "stateless")), STATELESS)
                     if self.n_kind[i] == CLIENT else STATELESS for i, n in enumerate(nodes)]
        self.c_users = [int(n.params.get("users", 1)) for n in nodes]
        self.c_parts = [int(n.params.get("parts", 2)) for n in nodes]
        self.c_keys = [bool(n.params.get("idempotency_keys", False)) for n in nodes]
        self.n_state = [_STATES.get(str(n.params.get("state", "none")), NO_STATE)
                        if self.n_kind[i] in (SERVICE, SERVERLESS) else NO_STATE
                        for i, n in enumerate(nodes)]
        self.c_owner = [-1] * nn
        self.c_charger = [-1] * nn
        sticky = any(self.n_kind[i] == LB and self.lb_algo[i] == "sticky" for i in range(nn))
        for c in self.clients:
            path = self._sync_path(c)
            owners = [n for n in path if self.n_state[n] != NO_STATE]
            workers = [n for n in path if self.n_kind[n] in (SERVICE, SERVERLESS)]
            self.c_owner[c] = owners[0] if owners else -1
            self.c_charger[c] = owners[0] if owners else (workers[0] if workers else -1)
            if self.c_wf[c] != STATELESS:
                for n in (self.c_owner[c], self.c_charger[c]):
                    if n >= 0:
                        self.n_hook[n] = True
            if self.c_wf[c] == UPLOAD:
                self.c_rps[c] /= self.c_parts[c]
        # External owners: the state edge is taken out of the call sequence; it is made first.
        self.n_state_edge = [-1] * nn
        for n in range(nn):
            if self.n_state[n] == EXTERNAL_STATE:
                for j in self.n_out[n]:
                    d = self.e_dst[j]
                    if not self.e_async[j] and (
                            self.n_kind[d] == OBJECT
                            or (self.n_kind[d] == STORE and not self.n_cache[d])):
                        self.n_state_edge[n] = j
                        self.n_out[n] = tuple(e for e in self.n_out[n] if e != j)
                        break
        self.workflows = sticky or any(self.c_wf[c] != STATELESS for c in self.clients)
        # The users' draws; the workflows' state (sessions and logins, uploads, idempotency
        # keys, charges) is the compiled core's (compiled.py: US, the workflow table, CH).
        self.user_u = {c: rng.uniform(self.seed, self.ids[c], "user") for c in self.clients}
        self.wf_serial = 0

    def _sync_path(self: Any, client: int) -> list[int]:
        """Nodes a client's requests visit by synchronous calls, depth first in call order."""
        seen: list[int] = []

        def walk(n: int) -> None:
            for j in self.n_out[n]:
                d = self.e_dst[j]
                if not self.e_async[j] and d not in seen:
                    seen.append(d)
                    walk(d)

        walk(client)
        return seen
