"""The compiled core (numba): the engine's one event loop, for every design.

Terms
-----
core
    ``jitcore.advance``: the event loop over numpy arrays, compiled by numba, for every kind:
    clients with any workflow, timeouts, retries and backoff; every balancer; services with any
    ``state``; databases, stores and caches of any size, cdns, object storage, external
    services; queues and workers over synchronous and asynchronous edges; serverless
    containers. It keeps the data model of the pure-Python general loop it replaced (visit slots
    and their free stack, one event heap ordered by (time, token), tokens from one counter,
    instance FIFOs) and makes the same draws and float operations in the same order: its frames
    and summary are that loop's byte for byte (the tests compare them with its recorded output,
    ``tests/engine/references.json``).
workflow table
    Sticky pins, uploads and local idempotency keys, in one open-addressing hash table of int64
    keys tagged by map (``T_*``). Sessions and logins are a word per user instead (``US``, bits
    ``U_*``), and a payment's charges and external key a word per payment (``CH``).
state
    The arrays the core works on, declared once, by name, in state.py (``Core.S``, a
    ``state.Arrays``; the jitted functions see them as the named tuple ``state.State``). This
    module declares their rows (``V_*``, ``N_*``, ...) and scalars (``M_*``, ``MF_*``).
stream buffer
    The core cannot call Python, so each random stream's next draws are copied from its
    sampler into a row of ``SB`` (the sampler is then the core's: ``_owned``); the core yields
    back to Python between events when a row runs low, a buffer of results fills up, the
    visit, event or table arrays need to grow, or a scheduled callback comes due.
Python between events (``Core.python``)
    A scheduled callback (an event, an instance's life, a traffic note) or a live control runs
    in Python on the simulation's lists, which the core writes before and reads back after:
    node flags, instances launched or stopped, balancer views, the events scheduled, the
    tokens used. The visits stay in the arrays: an instance that stops fails its requests
    through the core (``stop_visits``). An instance found drained in the middle of an event is
    stopped by Python after the event, with tokens the core set aside at that moment
    (``_drained_stops``).

The core is the engine's only event loop (numba is a required dependency); numba compiles it on
first use and caches it on disk (see ``jitcore._cache_dir``), so later processes load it in a
fraction of a second. With ``NUMBA_DISABLE_JIT=1`` the same functions run as plain Python, for
debugging and coverage.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator
from typing import Any

import numpy as np

from playground.engine import rng, state
from playground.engine.codes import (
    DRAINING,
    EXTERNAL,
    IN_TRANSIT,
    LB,
    N_CAUSES,
    N_COUNTERS,
    SERVERLESS,
)
from playground.engine.document import TrafficStep
from playground.engine.workflows import SESSION

_ALGOS = {"round_robin": 0, "random": 1, "least_connections": 2, "sticky": 3}

#: The event code of a visit carried on later from the event loop (its cause and ``fin`` are in
#: V_DEF).
EV_DEFER = 6
#: The event code of an edge's retry after its backoff (jitcore.backoff).
EV_ERETRY = 7
#: The event code of the next completion of an instance's processor-shared work (jitcore.ps_*).
EV_PSDONE = 8
#: The event code of an open circuit breaker turning half-open (jitcore.breaker_open); its
#: slot is the edge.
EV_BREAKER = 9

# The workflow table (TB: [cell, TB_K key / TB_V value]): one open-addressing hash table for the
# maps of sticky balancers' pins, uploads and local idempotency keys, each key tagged in bits
# 60-62 by its map.
(T_PIN, T_UPLOAD, T_KLOCAL) = range(3)
#: A session user's word (US, at the client's N_UOFF plus the user): whether the user is logged
#: in, whether its session is in the external state store, and the instance that holds its
#: session in memory, plus one, from bit U_SHIFT (0: none). Users are dense (0 to ``users`` - 1),
#: so a word each is smaller than the table's cells for them and one access, not three probes.
U_LOGGED, U_SEXT, U_SHIFT = 1, 2, 2
#: A payment's idempotency key in the external store: a flag on its count of charges (CH), which
#: is indexed by the payment's serial (a table of its own: serials only grow, so an array indexed
#: by them is denser and faster than the hash table).
CH_KEXT = 1 << 40
T_SHIFT = 60
#: The columns of a cell of the workflow table TB.
TB_K, TB_V = 0, 1
#: The key of an empty cell of TB.
EMPTY = -1

# A visit is one record of _V_WORDS int32 words, a row of VI [slot, word]: its first words,
# read as int64 through VK (a view of the same memory, [slot, row]), hold its tokens and request
# id, which need 64 bits; the words after them its node, instance, caller and small counts,
# which fit in 32 bits (a slot is under the in-flight bound, a node or an instance under the
# document's). 88 bytes where 17 int64s took 136: a queue's backlog (a retry storm's) takes a
# third less memory, and a visit touches fewer cache lines. V_QNEXT links an instance's FIFO.
# jitcore widens a word it reads with np.int64 where the value goes on to a call or a shift, so
# that numba compiles one version of each function (not one for int32 arguments too) and plain
# Python (NUMBA_DISABLE_JIT) does not overflow an int32 scalar.
(V_TOK, V_PTOK, V_WAIT, V_REQ) = range(4)
_VK_ROWS = 4
(V_NODE, V_INST, V_PAR, V_HOLD, V_EDGE, V_LEFT, V_TRY, V_AUX, V_QNEXT, V_DEF, V_WE, V_PSNEXT,
 V_CBG) = range(2 * _VK_ROWS, 2 * _VK_ROWS + 13)
#: The words of a visit's record, up to its last, rounded up to an even count so that VK's
#: rows are whole int64s.
_V_WORDS = (V_CBG + 2) // 2 * 2
# Rows of the node arrays NI (ints) and NF (floats).
(N_KIND, N_AMODE, N_PLAIN, N_LBOF, N_INST0, N_OUT0, N_OUTN, N_WORK_S, N_OK_S, N_BUSY, N_Q, N_X,
 N_ARR, N_SN, N_WZ, N_RR, N_ALGO, N_LB_S, N_VIEW0, N_VIEWN, N_UP0, N_UPN, N_CEXP_S, N_CTHIN_S,
 N_CJIT_S, N_CTOK, N_CSEG, N_CRETRIES, N_KEY_S, N_KEYS, N_SEEN0, N_NSEEN, N_DOWN,
 N_HOOK, N_STATE, N_SEDGE, N_WF, N_USERS, N_PARTS, N_CKEYS, N_OWNER, N_CHARGER, N_USER_S,
 N_LBTGT, N_QINST, N_DEPTH, N_MAXDEPTH, N_COLD_S, N_IDL0, N_IDLCAP, N_IDLH, N_IDLN,
 N_CALLS, N_DRAWS, N_DRAINTOK, N_LIFO, N_RLIM, N_CBUD, N_CORES,
 N_AT, N_ATHEAD, N_ATTAIL, N_ATREQ, N_ATACC, N_AT_S) = range(65)
# Faults and deploys (SCHEMA.md's extensions): a service's canary under watch (-1: none), its
# streams (the canary's weight, instance_errors, a release's errors) and the canary's counts.
N_CANARY, N_CAN_S, N_FAULT_S, N_REL_S, N_CREQ, N_CERR = range(65, 71)
# Which of the rarer checks a node's hot paths must make (bits XF_*), kept by
# Core._sync_instances from its parameters and its instances' faults and releases: designs that
# use none of them pay one test per arrival, work and completion.
N_XF = 71
#: A client with workflow session: where its users' words start in US.
N_UOFF = 72
_N_ROWS = 73
#: XF_ARR: an arrival may be rate limited, go to a canary or meet instance_errors; XF_WORK: a
#: work may be shared by cores or slowed by a release; XF_REL: a completion may fail by a
#: release's errors.
XF_ARR, XF_WORK, XF_REL = 1, 2, 4
F_SLOW, F_ERROR, F_BACC, F_QACC, F_XACC, F_SS, F_RPS, F_BACKOFF, F_HIT, F_KEEP = range(10)
# A service's rate limit (token bucket), its max queue wait (-1: none), a client's retry budget.
(F_RL_RATE, F_RL_BURST, F_RL_TOK, F_RL_T, F_MAXWAIT) = range(10, 15)
F_CBUD = 15  # the client's retry budget: _B_ROWS rows from here
# A client's adaptive throttle: its k and window (its window records: N_AT* rows).
F_ATK, F_ATWIN = F_CBUD + 6, F_CBUD + 7
F_CWEIGHT = F_CBUD + 8  # the share of a service's traffic its canary takes
_F_ROWS = F_CWEIGHT + 1
# Edges (EI ints, EF floats) and instances (II).
E_DST, E_WHOLE, E_RETRIES, E_LAT_S, E_U_S, E_ASYNC, E_BOFF_S, E_MAXC, E_INFL, E_BUD = range(10)
# An edge's circuit breaker (jitcore.breaker_admit): whether it has one, its state (CB_*), its
# window's records (first and last in the pool RT/RI, -1: none), the calls and failures they
# hold, min_calls, half_open_calls, probes let through and succeeded while half-open, its
# generation (one more at every change of state; a call carries the one it was let through
# in, V_CBG) and the token of its pending turn to half-open (EV_BREAKER).
(E_CB, E_CBST, E_CBHEAD, E_CBTAIL, E_CBN, E_CBF, E_CBMIN, E_CBHALF, E_CBADM, E_CBOK,
 E_CBGEN, E_CBTOK) = range(10, 22)
#: The edge's timeout lane (QT, QS, QA; -1: its timeouts go on the heap): see ``_LANES``.
E_LANE = 22
_E_ROWS = 23
EF_FRAC, EF_TMO, EF_BOFF = range(3)
EF_BUD = 3  # the edge's retry budget: _B_ROWS rows from here
# The breaker's failure_ratio, window_s and open_s.
EF_CBRATIO, EF_CBWIN, EF_CBOPEN = range(EF_BUD + 6, EF_BUD + 9)
_EF_ROWS = EF_BUD + 9
#: A breaker's states (as frames name them: CB_NAMES).
CB_CLOSED, CB_OPEN, CB_HALF = range(3)
CB_NAMES = ("closed", "open", "half_open")
# The breakers' window records, a pool shared by all edges: RT their completion times, RI
# [row, record]: the next record of the same edge (or of the free list), the calls that
# succeeded and failed at that time (a record holds every completion of its edge at one time).
R_NEXT, R_OK, R_FAIL = range(3)
# A retry budget's rows (from F_CBUD in NF, or EF_BUD in EF): see jitcore.budget_retry.
B_RATIO, B_MIN, B_TOK, B_T, B_DEP, B_CAP10 = range(6)
I_BUSY, I_CAP, I_QCAP, I_HASQ, I_QHEAD, I_QTAIL, I_QLEN, I_STATE, I_QNODE, I_NODE = range(10)
# Processor sharing (a service's ``cores``): requests in their own work, the first of their list
# plus one (0: none), the token of the next completion, and (a float, read through a float64
# view of II) when their remaining work was last brought up to date.
I_PSN, I_PSHEAD, I_PSTOK, I_PST = range(10, 14)
_I_ROWS = 14
# Instance floats (IF): the share of requests an instance fails at once (instance_errors), its
# version's error rate after work and factor on service times (a release).
IF_FAIL, IF_RERR, IF_SLOW = range(3)
_IF_ROWS = 3
# The heap: times in HT, (token, code, slot) in HI.
H_S, H_C, H_A = range(3)
# Streams: SI rows; SV the value of a constant stream.
S_POS, S_LEN, S_CONST = range(3)
# Scalars: M (ints) and MF (floats).
(M_SLOTS, M_FREE, M_TOK, M_HN, M_LT, M_LW, M_WB, M_FLAG, M_MAXLIVE, M_FLAT, M_LATER_S,
 M_NPTS, M_ERR, M_LEFT, M_WFLOWS, M_WFSER, M_HCNT, M_NEXT, M_NEXT_N, M_NEXT_R,
 M_NPD, M_RFREE, M_RNFREE, M_CBRES, M_NBE, M_GUARD) = range(26)
#: The timeout lanes (``_LANES``): how many there are, the one whose first timeout is due first
#: (-1: all empty), the longest tail, and each lane's head and tail (its timeouts are at
#: [head, tail) of its row of QT, QS, QA).
M_NQ, M_QBEST, M_QMAX = range(26, 29)
#: Timeouts wait in lanes, one per distinct timeout of the design's edges (up to this many;
#: the edges of any further timeout use the heap): a call's timeout is its start plus a
#: constant, so each lane is already in order of time, then token, and a timeout goes in and
#: out in constant time, where the heap took a pop of a dozen levels for each (most of them
#: answered calls, popped only to be ignored). The loop takes the earlier of the heap's top and
#: the first lane's head, so events keep their order exactly.
_LANES = 4
M_QH0 = 29
M_QT0 = M_QH0 + _LANES
#: 1 while the event being handled is still the heap's top (jitcore.advance takes it off only
#: when its handler is done): the handler's first new entry takes its place (jitcore.hpush).
M_HTOP = M_QT0 + _LANES
_M_ROWS = M_HTOP + 1
MF_W0, MF_W1, MF_LATER_T = range(3)

#: The node number that marks a failed client request's latency in the wait buffer (WB, WN).
FAILED = -1
#: ... and CANARY - n a latency of a request of node n's canary (compiled.Core._flush).
CANARY = -2

# What the core returns.
R_DONE, R_YIELD, R_LATER, R_BROKEN, R_SLICE, R_DRAINED = range(6)
#: Room for instances found drained in one event (their stops wait for Python: PD, PDT).
_PDCAP = 1024

#: How many draws must be left in a stream's row of SB for an event to start (one event takes at
#: most a few draws from a stream: one per node it passes, up to 11 with at-once retries), and
#: the row's size: what is left, plus a few blocks (each refill makes the core yield to Python).
_SRES = 256
_SCAP = 4 * rng.BLOCK + _SRES
#: Result buffers (latencies, waits) and their room for one event.
_BCAP = 1 << 16
_BRES = 1024
#: Room for one event's new visits and heap entries (at-once retries leave stale timeouts).
_VRES = 1024
_HRES = 1 << 14
#: The most visit slots the visit arrays' first growth reserves at once (see ``Core._grow``).
_VRESERVE = 1 << 22
#: The timeout lanes' first size, and their room for one event's new timeouts (one per new visit).
_QCAP = 1 << 12
_QRES = _VRES
#: The workflow table's first size, and its room for one event's new keys: it doubles when
#: more than half full.
_TCAP = 1 << 12
_TRES = 64
#: Room for one event's new request serials (uploads, payments: CH is indexed by them).
_SERRES = 64


# ---------------------------------------------------------------------- the Python side


def _owned() -> float:
    raise RuntimeError("this stream belongs to the compiled core")


#: The node counters copied between the simulation's lists and the arrays (Core._load, _store):
#: their rows of NI and NF, and the lists' names.
_NODE_INTS = ((N_BUSY, "n_busy"), (N_Q, "n_q"), (N_X, "n_x"), (N_ARR, "n_arr"),
              (N_SN, "n_sn"), (N_WZ, "n_wz"), (N_RR, "n_rr"), (N_CTOK, "c_tok"),
              (N_CSEG, "c_seg"), (N_DEPTH, "n_depth"), (N_CALLS, "n_calls"),
              (N_DRAWS, "n_draws"))
_NODE_FLOATS = ((F_BACC, "b_acc"), (F_QACC, "q_acc"), (F_XACC, "x_acc"), (F_SS, "n_ss"))
_NODE_INT_ROWS = np.array([row for row, _ in _NODE_INTS])
_NODE_FLOAT_ROWS = np.array([row for row, _ in _NODE_FLOATS])


class Core:
    """The core's arrays for one simulation, and the glue to its lists and heap."""

    def __init__(self, sim: Any) -> None:
        self.sim = sim
        self.advance = _jit().advance
        # Streams: every sampler the core may draw from, once each, taken apart (rng.split):
        # the core draws from their blocks from now on (``_stream``).
        self.streams: list[tuple[list[float], rng.Blocks] | float] = []
        self.holders: list[list[tuple[Any, Any]]] = []   # (container, key) of each stream
        self._stream_of: dict[int, int] = {}
        self._lanes: list[float] = []  # the timeout of each lane (``_lane``)
        self.S = self._arrays()
        self.S.M[M_NQ], self.S.M[M_QBEST] = len(self._lanes), -1
        self._keys_seen = list(sim.n_seen)  # the bytearrays SEEN was copied from
        self._mirror: tuple[Any, ...] | None = None  # what _store last wrote (see _load)
        self._pack = np.zeros(3 * len(self.S), dtype=np.int64)
        self._pack_full = self._pack.view(np.uint64)  # the same words, typed for ``full``
        self.full = True
        self._set_full()
        self._packed_of: list[Any] = [None] * len(self.S)
        self._packed_version = -1
        self._serverless = [n for n in range(len(sim.ids)) if sim.n_kind[n] == SERVERLESS]
        self._refill()

    # -- the arrays from the simulation's lists

    def _stream(self, container: Any, key: Any) -> int:
        """The core's stream for the sampler ``container[key]`` (-1 for none), which is the
        core's from now on: one stream per sampler, however many places hold it."""
        fn = container[key]
        if fn is None:
            return -1
        k = self._stream_of.get(id(fn))
        if k is None:
            k = self._stream_of[id(fn)] = len(self.streams)
            self.streams.append(rng.split(fn))
            self.holders.append([])
        self.holders[k].append((container, key))
        container[key] = _owned
        return k

    def _arrays(self) -> state.Arrays:
        """The state (state.py) of the simulation as it stands: its nodes, edges, instances,
        streams, heap and scalars."""
        sim = self.sim
        nnz = max(len(sim.ids), 1)
        NI, NF, lists = self._node_arrays()
        RON = np.zeros((nnz, N_CAUSES), dtype=np.int64)
        for n, causes in enumerate(sim.c_retry_on):
            for cause in causes:
                RON[n, cause] = 1
        EI, EF = self._edge_arrays()
        II, IF = self._instance_arrays(NI)
        SB, SI, SV = self._stream_arrays()
        HT, HI, M, MF, PT = self._heap_and_scalars()
        RI, rcap, bcap = self._window_pool(NI, EI, M)
        vcap = 1 << max(12, _VRES.bit_length())
        empty = state.empty
        return state.Arrays(
            VI=empty("VI", _V_WORDS, vcap), VT=empty("VT", 0, vcap), FR=empty("FR", 0, vcap),
            NI=NI, NF=NF, NERR=np.zeros((nnz, N_CAUSES), dtype=np.int64), RON=RON, EI=EI, EF=EF,
            II=II, OUT=np.array(lists["out"] or [0], dtype=np.int64),
            VIEW=np.array(lists["view"] or [0], dtype=np.int64),
            UPS=np.array(lists["ups"] or [0], dtype=np.int64),
            HT=HT, HI=HI, SB=SB, SI=SI, SV=SV, LT=empty("LT", 0, _BCAP), LW=empty("LW", 0, _BCAP),
            WB=empty("WB", 0, _BCAP), WN=empty("WN", 0, _BCAP), F=empty("F", 0, N_COUNTERS),
            W=empty("W", 0, N_COUNTERS), M=M, MF=MF, PT=PT,
            SEEN=(np.concatenate(lists["keys_seen"]) if lists["keys_seen"]
                  else empty("SEEN", 0, 1)),
            TB=empty("TB", 2, _TCAP), US=empty("US", 0, max(lists["users"], 1)),
            VA=empty("VA", 0, vcap),
            IDL=empty("IDL", 0, max(lists["idle_size"], 1)), PD=empty("PD", 2, _PDCAP),
            PDT=empty("PDT", 0, _PDCAP), RT=empty("RT", 0, rcap), RI=RI, BT=empty("BT", 0, bcap),
            BI=empty("BI", 0, bcap), IF=IF,
            CH=empty("CH", 0, 1 << max(10, (int(M[M_WFSER]) + _SERRES).bit_length())),
            QT=empty("QT", _LANES, _QCAP), QS=empty("QS", _LANES, _QCAP),
            QA=empty("QA", _LANES, _QCAP))

    def _node_arrays(self) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
        """NI and NF, and the lists the nodes index into (out edges, balancer views, instances
        up, cache keys seen) with the size of the serverless idle rings."""
        sim = self.sim
        nn = len(sim.ids)
        NI = np.zeros((_N_ROWS, max(nn, 1)), dtype=np.int64)
        NF = np.zeros((_F_ROWS, max(nn, 1)), dtype=np.float64)
        lists: dict[str, Any] = {"out": [], "view": [], "ups": [], "keys_seen": [],
                                 "keys_offset": 0, "idle_size": 0, "users": 0}
        for n in range(nn):
            self._node_row(NI, NF, n, lists)
        for n in sim.clients:
            NI[N_AT_S, n] = self._stream(sim.c_throttle, n) if NI[N_AT, n] else -1
            NI[N_CEXP_S, n] = self._stream(sim.c_exp, n)
            NI[N_CTHIN_S, n] = self._stream(sim.c_thin, n)
            NI[N_CJIT_S, n] = self._stream(sim.c_jitter, n)
        # Workflows (workflows.py) and sticky balancers: per-node lists the core only reads.
        if nn:
            for row, name in self._WORKFLOW_LISTS:
                NI[row, :nn] = getattr(sim, name)
        NI[N_USER_S] = -1
        # Tokens Python's stop of a drained instance takes (operations._drained): one per
        # balancer in front that checks health, one for a deploy's replacement.
        for n in range(nn):
            NI[N_DRAINTOK, n] = 1 + sum(1 for lb in sim.n_lbs[n] if sim.lb_hc[lb] > 0)
        if sim.workflows:
            for n in sim.clients:
                NI[N_USER_S, n] = self._stream(sim.user_u, n)
                if sim.c_wf[n] == SESSION:  # its users' words in US
                    NI[N_UOFF, n] = lists["users"]
                    lists["users"] += sim.c_users[n]
        return NI, NF, lists

    def _node_row(self, NI: np.ndarray, NF: np.ndarray, n: int, lists: dict[str, Any]) -> None:
        """Node ``n``'s column of NI and NF; its entries appended to ``lists``."""
        sim = self.sim
        out, view, ups = lists["out"], lists["view"], lists["ups"]
        kind = sim.n_kind[n]
        NI[N_KIND, n] = kind
        NI[N_AMODE, n] = sim.n_amode[n]
        NI[N_PLAIN, n] = sim.n_plain[n]
        NI[N_LBOF, n] = sim.lb_of[n]
        NI[N_INST0, n] = sim.n_inst0[n]
        NI[N_OUT0, n], NI[N_OUTN, n] = len(out), len(sim.n_out[n])
        out.extend(sim.n_out[n])
        NI[N_WORK_S, n] = self._stream(sim.n_work, n)
        NI[N_OK_S, n] = self._stream(sim.n_ok_u, n) if kind == EXTERNAL else -1
        NI[N_RR, n] = sim.n_rr[n]
        NI[N_ALGO, n] = _ALGOS.get(sim.lb_algo[n], 0)
        NI[N_LB_S, n] = self._stream(sim.lb_u, n) if kind == LB and sim.lb_algo[n] == "random" \
            else -1
        NI[N_VIEW0, n], NI[N_VIEWN, n] = len(view), len(sim.lb_view[n])
        view.extend(sim.lb_view[n])
        NI[N_UP0, n], NI[N_UPN, n] = len(ups), len(sim.n_up[n])
        ups.extend(sim.n_up[n])
        NF[F_SLOW, n] = sim.n_slow[n]
        NF[F_ERROR, n] = sim.n_error[n]
        NF[F_RPS, n] = sim.c_rps[n]
        NF[F_BACKOFF, n] = sim.c_backoff[n]
        NI[N_CRETRIES, n] = sim.c_retries[n]
        NI[N_CTOK, n] = sim.c_tok[n]
        NI[N_CSEG, n] = sim.c_seg[n]
        NI[N_CEXP_S, n] = NI[N_CTHIN_S, n] = NI[N_CJIT_S, n] = -1
        NI[N_KEY_S, n] = -1
        NI[N_DOWN, n] = sim.n_down[n]
        if sim.n_cache[n]:
            NI[N_OK_S, n] = self._stream(sim.n_ok_u, n)
            NI[N_KEY_S, n] = self._stream(sim.n_key_u, n)
            NI[N_KEYS, n] = sim.n_keys[n]
            NI[N_NSEEN, n] = sim.n_nseen[n]
            NI[N_DRAWS, n] = sim.n_draws[n]
            NF[F_HIT, n] = sim.n_hit[n]
            NI[N_SEEN0, n] = -1  # beyond 2**24 keys: the expected share seen
            if sim.n_seen[n] is not None:
                NI[N_SEEN0, n] = lists["keys_offset"]
                lists["keys_seen"].append(np.frombuffer(sim.n_seen[n], dtype=np.uint8))
                lists["keys_offset"] += sim.n_keys[n]
        # Queues and workers; serverless containers (their idle times in a ring each).
        NI[N_QINST, n] = sim.n_qinst[n]
        NI[N_MAXDEPTH, n] = sim.n_maxdepth[n]
        NI[N_COLD_S, n] = self._stream(sim.n_cold, n)
        NF[F_KEEP, n] = sim.n_keep[n]
        _resilience(NI, NF, n, sim.document.nodes[n])
        NI[N_CANARY, n] = sim.n_canary[n]
        NF[F_CWEIGHT, n] = sim.n_cweight[n]
        NI[N_CAN_S, n] = self._stream(sim.n_can_u, n)
        NI[N_FAULT_S, n] = self._stream(sim.n_fault_u, n)
        NI[N_REL_S, n] = self._stream(sim.n_rel_u, n)
        if kind == SERVERLESS:
            NI[N_IDL0, n] = lists["idle_size"]
            NI[N_IDLCAP, n] = sim.i_cap[sim.n_inst0[n]]
            lists["idle_size"] += int(NI[N_IDLCAP, n])

    def _edge_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        sim = self.sim
        ne = len(sim.e_dst)
        EI = np.zeros((_E_ROWS, max(ne, 1)), dtype=np.int64)
        EF = np.zeros((_EF_ROWS, max(ne, 1)), dtype=np.float64)
        for e in range(ne):
            EI[E_DST, e] = sim.e_dst[e]
            EI[E_WHOLE, e] = sim.e_whole[e]
            EI[E_RETRIES, e] = sim.e_retries[e]
            EI[E_LAT_S, e] = self._stream(sim.e_lat, e)
            EI[E_U_S, e] = self._stream(sim.e_u, e)
            EI[E_ASYNC, e] = sim.e_async[e]
            EF[EF_FRAC, e] = sim.e_frac[e]
            EF[EF_TMO, e] = sim.e_tmo[e]
            EI[E_LANE, e] = self._lane(sim.e_tmo[e])
            # Resilience (SCHEMA.md's extensions): backoff between retries, a retry budget, a
            # bulkhead (calls in flight on the edge, counted at the caller).
            edge = sim.document.edges[e]
            EF[EF_BOFF, e] = edge.backoff_ms / 1e3
            EI[E_BOFF_S, e] = self._stream(sim.e_jitter, e)
            EI[E_MAXC, e] = -1 if edge.max_concurrent is None else edge.max_concurrent
            EI[E_BUD, e] = _budget(EF, EF_BUD, e, edge.retry_budget)
            _breaker(EI, EF, e, edge.circuit_breaker)
        return EI, EF

    def _lane(self, tmo: float) -> int:
        """The timeout lane of an edge with timeout ``tmo`` (-1: none, or the heap)."""
        if not tmo:
            return -1
        lanes = self._lanes
        if tmo not in lanes and len(lanes) < _LANES:
            lanes.append(tmo)
        return lanes.index(tmo) if tmo in lanes else -1

    def _instance_arrays(self, NI: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """II and IF; NI's N_XF bits, which depend on the instances' floats."""
        sim = self.sim
        ni = len(sim.i_node)
        II = np.zeros((_I_ROWS, max(ni, 1)), dtype=np.int64)
        for i in range(ni):
            II[I_CAP, i] = sim.i_cap[i]
            II[I_QCAP, i] = sim.i_qcap[i]
            II[I_HASQ, i] = sim.i_q[i] is not None
            II[I_STATE, i] = sim.i_state[i]
            II[I_QNODE, i] = sim.i_qnode[i]
            II[I_NODE, i] = sim.i_node[i]
        IF = np.zeros((_IF_ROWS, max(ni, 1)), dtype=np.float64)
        IF[IF_FAIL, :ni] = sim.i_fail
        IF[IF_RERR, :ni] = sim.i_rerr
        IF[IF_SLOW, :ni] = sim.i_slow
        _extras(NI, IF, sim.i_node, len(sim.ids))
        return II, IF

    def _stream_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """SB, SI and SV: each stream's first draws, or its constant."""
        ns = max(len(self.streams), 1)
        SB = np.zeros((ns, _SCAP), dtype=np.float64)
        SI = np.zeros((3, ns), dtype=np.int64)
        SV = np.zeros(ns, dtype=np.float64)
        for k, parts in enumerate(self.streams):
            if isinstance(parts, float):
                SI[S_CONST, k] = 1
                SV[k] = parts
            else:
                rest = parts[0][:_SCAP]
                SB[k, :len(rest)] = rest
                SI[S_LEN, k] = len(rest)
        return SB, SI, SV

    def _heap_and_scalars(self) -> tuple[np.ndarray, ...]:
        """The heap as it stands (emissions and traffic notes, now the core's), the token
        counter and the other scalars, and the traffic profile."""
        sim = self.sim
        hcap = 1 << max(15, (2 * len(sim.heap) + _HRES).bit_length())
        HT, HI = state.empty("HT", 0, hcap), state.empty("HI", 3, hcap)
        M = np.zeros(_M_ROWS, dtype=np.int64)
        MF = np.zeros(3, dtype=np.float64)
        for j, (t, s, code, a) in enumerate(sim.heap):
            HT[j], HI[j, H_S], HI[j, H_C], HI[j, H_A] = t, s, code, a
        M[M_HN] = len(sim.heap)
        sim.heap.clear()  # the core's now; Python's callbacks may schedule more (_callback)
        M[M_TOK] = _peek(sim.cnt)
        M[M_MAXLIVE] = min(int(sim.limits.max_in_flight), 1 << 62)
        M[M_FLAT] = sim._flat
        pts = sim._profile
        PT = np.array([[p[0] for p in pts], [p[1] for p in pts]], dtype=np.float64)
        M[M_NPTS] = len(pts)
        MF[MF_W0], MF[MF_W1] = sim.w0, sim.w1
        M[M_WFLOWS] = sim.workflows
        M[M_WFSER] = sim.wf_serial
        return HT, HI, M, MF, PT

    def _window_pool(self, NI: np.ndarray, EI: np.ndarray, M: np.ndarray
                     ) -> tuple[np.ndarray, int, int]:
        """The circuit breakers' and adaptive throttles' window records (a pool, every record
        free: RI and the capacity of RT) and the room for the breakers' changes of state the
        core reports (BT, BI: times; edge x 4 + new state), drained by _flush. Sets M's guard
        and reserve."""
        sim = self.sim
        nb = len(sim.breakers) + sum(1 for n in sim.clients if NI[N_AT, n])
        rcap = max(1024, 4 * nb) if nb else 1
        RI = np.zeros((3, rcap), dtype=np.int64)
        RI[R_NEXT] = np.arange(1, rcap + 1)
        RI[R_NEXT, rcap - 1] = -1
        M[M_RFREE], M[M_RNFREE] = (0, rcap) if nb else (-1, 0)
        M[M_CBRES] = 2 * nb
        # Whether any call has a guard to pass (a breaker, a bulkhead, a client's throttle):
        # without one, calls skip it.
        M[M_GUARD] = bool(nb) or bool((EI[E_MAXC, :len(sim.e_dst)] >= 0).any())
        return RI, rcap, 4 * nb + 1024 if nb else 1

    def _set_full(self) -> None:
        """Whether the core runs its full functions: the design (or, since a live control or an
        event, one of its instances) may use one of the rarer features, the resilience
        extensions and faults and deploys (jitcore.full). Plain designs run the functions
        compiled without their code."""
        sim, S = self.sim, self.S
        NI, NF, EI, EF, M = S.NI, S.NF, S.EI, S.EF, S.M
        nn, ne = len(sim.ids), len(sim.e_dst)
        self.full = bool(
            M[M_GUARD] or M[M_CBRES] or NI[N_XF, :nn].any() or NI[N_CBUD, :nn].any()
            or NI[N_LIFO, :nn].any() or (NF[F_MAXWAIT, :nn] >= 0.0).any()
            or EI[E_BUD, :ne].any() or (EF[EF_BOFF, :ne] > 0.0).any())

    def _packed(self) -> Any:
        """``S`` as the jitted functions take it (jitcore.PACKED): one int64 array of the arrays'
        addresses and shapes, redone for those replaced since the last call (the arrays stay
        alive in ``S``), typed uint64 when the core runs its full functions (``full``); or the
        tuple itself without the JIT."""
        S = self.S
        jit = _jit()
        if not jit.PACKED:
            return S.as_state()
        P, seen = self._pack, self._packed_of
        if S.version == self._packed_version:
            return self._pack_full if self.full else P
        self._packed_version = S.version
        for k, a in enumerate(S):
            if a is not seen[k]:
                dtype, ndim = jit.LAYOUT[k]
                if a.dtype != dtype or a.ndim != ndim or not a.flags.c_contiguous:
                    raise TypeError(f"compiled core: array {k} is not {ndim}-d {dtype}")
                P[3 * k] = a.ctypes.data
                P[3 * k + 1] = a.shape[0]
                P[3 * k + 2] = a.shape[1] if ndim == 2 else 0
                seen[k] = a
        return self._pack_full if self.full else P

    # -- streams and buffers

    def _refill(self) -> None:
        """Top up every stream with fewer than ``_SRES`` draws left by whole blocks."""
        SB, SI = self.S.SB, self.S.SI
        low = np.flatnonzero((SI[S_LEN] - SI[S_POS] < _SRES) & (SI[S_CONST] == 0))
        for k in low.tolist():
            pos, n = int(SI[S_POS, k]), int(SI[S_LEN, k])
            rest = n - pos
            SB[k, :rest] = SB[k, pos:n]
            source = self.streams[k][1]  # type: ignore[index]
            while rest + rng.BLOCK <= _SCAP:
                SB[k, rest:rest + rng.BLOCK] = source.array()
                rest += rng.BLOCK
            SI[S_POS, k], SI[S_LEN, k] = 0, rest
        self.S.M[M_FLAG] = 0

    def _flush(self) -> None:
        """Move the core's result buffers into the simulation's lists. A tick's latencies are
        only ever sorted (``summarize``), so they go in sorted runs, which Python's sort merges
        in linear time; the window's keep their order (the histogram sums them)."""
        sim, S = self.sim, self.S
        LT, LW, WB, WN, M = S.LT, S.LW, S.WB, S.WN, S.M
        k = int(M[M_NBE])
        if k:  # the breakers' changes of state, in order, into the frames' events
            for t, code in zip(S.BT[:k].tolist(), S.BI[:k].tolist(), strict=True):
                sim._note({"t": t, "action": _CB_ACTIONS[code & 3],
                           "edge": sim.edge_names[code >> 2]})
            M[M_NBE] = 0
        k = int(M[M_LT])
        if k:
            sim.lat_tick.append(np.sort(LT[:k]))
            M[M_LT] = 0
        k = int(M[M_LW])
        if k:
            sim.lat_win.append(LW[:k].copy())
            M[M_LW] = 0
        k = int(M[M_WB])
        if k:
            values, nodes = WB[:k].copy(), WN[:k]
            lo, hi = int(nodes.min()), int(nodes.max())
            if lo < FAILED:  # a canary's latencies (jitcore.canary_note)
                canary = nodes < FAILED
                for m in np.unique(nodes[canary]).tolist():
                    sim.canary_ms[CANARY - m].extend(values[nodes == m].tolist())
                values, nodes = values[~canary], nodes[~canary]
                if not nodes.size:
                    M[M_WB] = 0
                    return
                lo, hi = int(nodes.min()), int(nodes.max())
            if lo == hi:  # one node's waits (the usual case), or failed latencies only
                if lo == FAILED:
                    sim.fail_win.append(values)
                else:
                    self._waits(lo, values)
                M[M_WB] = 0
                return
            failed = nodes == FAILED
            if failed.any():  # failed requests' latencies, in their order (jitcore.fail_latency)
                sim.fail_win.append(values[failed])
                values, nodes = values[~failed], nodes[~failed]
            if nodes.size:
                first = int(nodes[0])
                if (nodes == first).all():
                    self._waits(first, values)
                else:
                    for n in np.unique(nodes).tolist():
                        self._waits(n, values[nodes == n])
            M[M_WB] = 0

    def _waits(self, n: int, values: np.ndarray) -> None:
        """Node ``n``'s positive waits (ms), a chunk the simulation keeps as it is."""
        self.sim.n_wbuf[n].append(values)
        self.sim.n_wcount[n] += len(values)

    def _grow(self) -> None:
        S, M = self.S, self.S.M
        vcap = S.VT.shape[0]
        if M[M_SLOTS] + _VRES > vcap:
            # Straight to room for the run's bound on what is in flight (M_MAXLIVE), when that
            # is more than double: the arrays are zeroed pages from the system, which take
            # memory only where a slot is used, so the reservation costs address space, and
            # each later doubling would copy every slot and touch their pages again (a storm
            # whose backlog grows for the whole run spent a third of its time there).
            want = min(int(M[M_MAXLIVE]) + _VRES, _VRESERVE)
            S.grow("visits", max(2 * vcap, want))
        tcap = S.TB.shape[0]
        if 2 * (M[M_HCNT] + _TRES) > tcap:  # a hash table: rehashed, not copied
            TB = state.empty("TB", 2, 2 * tcap)
            _jit().rehash(S.TB, TB)
            S.TB = TB
        if M[M_CBRES]:
            self._grow_breakers()
        if M[M_HN] + _HRES > S.HT.shape[0]:
            S.grow("heap", 2 * S.HT.shape[0])
        if M[M_WFSER] + _SERRES > S.CH.shape[0]:
            S.grow("serials", 2 * S.CH.shape[0])
        if M[M_QMAX] + _QRES > S.QT.shape[1]:
            self._grow_lanes()

    def _grow_lanes(self) -> None:
        """Room for one event's timeouts at the tail of every lane: each lane's timeouts move to
        the front of its row (their heads and tails with them), and the rows double while they
        would be more than half full."""
        S, M = self.S, self.S.M
        longest = 0
        for k in range(int(M[M_NQ])):
            h, t = int(M[M_QH0 + k]), int(M[M_QT0 + k])
            for A in (S.QT, S.QS, S.QA):
                A[k, :t - h] = A[k, h:t]
            M[M_QH0 + k], M[M_QT0 + k] = 0, t - h
            longest = max(longest, t - h)
        M[M_QMAX] = longest
        cap = S.QT.shape[1]
        while 2 * (longest + _QRES) > cap:
            cap *= 2
        if cap > S.QT.shape[1]:
            S.grow("lanes", cap)

    def _grow_breakers(self) -> None:
        """Room for one event's breaker records (at most one new per breaker: an edge's
        completions at one time share a record) and changes of state (at most two per breaker
        at one time), with a wide margin."""
        S, M = self.S, self.S.M
        res = int(M[M_CBRES])
        if M[M_RNFREE] < 2 * res:
            cap = S.RT.shape[0]
            S.grow("records", 2 * cap)
            S.RI[R_NEXT, cap:] = np.arange(cap + 1, 2 * cap + 1)  # the new records, then the
            S.RI[R_NEXT, 2 * cap - 1] = M[M_RFREE]                 # free ones before them
            M[M_RFREE] = cap
            M[M_RNFREE] += cap
        if M[M_NBE] + 2 * res > S.BT.shape[0]:
            S.grow("changes", 2 * S.BT.shape[0])

    # -- the simulation's lists, both ways

    _WORKFLOW_LISTS = ((N_HOOK, "n_hook"), (N_STATE, "n_state"), (N_SEDGE, "n_state_edge"),
                       (N_WF, "c_wf"), (N_USERS, "c_users"), (N_PARTS, "c_parts"),
                       (N_CKEYS, "c_keys"), (N_OWNER, "c_owner"), (N_CHARGER, "c_charger"),
                       (N_LBTGT, "lb_target"))

    def _load(self, diff: bool = False) -> None:
        """The simulation's counters (frames reset some of them) into the arrays. With
        ``diff`` (the start of ``advance_to``: only frames have run since the last ``_store``,
        so the arrays still hold what it wrote into the lists, ``_mirror``), only the lists that
        differ from it; else all of them."""
        sim, S = self.sim, self.S
        nn = len(sim.ids)
        NI, NF = S.NI, S.NF
        mirror, self._mirror = self._mirror, None
        if mirror is None or not diff:
            if nn:
                NI[_NODE_INT_ROWS, :nn] = [getattr(sim, name) for _, name in _NODE_INTS]
                NF[_NODE_FLOAT_ROWS, :nn] = [getattr(sim, name) for _, name in _NODE_FLOATS]
                S.NERR[:nn] = sim.n_err
            S.F[:] = sim.F
            S.W[:] = sim.W
        else:
            ints, floats, errs, F, W = mirror
            for (row, name), was in zip(_NODE_INTS, ints, strict=True):
                now = getattr(sim, name)
                if now != was:
                    NI[row, :nn] = now
            for (row, name), was in zip(_NODE_FLOATS, floats, strict=True):
                now = getattr(sim, name)
                if now != was:
                    NF[row, :nn] = now
            if sim.n_err != errs:
                S.NERR[:nn] = sim.n_err
            if sim.F != F:
                S.F[:] = sim.F
            if sim.W != W:
                S.W[:] = sim.W
        for n in self._serverless:
            idle = sim.n_idle[n]
            off = int(NI[N_IDL0, n])
            S.IDL[off:off + len(idle)] = list(idle)
            NI[N_IDLH, n], NI[N_IDLN, n] = 0, len(idle)

    def _store(self) -> None:
        """The arrays into the simulation's lists (in place: the closures hold them)."""
        sim, S = self.sim, self.S
        nn = len(sim.ids)
        NI, NF = S.NI, S.NF
        ints = NI[_NODE_INT_ROWS, :nn].tolist()
        for (_, name), values in zip(_NODE_INTS, ints, strict=True):
            getattr(sim, name)[:] = values
        floats = NF[_NODE_FLOAT_ROWS, :nn].tolist()
        for (_, name), values in zip(_NODE_FLOATS, floats, strict=True):
            getattr(sim, name)[:] = values
        errs = S.NERR[:nn].tolist()
        for n, row in enumerate(errs):
            sim.n_err[n][:] = row
        F, W = S.F.tolist(), S.W.tolist()
        sim.F[:] = F
        sim.W[:] = W
        # What the lists now hold, for _load (copies: the lists themselves may change).
        self._mirror = (ints, floats, errs, F, W)
        k = min(len(sim.i_busy), S.II.shape[1])  # instances launched since the last sync: idle
        sim.i_busy[:k] = S.II[I_BUSY, :k].tolist()
        IDL = S.IDL
        for n in self._serverless:
            off, cap = int(NI[N_IDL0, n]), int(NI[N_IDLCAP, n])
            head, size = int(NI[N_IDLH, n]), int(NI[N_IDLN, n])
            ring = IDL[off:off + cap]
            sim.n_idle[n].clear()
            sim.n_idle[n].extend(ring[head:head + size].tolist())  # from the head, then wrapped
            if head + size > cap:
                sim.n_idle[n].extend(ring[:head + size - cap].tolist())

    def advance_to(self, until: float) -> None:
        """Process every event before ``until`` (the simulation's ``_advance_to``)."""
        sim = self.sim
        self._load(diff=True)
        S = self.S
        M = S.M
        M[M_LEFT] = sim._left
        while True:
            status = self.advance(self._packed(), until)
            if status == R_DONE:
                break
            if status == R_SLICE:  # a slice of events done: the simulation's checkpoint
                sim._left = 0
                sim._checkpoint()
                M[M_LEFT] = sim._left
                continue
            if status == R_LATER:  # a Python callback: an event, instance life, a note
                token = int(M[M_LATER_S])
                fn = sim.later.pop(token, None)
                if fn is not None:
                    self.python(fn, float(S.MF[MF_LATER_T]))
                continue
            if status == R_DRAINED:
                self.python(lambda t: None, 0.0)
                continue
            if status == R_BROKEN:
                raise RuntimeError("compiled core: a stream ran dry within one event")
            self._flush()
            self._grow()
            self._refill()
        sim._left = int(M[M_LEFT])
        self._flush()
        self._store()
        sim.clock = until

    def python(self, fn: Any, t: float, between_ticks: bool = False) -> None:
        """Run ``fn(t)`` (a scheduled callback, a live control) on the simulation's lists, then
        take back what it changed: node flags, caches flushed, instances (launched, stopped,
        balancer views), events it scheduled, the tokens it used; then stop the instances
        found drained meanwhile (``_drained_stops``). Visits stay in the arrays: Python reaches
        them through ``stop_visits``. ``between_ticks``: called between ``advance_to`` calls,
        when the lists already hold the truth (a frame has reset some of them)."""
        if not between_ticks:
            self._flush()
            self._store()
        with self._tokens():
            fn(t)
        self._take_back()
        self._drained_stops()

    @contextlib.contextmanager
    def _tokens(self, base: int | None = None) -> Iterator[None]:
        """Python's token counter continues the core's (or takes the tokens from ``base`` that
        the core reserved) for the duration; after it the core's continues Python's."""
        sim, M = self.sim, self.S.M
        counter = sim.cnt
        sim.cnt = itertools.count(int(M[M_TOK]) if base is None else base)
        try:
            yield
        finally:
            if base is None:
                M[M_TOK] = _peek(sim.cnt)
            sim.cnt = counter

    def _take_back(self) -> None:
        sim, S = self.sim, self.S
        NI, NF, M, SEEN = S.NI, S.NF, S.M, S.SEEN
        nn = len(sim.ids)
        NI[N_DOWN, :nn] = sim.n_down
        NF[F_SLOW, :nn] = sim.n_slow
        NI[N_CANARY, :nn] = sim.n_canary
        NF[F_CWEIGHT, :nn] = sim.n_cweight
        for n in range(nn):
            if sim.n_cache[n] and sim.n_seen[n] is not self._keys_seen[n]:  # flushed
                off = int(NI[N_SEEN0, n])
                SEEN[off:off + sim.n_keys[n]] = np.frombuffer(sim.n_seen[n], dtype=np.uint8)
                NI[N_NSEEN, n] = sim.n_nseen[n]
                self._keys_seen[n] = sim.n_seen[n]
        self._sync_instances()
        self._grow()
        for t2, s2, code, a in sim.heap:
            _jit().hpush(S.HT, S.HI, M, t2, s2, code, a)
        sim.heap.clear()
        self._load()

    def _drained_stops(self) -> None:
        """Stop the instances the core found drained (their last request left while they were
        draining), each with the tokens the core set aside for it at that moment, so that what
        the stop schedules falls where it would at that moment."""
        sim, S = self.sim, self.S
        M, PD, PDT = S.M, S.PD, S.PDT
        while M[M_NPD]:
            pending = [(int(PD[0, j]), int(PD[1, j]), float(PDT[j])) for j in range(int(M[M_NPD]))]
            M[M_NPD] = 0
            self._flush()
            self._store()
            for i, base, t in pending:
                if sim.i_state[i] == DRAINING and not sim.i_busy[i]:
                    with self._tokens(base):
                        sim._drained(i, t)
            self._take_back()

    def _sync_instances(self) -> None:
        """Instances and balancer views from the simulation's lists (Python launched, stopped,
        drained or readied some): II's columns, the ranges of UPS and VIEW."""
        sim, S = self.sim, self.S
        NI, II = S.NI, S.II
        ni = len(sim.i_node)
        if II.shape[1] < ni:
            S.grow("instances", 2 * ni)  # IF's values are set from the lists just below
            II = S.II
        IF = S.IF
        IF[IF_FAIL, :ni] = sim.i_fail
        IF[IF_RERR, :ni] = sim.i_rerr
        IF[IF_SLOW, :ni] = sim.i_slow
        _extras(NI, IF, sim.i_node, len(sim.ids))
        self._set_full()
        II[I_CAP, :ni] = sim.i_cap
        II[I_QCAP, :ni] = sim.i_qcap
        II[I_HASQ, :ni] = [q is not None for q in sim.i_q]
        II[I_STATE, :ni] = sim.i_state
        II[I_QNODE, :ni] = sim.i_qnode
        II[I_NODE, :ni] = sim.i_node
        view: list[int] = []
        ups: list[int] = []
        for n in range(len(sim.ids)):
            NI[N_VIEW0, n], NI[N_VIEWN, n] = len(view), len(sim.lb_view[n])
            view.extend(sim.lb_view[n])
            NI[N_UP0, n], NI[N_UPN, n] = len(ups), len(sim.n_up[n])
            ups.extend(sim.n_up[n])
        S.VIEW = np.array(view or [0], dtype=np.int64)
        S.UPS = np.array(ups or [0], dtype=np.int64)

    def canary_counts(self, n: int) -> tuple[int, int]:
        """Requests node ``n``'s canaries answered so far, and how many of them failed."""
        NI = self.S.NI
        return int(NI[N_CREQ, n]), int(NI[N_CERR, n])

    def queue_len(self, i: int) -> int:
        return int(self.S.II[I_QLEN, i])

    def stop_visits(self, n: int, i: int, t: float) -> None:
        """Instance ``i`` of node ``n`` stops (operations._stop, inside ``python``): what it
        holds or queues fails ``unavailable``, in slot order."""
        sim, S = self.sim, self.S
        VI, M = S.VI, S.M
        slots = int(M[M_SLOTS])
        victims = np.flatnonzero((VI[:slots, V_NODE] == n) & (VI[:slots, V_INST] == i)
                                 & (VI[:slots, V_HOLD] != IN_TRANSIT))
        if not len(victims):  # a drained instance: nothing to fail (and tokens to keep as they are)
            return
        self._sync_instances()  # the arrays hold the truth while the core works
        self._load()
        M[M_TOK] = _peek(sim.cnt)
        jit = _jit()
        jit.stop_prepare(self._packed(), n, i, t, victims)
        for j in range(0, len(victims), 8):  # a few at a time: streams and arrays refilled
            self._grow()
            self._refill()
            jit.stop_fail(self._packed(), n, t, victims[j:j + 8])
        sim.cnt = itertools.count(int(M[M_TOK]))
        self._flush()
        self._store()

    def control(self, control: Any, t: float) -> None:
        """Apply a live control at ``t`` (the start of a tick) without leaving the core."""
        sim, S = self.sim, self.S
        if not isinstance(control, TrafficStep):
            self.python(lambda t2: sim._do_event(control, t2), t, between_ticks=True)
            return
        self.python(lambda t2: sim._apply_traffic(control, t2, emissions=False), t,
                    between_ticks=True)
        pts = sim._profile
        S.PT = np.array([[p[0] for p in pts], [p[1] for p in pts]], dtype=np.float64)
        M, NI = S.M, S.NI
        M[M_NPTS], M[M_FLAT] = len(pts), 0
        jit = _jit()
        for n in sim.clients:
            NI[N_CSEG, n] = 0
            self._grow()
            self._refill()
            jit.schedule_emission(self._packed(), n, t)
            sim.c_tok[n] = int(NI[N_CTOK, n])  # between ticks the lists hold the truth

    def breaker_states(self) -> dict[str, str]:
        """Each circuit breaker's state, by its edge's name (a frame's ``breakers``)."""
        sim, EI = self.sim, self.S.EI
        return {sim.edge_names[e]: CB_NAMES[int(EI[E_CBST, e])] for e in sim.breakers}

    def live(self) -> int:
        M = self.S.M
        return int(M[M_SLOTS] - M[M_FREE])

def _budget(A: np.ndarray, base: int, j: int, budget: Any) -> int:
    """Column ``j`` of a retry budget's rows (from ``base`` in ``A``): 1, or 0 without one. The
    bucket starts with its floor's ten seconds' worth."""
    if budget is None:
        return 0
    A[base + B_RATIO, j] = budget.ratio
    A[base + B_MIN, j] = budget.min_per_s
    A[base + B_CAP10, j] = 10.0 * budget.min_per_s
    A[base + B_TOK, j] = 10.0 * budget.min_per_s
    return 1


def _breaker(EI: np.ndarray, EF: np.ndarray, e: int, cb: Any) -> None:
    """Edge ``e``'s circuit breaker, closed with an empty window (nothing without one)."""
    EI[E_CBHEAD, e] = EI[E_CBTAIL, e] = -1
    if cb is None:
        return
    EI[E_CB, e] = 1
    EI[E_CBMIN, e] = cb.min_calls
    EI[E_CBHALF, e] = cb.half_open_calls
    EF[EF_CBRATIO, e] = cb.failure_ratio
    EF[EF_CBWIN, e] = cb.window_s
    EF[EF_CBOPEN, e] = cb.open_s


#: The action of a frame's event for a breaker's new state.
_CB_ACTIONS = ("breaker_closed", "breaker_open", "breaker_half_open")


def _extras(NI: np.ndarray, IF: np.ndarray, i_node: list[int], nn: int) -> None:
    """Set each node's N_XF bits from its parameters (rate limit, cores), its canary and its
    instances' floats (instance_errors, a release's errors and slowdown)."""
    if not nn:
        return
    ni = len(i_node)
    nodes = np.asarray(i_node, dtype=np.int64)
    xf = np.where((NI[N_RLIM, :nn] != 0) | (NI[N_CANARY, :nn] >= 0), XF_ARR, 0)
    xf |= np.where(NI[N_CORES, :nn] != 0, XF_WORK, 0)
    if ni:
        for bit, flagged in ((XF_ARR, IF[IF_FAIL, :ni] > 0.0), (XF_WORK, IF[IF_SLOW, :ni] != 1.0),
                             (XF_REL, IF[IF_RERR, :ni] > 0.0)):
            hit = np.zeros(nn, dtype=bool)
            hit[nodes[flagged]] = True
            xf |= np.where(hit, bit, 0)
    NI[N_XF, :nn] = xf


def _resilience(NI: np.ndarray, NF: np.ndarray, n: int, node: Any) -> None:
    """Node ``n``'s parameters of SCHEMA.md's resilience extensions: a client's retry budget; a
    service's queue policy, max queue wait and rate limit (a bucket that starts full)."""
    p = node.params
    NF[F_MAXWAIT, n] = -1.0
    if node.kind == "client":
        NI[N_CBUD, n] = _budget(NF, F_CBUD, n, p.get("retry_budget"))
        throttle = p.get("adaptive_throttle")
        NI[N_ATHEAD, n] = NI[N_ATTAIL, n] = -1
        if throttle is not None:
            NI[N_AT, n] = 1
            NF[F_ATK, n] = throttle.k
            NF[F_ATWIN, n] = throttle.window_s
    if node.kind != "service":
        return
    NI[N_LIFO, n] = p.get("queue_policy") == "lifo"
    NI[N_CORES, n] = p.get("cores") or 0
    if p.get("max_queue_wait_ms") is not None:
        NF[F_MAXWAIT, n] = p["max_queue_wait_ms"] / 1e3
    limit = p.get("rate_limit")
    if limit is not None:
        NI[N_RLIM, n] = 1
        burst = limit.rps if limit.burst is None else limit.burst
        NF[F_RL_RATE, n] = limit.rps
        NF[F_RL_BURST, n] = burst
        NF[F_RL_TOK, n] = burst


def _jit() -> Any:
    from playground.engine import jitcore

    return jitcore


def _peek(counter: itertools.count) -> int:
    """The next value of an ``itertools.count`` without taking it."""
    text = repr(counter)
    return int(text[text.index("(") + 1:text.index(")")].split(",")[0])


def warm() -> None:
    """Compile the core, or load it from numba's cache, now rather than in the first run: a
    design whose run reaches every compiled function Python calls (a workflow table that
    grows with a sticky balancer's pins, a stopped instance, a drained one, a live traffic
    control), run plain and then with a queue wait limit, which makes it take the full
    functions (Core.full)."""
    from playground.engine.schema import load
    from playground.engine.simulation import Simulation

    for extra in ({}, {"max_queue_wait_ms": 1000}):
        sim = Simulation(load({"schema_version": 1, "nodes": [
            {"id": "c", "kind": "client", "params": {"rps": 3000, "users": 100000,
                                                     "workflow": "session"}},
            {"id": "lb", "kind": "load_balancer", "params": {"algorithm": "sticky"}},
            {"id": "s", "kind": "service", "params": {"instances": 2, "state": "local",
                                                      "startup_s": 0, **extra}}],
            "edges": [{"from": "c", "to": "lb"}, {"from": "lb", "to": "s"}],
            "scenario": {"duration_s": 3, "events": [
                {"at_s": 1, "action": "kill_instance", "node": "s"},
                {"at_s": 1.5, "action": "rolling_deploy", "node": "s", "interval_s": 0}]}}))
        sim.step()
        if sim.core.full != bool(extra):
            raise RuntimeError("compiled.warm: its design no longer takes the functions it warms")
        sim.apply({"kind": "traffic", "multiplier": 0.5, "ramp_s": 0})
        sim.run()
