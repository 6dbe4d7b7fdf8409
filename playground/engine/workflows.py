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

import heapq
from typing import Any

from playground.engine import rng
from playground.engine.codes import (
    C_CHARGES,
    C_DUPLICATES,
    C_LOGGED_OUT,
    C_LOGINS,
    C_UPLOADS,
    C_UPLOADS_FAILED,
    CLIENT,
    EV_DONE,
    EV_LATER,
    LB,
    OBJECT,
    OK,
    SERVERLESS,
    SERVICE,
    SESSION_LOST,
    STATE_ACCESS,
    STORE,
    UPLOAD_FAILED,
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
        self.u_logged = {c: bytearray(self.c_users[c]) for c in self.clients
                         if self.c_wf[c] == SESSION}
        self.user_u = {c: rng.uniform(self.seed, self.ids[c], "user") for c in self.clients}
        self.sess_local: dict[int, int] = {}     # user key -> instance holding the session
        self.sess_ext: dict[int, bool] = {}      # user key -> session in the shared store
        self.uploads: dict[int, list[int]] = {}  # upload -> [instance of its parts, -2 mixed]
        self.keys_local: dict[tuple[int, int], bool] = {}  # (instance, payment) -> key set
        self.keys_ext: dict[int, bool] = {}
        self.charges: dict[int, int] = {}        # payment -> charges executed
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

    def _count(self: Any, counter: int, t: float) -> None:
        self.F[counter] += 1
        if t >= self.w0:
            self.W[counter] += 1

    # ------------------------------------------------------------------ request start and end

    def request_started(self: Any, p: int, n: int, t: float, req: int) -> None:
        """Give client request ``p`` its request id (user, login, upload part, payment)."""
        if req >= 0:  # the next part of an upload
            self.v_req[p] = req
            return
        wf = self.c_wf[n]
        user = int(self.user_u[n]() * self.c_users[n]) & _USER
        rid = (n << 24) | user
        if wf == SESSION:
            if not self.u_logged[n][user]:
                rid |= 1 << 32
        elif wf == UPLOAD:
            self.wf_serial += 1
            self.uploads[self.wf_serial] = [-1]
            rid |= self.wf_serial << 40
            self._count(C_UPLOADS, t)
        elif wf == PAYMENT:
            self.wf_serial += 1
            rid |= self.wf_serial << 40
        self.v_req[p] = rid

    def request_done(self: Any, p: int, t: float, cause: int) -> None:
        """Client request ``p`` ended: a login logs its user in; an upload goes on or ends."""
        rid = self.v_req[p]
        n = (rid >> 24) & 0xFF
        wf = self.c_wf[n]
        if wf == SESSION:
            if cause == OK and rid >> 32 & 1:
                self.u_logged[n][rid & _USER] = 1
        elif wf == UPLOAD:
            uid = rid >> 40
            part = (rid >> 33) & 0x7F
            if cause == OK and part + 1 < self.c_parts[n]:
                nxt = (rid & ~(0x7F << 33)) | ((part + 1) << 33)
                self._start_request(n, t, nxt)
                return
            self.uploads.pop(uid, None)
            if cause != OK:
                self._count(C_UPLOADS_FAILED, t)

    # ------------------------------------------------------------------ take-up at the owner

    def owner_start(self: Any, c: int, n: int, i: int, t: float) -> None:
        """A worker of owner or charger ``n`` picked ``c`` up: check state (local, token), or
        read it first (external), then do the own work."""
        rid = self.v_req[c]
        cli = (rid >> 24) & 0xFF
        if self.c_wf[cli] == STATELESS or (self.c_owner[cli] != n and self.c_charger[cli] != n):
            self._own_work(c, n, t)
            return
        st = self.n_state[n] if self.c_owner[cli] == n else NO_STATE
        if st == EXTERNAL_STATE and self.n_state_edge[n] >= 0:
            self.v_edge[c] = STATE_ACCESS
            self.v_try[c] = 0
            cause = self._call(c, self.n_state_edge[n], t)
            if cause:
                self._defer(c, t, cause, False)
            return
        cause = self._take_up(c, n, i, st, t)
        if cause:
            self.n_err[n][cause] += 1
            self._defer(c, t, cause, True)
            return
        self._own_work(c, n, t)

    def state_accessed(self: Any, c: int, n: int, t: float) -> int:
        """The external owner's state access for ``c`` completed: take it up (0, and the own
        work starts) or the cause it fails with."""
        cause = self._take_up(c, n, self.v_inst[c], EXTERNAL_STATE, t)
        if cause:
            return cause
        self.v_edge[c] = -1
        self._own_work(c, n, t)
        return 0

    def _own_work(self: Any, c: int, n: int, t: float) -> None:
        extra = self.v_aux[c] if self.n_kind[n] == SERVERLESS else 0.0
        s = next(self.cnt)
        self.v_tok[c] = s
        heapq.heappush(self.heap, (t + extra + self.n_work[n]() * self.n_slow[n], s, EV_DONE,
                                   c))

    def _defer(self: Any, c: int, t: float, cause: int, fin: bool) -> None:
        """Carry ``c`` on with ``cause`` at ``t`` from the event loop (not from inside a server's
        release, which could nest without bound)."""
        s = next(self.cnt)
        self.v_tok[c] = s
        proceed, v_tok = self._proceed, self.v_tok

        def go(t2: float) -> None:
            if v_tok[c] == s:
                v_tok[c] = 0
                proceed(c, t2, cause, fin)

        self.later[s] = go
        heapq.heappush(self.heap, (t, s, EV_LATER, 0))

    def _take_up(self: Any, c: int, n: int, i: int, st: int, t: float) -> int:
        """Check and set the workflow state of ``c`` at ``n`` (instance ``i``): 0 or a cause."""
        rid = self.v_req[c]
        cli = (rid >> 24) & 0xFF
        wf = self.c_wf[cli]
        owner = self.c_owner[cli] == n
        if wf == SESSION and owner:
            key = rid & _KEY
            if rid >> 32 & 1:  # a login creates the session
                if st == LOCAL:
                    self.sess_local[key] = i
                elif st == EXTERNAL_STATE:
                    self.sess_ext[key] = True
                self._count(C_LOGINS, t)
                return OK
            if st == LOCAL:
                found = self.sess_local.get(key) == i
            elif st == EXTERNAL_STATE:
                found = key in self.sess_ext
            else:
                found = True
            if found:
                return OK
            self.sess_local.pop(key, None)
            self.sess_ext.pop(key, None)
            self.u_logged[cli][rid & _USER] = 0
            self._count(C_LOGGED_OUT, t)
            return SESSION_LOST
        if wf == UPLOAD and owner and st == LOCAL:
            rec = self.uploads.get(rid >> 40)
            if rec is None:  # the upload is over; this part is an orphan
                return OK
            if ((rid >> 33) & 0x7F) < self.c_parts[cli] - 1:
                if rec[0] == -1:
                    rec[0] = i
                elif rec[0] != i:
                    rec[0] = -2
                return OK
            return OK if rec[0] == i else UPLOAD_FAILED
        if wf == PAYMENT and self.c_charger[cli] == n:
            pid = rid >> 40
            if self.c_keys[cli] and owner and st in (LOCAL, EXTERNAL_STATE):
                if st == LOCAL:
                    if (i, pid) in self.keys_local:
                        return OK
                    self.keys_local[(i, pid)] = True
                else:
                    if pid in self.keys_ext:
                        return OK
                    self.keys_ext[pid] = True
            done = self.charges.get(pid, 0)
            self.charges[pid] = done + 1
            self._count(C_CHARGES, t)
            if done:
                self._count(C_DUPLICATES, t)
        return OK
