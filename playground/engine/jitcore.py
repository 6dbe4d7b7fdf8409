"""The compiled core of compiled.py: numba functions over its arrays (imported only when numba
is installed; compiled.py documents the arrays and what the core does).

Each function is simulation.py's closure of the same name (``advance`` is its ``advance_to``),
restricted to call-tree designs; keep them in step.
"""

from __future__ import annotations

import hashlib
import math
import os
from typing import Any

import numba
import numpy as np

from playground.engine.codes import (
    A_DELAY,
    A_POOL,
    A_SERVICE,
    C_ATTEMPTS,
    C_CHARGES,
    C_DUPLICATES,
    C_LOGGED_OUT,
    C_LOGINS,
    C_OK,
    C_REQUESTS,
    C_UPLOADS,
    C_UPLOADS_FAILED,
    CIRCUIT_OPEN,
    CLIENT,
    DEAD,
    DRAINING,
    ERROR,
    EV_ARRIVE,
    EV_DONE,
    EV_EMIT,
    EV_RETRY,
    EV_TIMEOUT,
    EXTERNAL,
    IN_TRANSIT,
    OK,
    OVERLOAD,
    QUEUE,
    RATE_LIMITED,
    RETRYABLE,
    SERVERLESS,
    SERVERLESS_POOL,
    SERVICE,
    SESSION_LOST,
    SHED,
    STATE_ACCESS,
    TIMEOUT,
    UNAVAILABLE,
    UP,
    UPLOAD_FAILED,
)
from playground.engine.compiled import (
    _BRES,
    _HRES,
    _QRES,
    _SERRES,
    _SRES,
    _TRES,
    _V_WORDS,
    _VRES,
    B_CAP10,
    B_DEP,
    B_MIN,
    B_RATIO,
    B_T,
    B_TOK,
    CANARY,
    CB_CLOSED,
    CB_HALF,
    CB_OPEN,
    CH_KEXT,
    E_ASYNC,
    E_BOFF_S,
    E_BUD,
    E_CB,
    E_CBADM,
    E_CBF,
    E_CBGEN,
    E_CBHALF,
    E_CBHEAD,
    E_CBMIN,
    E_CBN,
    E_CBOK,
    E_CBST,
    E_CBTAIL,
    E_CBTOK,
    E_DST,
    E_INFL,
    E_LANE,
    E_LAT_S,
    E_MAXC,
    E_RETRIES,
    E_U_S,
    E_WHOLE,
    EF_BOFF,
    EF_BUD,
    EF_CBOPEN,
    EF_CBRATIO,
    EF_CBWIN,
    EF_FRAC,
    EF_TMO,
    EMPTY,
    EV_BREAKER,
    EV_DEFER,
    EV_ERETRY,
    EV_PSDONE,
    F_ATK,
    F_ATWIN,
    F_BACC,
    F_BACKOFF,
    F_CBUD,
    F_CWEIGHT,
    F_ERROR,
    F_HIT,
    F_KEEP,
    F_MAXWAIT,
    F_QACC,
    F_RL_BURST,
    F_RL_RATE,
    F_RL_T,
    F_RL_TOK,
    F_RPS,
    F_SLOW,
    F_SS,
    F_XACC,
    FAILED,
    H_A,
    H_C,
    H_S,
    I_BUSY,
    I_CAP,
    I_HASQ,
    I_NODE,
    I_PSHEAD,
    I_PSN,
    I_PST,
    I_PSTOK,
    I_QCAP,
    I_QHEAD,
    I_QLEN,
    I_QNODE,
    I_QTAIL,
    I_STATE,
    IF_FAIL,
    IF_RERR,
    IF_SLOW,
    M_CBRES,
    M_ERR,
    M_FLAG,
    M_FLAT,
    M_FREE,
    M_GUARD,
    M_HCNT,
    M_HN,
    M_HTOP,
    M_LATER_S,
    M_LEFT,
    M_LT,
    M_LW,
    M_MAXLIVE,
    M_NBE,
    M_NEXT,
    M_NEXT_N,
    M_NEXT_R,
    M_NPD,
    M_NPTS,
    M_NQ,
    M_QBEST,
    M_QH0,
    M_QMAX,
    M_QT0,
    M_RFREE,
    M_RNFREE,
    M_SLOTS,
    M_TOK,
    M_WB,
    M_WFLOWS,
    M_WFSER,
    MF_LATER_T,
    MF_W0,
    MF_W1,
    N_ALGO,
    N_AMODE,
    N_ARR,
    N_AT,
    N_AT_S,
    N_ATACC,
    N_ATHEAD,
    N_ATREQ,
    N_ATTAIL,
    N_BUSY,
    N_CALLS,
    N_CAN_S,
    N_CANARY,
    N_CBUD,
    N_CERR,
    N_CEXP_S,
    N_CHARGER,
    N_CJIT_S,
    N_CKEYS,
    N_COLD_S,
    N_CORES,
    N_CREQ,
    N_CRETRIES,
    N_CSEG,
    N_CTHIN_S,
    N_CTOK,
    N_DEPTH,
    N_DOWN,
    N_DRAINTOK,
    N_DRAWS,
    N_FAULT_S,
    N_HOOK,
    N_IDL0,
    N_IDLCAP,
    N_IDLH,
    N_IDLN,
    N_INST0,
    N_KEY_S,
    N_KEYS,
    N_KIND,
    N_LB_S,
    N_LBOF,
    N_LBTGT,
    N_LIFO,
    N_MAXDEPTH,
    N_NSEEN,
    N_OK_S,
    N_OUT0,
    N_OUTN,
    N_OWNER,
    N_PARTS,
    N_PLAIN,
    N_Q,
    N_QINST,
    N_REL_S,
    N_RLIM,
    N_RR,
    N_SEDGE,
    N_SEEN0,
    N_SN,
    N_STATE,
    N_UOFF,
    N_UP0,
    N_UPN,
    N_USER_S,
    N_USERS,
    N_VIEW0,
    N_VIEWN,
    N_WF,
    N_WORK_S,
    N_WZ,
    N_X,
    N_XF,
    R_BROKEN,
    R_DONE,
    R_DRAINED,
    R_FAIL,
    R_LATER,
    R_NEXT,
    R_OK,
    R_SLICE,
    R_YIELD,
    S_CONST,
    S_LEN,
    S_POS,
    T_KLOCAL,
    T_PIN,
    T_SHIFT,
    T_UPLOAD,
    TB_K,
    TB_V,
    U_LOGGED,
    U_SEXT,
    U_SHIFT,
    V_AUX,
    V_CBG,
    V_DEF,
    V_EDGE,
    V_HOLD,
    V_INST,
    V_LEFT,
    V_NODE,
    V_PAR,
    V_PSNEXT,
    V_PTOK,
    V_QNEXT,
    V_REQ,
    V_TOK,
    V_TRY,
    V_WAIT,
    V_WE,
    XF_ARR,
    XF_REL,
    XF_WORK,
)
from playground.engine.state import LAYOUT, State
from playground.engine.workflows import (
    EXTERNAL_STATE,
    LOCAL,
    NO_STATE,
    PAYMENT,
    SESSION,
    STATELESS,
    UPLOAD,
)


def _cache_dir() -> str:
    """Where numba caches the core: a directory named by a digest of the constants compiled into
    it from compiled.py, codes.py, workflows.py and state.py (the rows of its arrays, its codes,
    the arrays themselves). numba notices edits to this file only; a cache from before an edit
    to those constants would run with the old layout."""
    from playground.engine import codes, compiled, state, workflows

    digest = hashlib.sha256()
    for module in (compiled, codes, workflows, state):
        for name, value in sorted(vars(module).items()):
            if name.lstrip("_").isupper() and isinstance(value, (int, float, str, tuple)):
                digest.update(f"{module.__name__}.{name}={value!r};".encode())
    base = os.environ.get("NUMBA_CACHE_DIR") or os.path.join(os.path.dirname(__file__),
                                                              "__pycache__")
    return os.path.join(base, f"core-{digest.hexdigest()[:16]}")


numba.config.CACHE_DIR = _cache_dir()

#: Compiled once and cached on disk. Without numba's reference counting (``_nrt=False``): the
#: core allocates nothing, and counting references to two dozen arrays on every call between
#: these functions cost more than the simulation itself. Without Python's division checks
#: (``error_model="numpy"``): no division here can be by zero.
jit = numba.njit(cache=True, error_model="numpy", boundscheck=False, _nrt=False, nogil=True)
retryable = np.array(RETRYABLE, dtype=np.int64)
inf = math.inf

#: Compiled, the functions get ``S`` packed into one int64 array (compiled.Core._packed): for
#: array k, its data's address at 3k and its shape at 3k+1 and 3k+2; ``unpack`` makes the
#: arrays again, in registers. Passing the tuple itself cost numba about 270 words pushed on the
#: stack for every call between these functions (it flattens a tuple of arrays into scalars).
#: Without the JIT, ``S`` is the named tuple state.State itself.
PACKED = not numba.config.DISABLE_JIT


def _unpack_codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
    from llvmlite import ir
    from numba.core import cgutils
    from numba.np.arrayobj import populate_array

    tys = sig.return_type
    packed = context.make_array(sig.args[0])(context, builder, args[0])
    i64 = ir.IntType(64)

    def word(j: int) -> Any:
        return builder.load(builder.gep(packed.data, [ir.Constant(i64, j)]))

    out = []
    for k, aty in enumerate(tys):
        ary = context.make_array(aty)(context, builder)
        size = context.get_abi_sizeof(context.get_data_type(aty.dtype))
        itemsize = ir.Constant(i64, size)
        if aty.ndim == 1:
            shape = [word(3 * k + 1)]
            strides = [itemsize]
        else:
            shape = [word(3 * k + 1), word(3 * k + 2)]
            strides = [builder.mul(shape[1], itemsize), itemsize]
        populate_array(ary, data=builder.inttoptr(word(3 * k), ary.data.type),
                       shape=cgutils.pack_array(builder, shape),
                       strides=cgutils.pack_array(builder, strides),
                       itemsize=itemsize, meminfo=None)
        out.append(ary._getvalue())
    return context.make_tuple(builder, tys, out)


if PACKED:
    from numba.core import types
    from numba.extending import intrinsic

    @intrinsic
    def unpack(typingctx: Any, S: Any) -> Any:
        """The arrays of ``S`` packed (see PACKED), as the named tuple state.State."""
        tys = types.NamedTuple([types.Array(numba.from_dtype(np.dtype(dt)), nd, "C")
                                for dt, nd in LAYOUT], State)
        return tys(S), _unpack_codegen

    @intrinsic
    def full(typingctx: Any, S: Any) -> Any:
        """Whether the design may use the rarer features (compiled.Core.full): a constant of
        the type ``S`` is packed in, uint64 for full and int64 for plain, so that numba
        compiles every function twice and the plain versions carry none of their code (each
        test of them in the hot paths, though never true, cost plain designs 10-15%)."""
        flag = not (isinstance(S, types.Array) and S.dtype == types.int64)

        def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
            return context.get_constant(types.boolean, flag)

        return types.boolean(S), codegen

    @intrinsic
    def prefetch(typingctx: Any, A: Any, i: Any) -> Any:
        """A hint that item ``i`` of ``A`` will be read soon (an array's element, or a row of a
        two-dimensional array laid out by item, up to 128 bytes: its first byte, the byte 64 on
        and its last, so every cache line of a visit's 88 bytes wherever it starts): the
        processor fetches them without waiting. Nothing else changes; prefetching never faults,
        even past the array's end."""
        lines = (0,) if A.ndim == 1 else (0, 64, -1)

        def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
            from llvmlite import ir
            from numba.core import cgutils

            ary = context.make_array(sig.args[0])(context, builder, args[0])
            i64, i32, i8p = ir.IntType(64), ir.IntType(32), ir.IntType(8).as_pointer()
            step = builder.extract_value(ary.strides, 0)
            i = args[1] if args[1].type.width == 64 else builder.sext(args[1], i64)  # int32 word
            addr = builder.add(builder.ptrtoint(ary.data, i64), builder.mul(i, step))
            fn = cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32]),
                "llvm.prefetch.p0")
            for off in lines:  # read, keep in every level of cache, data
                at = builder.add(addr, step) if off < 0 else addr  # -1: the row's last byte
                ptr = builder.inttoptr(builder.add(at, ir.Constant(i64, off)), i8p)
                builder.call(fn, [ptr, ir.Constant(i32, 0), ir.Constant(i32, 3),
                                  ir.Constant(i32, 1)])
            return context.get_dummy_value()

        return types.void(A, i), codegen
else:
    def unpack(S: Any) -> Any:
        return S

    def prefetch(A: Any, i: Any) -> None:
        """Only a hint to the processor's caches: nothing to do in Python."""

    def full(S: Any) -> bool:
        return True

# Each function takes the state ``S`` (state.py declares its arrays) and reads the arrays it
# uses by name: ``U = unpack(S)``, then ``VI, M = U.VI, U.M``.


@jit
def draw(SB, SI, SV, M, k):
    """The next draw of stream ``k``; flags a refill when the stream runs low."""
    if SI[S_CONST, k]:
        return SV[k]
    p = SI[S_POS, k]
    if p >= SI[S_LEN, k]:
        M[M_ERR] = 1
        return 0.0
    SI[S_POS, k] = p + 1
    if p + 1 > SI[S_LEN, k] - _SRES:
        M[M_FLAG] = 1
    return SB[k, p]


@jit
def token(M):
    s = M[M_TOK]
    M[M_TOK] = s + 1
    return s


@jit
def hpush(HT, HI, M, t, s, code, a):
    """Add an entry. While the event being handled still holds the top (M_HTOP: see
    ``advance``), the entry takes the top's place and sinks from there, one pass down the heap
    instead of a pop's and then a push's. The heap holds the same entries either way, and since
    no two have the same time and token, it gives them out in the same order."""
    if M[M_HTOP]:
        M[M_HTOP] = 0
        hsink(HT, HI, M[M_HN], t, s, code, a)
        return
    j = M[M_HN]
    M[M_HN] = j + 1
    while j > 0:
        parent = (j - 1) >> 1
        pt = HT[parent]
        if pt < t or (pt == t and HI[parent, H_S] < s):
            break
        HT[j] = pt
        HI[j, H_S] = HI[parent, H_S]
        HI[j, H_C] = HI[parent, H_C]
        HI[j, H_A] = HI[parent, H_A]
        j = parent
    HT[j] = t
    HI[j, H_S] = s
    HI[j, H_C] = code
    HI[j, H_A] = a


@jit
def hpop(HT, HI, M):
    """Remove the top entry (the caller has read it): the last entry sinks from the top."""
    n = M[M_HN] - 1
    M[M_HN] = n
    t = HT[n]
    HT[n] = inf
    if n > 0:
        hsink(HT, HI, n, t, HI[n, H_S], HI[n, H_C], HI[n, H_A])


@jit
def hsink(HT, HI, n, t, s, code, a):
    """Put the entry (``t``, ``s``, ``code``, ``a``) at the top of a heap of ``n`` entries whose
    top is free, and sink it to its place.

    HT holds infinity past the last entry (state.py's fill; hpop sets it so), so that a last
    child with no right sibling needs no test of the heap's size: the smaller child is chosen
    on the times alone without a branch the processor would mispredict half the time (10% of a
    pop), the tokens compared only when the times tie."""
    j = 0
    while True:
        k = 2 * j + 1
        if k >= n:
            break
        tk = HT[k]
        tr = HT[k + 1]
        if tr == tk:
            if k + 1 < n and HI[k + 1, H_S] < HI[k, H_S]:
                k += 1
        else:
            k += tr < tk
        tk = HT[k]
        if t < tk or (t == tk and s < HI[k, H_S]):
            break
        HT[j] = tk
        HI[j, H_S] = HI[k, H_S]
        HI[j, H_C] = HI[k, H_C]
        HI[j, H_A] = HI[k, H_A]
        j = k
    HT[j] = t
    HI[j, H_S] = s
    HI[j, H_C] = code
    HI[j, H_A] = a


@jit
def lane_push(S, k, t, s, a):
    """Visit ``a``'s timeout at ``t`` (token ``s``) at the tail of lane ``k`` (compiled._LANES):
    later than, or at the same time with a later token than, every timeout already there."""
    U = unpack(S)
    QT, QS, QA, M = U.QT, U.QS, U.QA, U.M
    j = M[M_QT0 + k]
    QT[k, j] = t
    QS[k, j] = s
    QA[k, j] = a
    M[M_QT0 + k] = j + 1
    if j + 1 > M[M_QMAX]:
        M[M_QMAX] = j + 1
    if j == M[M_QH0 + k]:  # the lane was empty: its head is this one
        b = M[M_QBEST]
        if b < 0 or before(t, s, QT[b, M[M_QH0 + b]], QS[b, M[M_QH0 + b]]):
            M[M_QBEST] = k


@jit
def lane_pop(S, k):
    """Remove the head of lane ``k`` (the caller has read it); the lane due first again."""
    U = unpack(S)
    QT, QS, M = U.QT, U.QS, U.M
    h = M[M_QH0 + k] + 1
    if h == M[M_QT0 + k]:  # empty: from the start of its row again
        M[M_QH0 + k] = 0
        M[M_QT0 + k] = 0
    else:
        M[M_QH0 + k] = h
    b = -1
    for q in range(M[M_NQ]):
        hq = M[M_QH0 + q]
        if hq < M[M_QT0 + q] and (b < 0 or before(QT[q, hq], QS[q, hq], QT[b, M[M_QH0 + b]],
                                                 QS[b, M[M_QH0 + b]])):
            b = q
    M[M_QBEST] = b


@jit
def before(t1, s1, t2, s2):
    """Whether the event at ``t1`` with token ``s1`` comes before the one at ``t2``, ``s2``."""
    return t1 < t2 or (t1 == t2 and s1 < s2)


@jit
def alloc(VI, VK, VT, FR, M, n, par, ptok, t, req):
    if M[M_FREE] > 0:
        M[M_FREE] -= 1
        c = FR[M[M_FREE]]
    else:
        c = M[M_SLOTS]
        M[M_SLOTS] = c + 1
        for w in range(_V_WORDS):  # its tokens (VK) too: the same memory
            VI[c, w] = 0
        VI[c, V_WE] = -1  # as ``release`` leaves a slot it frees
    VI[c, V_NODE] = n
    VI[c, V_INST] = -1
    VI[c, V_PAR] = par
    VK[c, V_PTOK] = ptok
    VT[c] = t
    VI[c, V_EDGE] = -1
    VI[c, V_LEFT] = 0
    VK[c, V_REQ] = req
    return c


@jit
def release(VI, VK, FR, M, c):
    VI[c, V_NODE] = -1
    VI[c, V_WE] = -1
    VK[c, V_TOK] = 0
    VK[c, V_WAIT] = 0
    FR[M[M_FREE]] = c
    M[M_FREE] += 1


# ---------------------------------------------------------------- the workflow table
# Open addressing with linear probing over TB's cells, each a key (TB_K, EMPTY when free) and its
# value (TB_V) side by side, so that a lookup misses the cache once; deletion shifts the cluster
# back, so no tombstones. compiled.Core doubles it when half full.

@jit
def hhome(key, mask):
    """The home cell of ``key`` (>= 0): its high bits folded into 32, times an odd constant
    below 2**31, bits 16 and up of the product. The product stays below 2**63: a signed
    overflow is undefined behaviour for LLVM, which then miscompiled this in context."""
    x = int(key)
    x = (x ^ (x >> 31) ^ (x >> 47)) & 0xFFFFFFFF
    return ((x * 0x5BD1E995) >> 16) & mask


@jit
def hslot(TB, key):
    """The cell of ``key``, or the free cell where it would go."""
    mask = TB.shape[0] - 1
    h = hhome(key, mask)
    while TB[h, TB_K] != key and TB[h, TB_K] != EMPTY:
        h = (h + 1) & mask
    return h


@jit
def hget(TB, key, default):
    h = hslot(TB, key)
    return TB[h, TB_V] if TB[h, TB_K] == key else default


@jit
def hset(TB, M, key, value):
    h = hslot(TB, key)
    if TB[h, TB_K] == EMPTY:
        TB[h, TB_K] = key
        M[M_HCNT] += 1
    TB[h, TB_V] = value


@jit
def hdel(TB, M, key):
    mask = TB.shape[0] - 1
    i = hslot(TB, key)
    if TB[i, TB_K] == EMPTY:
        return
    M[M_HCNT] -= 1
    j = i
    while True:
        j = (j + 1) & mask
        if TB[j, TB_K] == EMPTY:
            break
        k = hhome(TB[j, TB_K], mask)
        # The entry at j may move to i unless its home lies cyclically in (i, j].
        if (i <= j and i < k and k <= j) or (i > j and (i < k or k <= j)):
            continue
        TB[i, TB_K] = TB[j, TB_K]
        TB[i, TB_V] = TB[j, TB_V]
        i = j
    TB[i, TB_K] = EMPTY


@jit
def rehash(TB, TB2):
    mask = TB2.shape[0] - 1
    for j in range(TB.shape[0]):
        key = TB[j, TB_K]
        if key != EMPTY:
            h = hhome(key, mask)
            while TB2[h, TB_K] != EMPTY:
                h = (h + 1) & mask
            TB2[h, TB_K] = key
            TB2[h, TB_V] = TB[j, TB_V]


@jit
def fail_at(S, c, n, cause):
    U = unpack(S)
    VK = U.VK
    VI, VT, FR, NI, NERR, M, MF = U.VI, U.VT, U.FR, U.NI, U.NERR, U.M, U.MF
    NERR[n, cause] += 1
    t0 = VT[c]
    if MF[MF_W0] <= t0 and t0 < MF[MF_W1]:
        NI[N_SN, n] += 1
    release(VI, VK, FR, M, c)
    return cause


#: What ``seat`` returns for a visit that took a server at a node whose owner hook must run.
HOOKED = -1


@jit
def arrive(S, c, t):
    """``c`` reaches its node: 0, or the cause it failed with at once."""
    U = unpack(S)
    VI, NI, NF, II, UPS, SB, SI, SV, M = U.VI, U.NI, U.NF, U.II, U.UPS, U.SB, U.SI, U.SV, U.M
    IF = U.IF
    n = np.int64(VI[c, V_NODE])
    NI[N_ARR, n] += 1
    if NI[N_DOWN, n]:
        return fail_at(S, c, n, UNAVAILABLE)
    mode = NI[N_AMODE, n]
    if mode == A_SERVICE:
        # The checks of XF_ARR: a rate limit, a canary, instance_errors.
        extras = full(S) and (NI[N_XF, n] & XF_ARR) != 0
        if extras and NI[N_RLIM, n] and not rate_token(NF, n, t):
            return fail_at(S, c, n, RATE_LIMITED)
        i = np.int64(VI[c, V_INST])
        if i < 0:
            if extras and NI[N_CANARY, n] >= 0 \
                    and draw(SB, SI, SV, M, NI[N_CAN_S, n]) < NF[F_CWEIGHT, n]:
                i = NI[N_CANARY, n]
            else:
                nup = NI[N_UPN, n]
                if nup == 0:
                    return fail_at(S, c, n, UNAVAILABLE)
                r = NI[N_RR, n]
                NI[N_RR, n] = r + 1
                i = UPS[NI[N_UP0, n] + r % nup]
        elif II[I_STATE, i] == DEAD:  # a balancer that has not noticed yet
            return fail_at(S, c, n, UNAVAILABLE)
        if extras and IF[IF_FAIL, i] > 0.0 \
                and draw(SB, SI, SV, M, NI[N_FAULT_S, n]) < IF[IF_FAIL, i]:
            # instance_errors: answered at once with error, no work, no calls
            if i == NI[N_CANARY, n]:
                canary_note(S, n, 0.0, ERROR)
            return fail_at(S, c, n, ERROR)
        r = seat(S, c, n, i, t)
        if r == HOOKED:
            owner_start(S, c, n, i, t)
            return 0
        if extras and r and i == NI[N_CANARY, n]:
            canary_note(S, n, 0.0, r)
        return r
    elif mode == A_POOL:
        i = NI[N_INST0, n]
    elif mode == A_DELAY:
        return delay(S, c, n, t)
    elif NI[N_KIND, n] == QUEUE:
        return enqueue_arrive(S, c, n, t)
    else:
        return arrive_serverless(S, c, n, t)
    r = seat(S, c, n, i, t)
    if r == HOOKED:
        owner_start(S, c, n, i, t)
        return 0
    return r


@jit
def arrive_state(S, c, t):
    """``arrive`` for a state edge's callee (a state store's pool or object storage's delay),
    where no owner hook can run: kept apart so that the owner's state call does not make the
    compiled functions recursive (numba cannot load recursive functions from its cache)."""
    U = unpack(S)
    VI, NI = U.VI, U.NI
    n = np.int64(VI[c, V_NODE])
    NI[N_ARR, n] += 1
    if NI[N_DOWN, n]:
        return fail_at(S, c, n, UNAVAILABLE)
    if NI[N_AMODE, n] == A_POOL:
        return seat(S, c, n, NI[N_INST0, n], t)
    return delay(S, c, n, t)


@jit
def delay(S, c, n, t):
    """``c`` arrives at a pure delay (a balancer, cdn, object storage, external service)."""
    U = unpack(S)
    VK = U.VK
    VI, NI, NF, HT, HI, SB, SI, SV, M = U.VI, U.NI, U.NF, U.HT, U.HI, U.SB, U.SI, U.SV, U.M
    MF = U.MF
    VI[c, V_HOLD] = 0
    NI[N_X, n] += 1
    NF[F_XACC, n] -= t
    if MF[MF_W0] <= t and t < MF[MF_W1]:
        NI[N_WZ, n] += 1
    s = token(M)
    VK[c, V_TOK] = s
    hpush(HT, HI, M, t + draw(SB, SI, SV, M, NI[N_WORK_S, n]) * NF[F_SLOW, n], s, EV_DONE, c)
    return 0


@jit
def seat(S, c, n, i, t):
    """``c`` takes a server of instance ``i`` and starts its own work (HOOKED: the owner hook
    starts it), or waits in its queue (0), or fails overload."""
    U = unpack(S)
    VK = U.VK
    VI, NI, NF, II, HT, HI, SB, SI, SV = U.VI, U.NI, U.NF, U.II, U.HT, U.HI, U.SB, U.SI, U.SV
    M, MF = U.M, U.MF
    if II[I_BUSY, i] < II[I_CAP, i]:
        II[I_BUSY, i] += 1
        NI[N_BUSY, n] += 1
        NF[F_BACC, n] -= t
        VI[c, V_HOLD] = 1
        VI[c, V_INST] = i
        if MF[MF_W0] <= t and t < MF[MF_W1]:
            NI[N_WZ, n] += 1
        if NI[N_HOOK, n]:
            return HOOKED
        work = draw(SB, SI, SV, M, NI[N_WORK_S, n]) * NF[F_SLOW, n]
        if full(S) and NI[N_XF, n] & XF_WORK:
            work_extras(S, c, i, n, t, work, 0.0)
            return 0
        s = token(M)
        VK[c, V_TOK] = s
        hpush(HT, HI, M, t + work, s, EV_DONE, c)
        return 0
    if II[I_HASQ, i] and II[I_QLEN, i] < II[I_QCAP, i]:
        if full(S) and NI[N_LIFO, n]:
            lifo_push(VI, II, i, c)
        else:
            fifo_push(VI, II, i, c)
        VI[c, V_HOLD] = 2
        VI[c, V_INST] = i
        qn = II[I_QNODE, i]  # a worker's queue is its queue node's
        NI[N_Q, qn] += 1
        NF[F_QACC, qn] -= t
        return 0
    return fail_at(S, c, n, OVERLOAD)


@jit
def pick(S, n, c):
    """The instance balancer ``n`` sends visit ``c`` to (-1: none)."""
    U = unpack(S)
    VK = U.VK
    NI, NF, II, VIEW, UPS, SB, SI, SV = U.NI, U.NF, U.II, U.VIEW, U.UPS, U.SB, U.SI, U.SV
    M, TB = U.M, U.TB
    tgt = NI[N_LBTGT, n]
    if full(S) and NI[N_CANARY, tgt] >= 0 and draw(SB, SI, SV, M, NI[N_CAN_S, tgt]) < NF[F_CWEIGHT, tgt]:
        return NI[N_CANARY, tgt]
    nv = NI[N_VIEWN, n]
    if nv == 0:
        return -1
    v0 = NI[N_VIEW0, n]
    algo = NI[N_ALGO, n]
    if algo == 0:
        r = NI[N_RR, n]
        NI[N_RR, n] = r + 1
        return VIEW[v0 + r % nv]
    if algo == 1:
        return VIEW[v0 + int(draw(SB, SI, SV, M, NI[N_LB_S, n]) * nv)]
    if algo == 2:
        best = -1
        held = 1 << 62
        for j in range(nv):
            i = VIEW[v0 + j]
            h = II[I_BUSY, i] + II[I_QLEN, i]
            if h < held:
                best = i
                held = h
        return best
    # Sticky (operations.py's ``pick_sticky``): the user's pin, made round robin among the
    # instances up on its first request and remade when the pinned one is found dead or gone.
    key = (T_PIN << T_SHIFT) | (np.int64(n) << 32) | (VK[c, V_REQ] & 0xFFFFFFFF)
    inst = hget(TB, key, -1)
    if inst >= 0:
        state = II[I_STATE, inst]
        if state == UP:
            return inst
        if state == DEAD:
            for j in range(nv):
                if VIEW[v0 + j] == inst:
                    return inst
    nh = NI[N_UPN, tgt]
    if nh == 0:
        return VIEW[v0]
    r = NI[N_RR, n]
    NI[N_RR, n] = r + 1
    inst = UPS[NI[N_UP0, tgt] + r % nh]
    hset(TB, M, key, inst)
    return inst


@jit
def dial(S, p, e, t):
    """The first half of a call of ``p`` along edge ``e``: its token, timeout and callee visit
    (returned). With network latency the arrival is scheduled and -1 returned."""
    U = unpack(S)
    VK = U.VK
    VI, VT, FR, NI, EI, EF, HT, HI, SB = U.VI, U.VT, U.FR, U.NI, U.EI, U.EF, U.HT, U.HI, U.SB
    SI, SV, M = U.SI, U.SV, U.M
    s = token(M)
    VK[p, V_WAIT] = s
    if full(S) and (M[M_GUARD] or EI[E_BUD, e]):
        dial_guarded(S, p, e, t)
    tmo = EF[EF_TMO, e]
    if tmo != 0.0:
        if EI[E_LANE, e] >= 0:
            lane_push(S, EI[E_LANE, e], t + tmo, s, p)
        else:
            hpush(HT, HI, M, t + tmo, s, EV_TIMEOUT, p)
    d = EI[E_DST, e]
    c = alloc(VI, VK, VT, FR, M, d, p, s, t, VK[p, V_REQ])
    pn = np.int64(VI[p, V_NODE])
    if NI[N_LBOF, pn]:
        VI[c, V_INST] = pick(S, pn, c)
    lat = EI[E_LAT_S, e]
    if lat < 0:
        return c
    VI[c, V_HOLD] = IN_TRANSIT
    hpush(HT, HI, M, t + draw(SB, SI, SV, M, lat), token(M), EV_ARRIVE, c)
    return -1


@jit
def dial_guarded(S, p, e, t):
    """``dial``'s part for an edge with a retry budget, or in a design with guards (M_GUARD):
    a first attempt deposits in the budget; the call is counted in the bulkhead, and the edge
    remembered (V_WE) for ``unwait`` when a bulkhead, breaker or the caller's throttle counts
    its outcome."""
    U = unpack(S)
    VI, NI, EI, EF = U.VI, U.NI, U.EI, U.EF
    if EI[E_BUD, e] and VI[p, V_TRY] == 0:  # a first attempt deposits in the edge's budget
        budget_deposit(EF, EF_BUD, e, t)
    if EI[E_MAXC, e] >= 0:
        EI[E_INFL, e] += 1
        VI[p, V_WE] = e
    if EI[E_CB, e]:
        VI[p, V_WE] = e
        VI[p, V_CBG] = EI[E_CBGEN, e]
    if NI[N_AT, VI[p, V_NODE]]:
        VI[p, V_WE] = e


@jit
def guard(S, p, e, t):
    """The edge's breaker, then its bulkhead, on a call of ``p`` along ``e``: 0 (it goes on), or
    the cause it fails with at once, counted at the caller. A call the bulkhead refuses was let
    through by the breaker: it counts there as a call that failed."""
    U = unpack(S)
    VI, NI, EI = U.VI, U.NI, U.EI
    n = np.int64(VI[p, V_NODE])
    if NI[N_AT, n] and not throttle_admit(S, n, t):
        return RATE_LIMITED
    if EI[E_CB, e] and not breaker_admit(S, p, e, t):
        if NI[N_AT, n]:
            throttle_accept(S, n, t, CIRCUIT_OPEN)
        return CIRCUIT_OPEN
    if bulkhead_full(S, p, e):
        if EI[E_CB, e]:
            VI[p, V_CBG] = EI[E_CBGEN, e]
            breaker_done(S, p, e, t, OVERLOAD)
        return OVERLOAD
    return 0


@jit
def call(S, p, e, t):
    """``p`` calls along edge ``e`` and waits: 0, or the cause it failed with at once."""
    if full(S) and unpack(S).M[M_GUARD]:
        r = guard(S, p, e, t)
        if r:
            return r
    c = dial(S, p, e, t)
    if c < 0:
        return 0
    r = arrive(S, c, t)
    if r:
        unwait(S, p, t, r)
    return r


@jit
def state_call(S, p, e, t):
    """``call`` along an owner's state edge (see ``arrive_state``)."""
    if full(S) and unpack(S).M[M_GUARD]:
        r = guard(S, p, e, t)
        if r:
            return r
    c = dial(S, p, e, t)
    if c < 0:
        return 0
    r = arrive_state(S, c, t)
    if r:
        unwait(S, p, t, r)
    return r


# ---------------------------------------------------------------- resilience (SCHEMA.md's
# extensions): bulkheads, retry budgets, backoff between an edge's retries, rate limits


@jit
def unwait(S, p, t, cause):
    """``p`` no longer waits on its call at ``t``: answered (``cause`` OK), failed or timed out
    (the cause), or abandoned because ``p`` itself stopped (-1). The call leaves its edge's
    bulkhead count, and its breaker counts its outcome."""
    U = unpack(S)
    VI, VK = U.VI, U.VK
    VK[p, V_WAIT] = 0
    if full(S) and VI[p, V_WE] >= 0:
        unwait_edge(S, p, t, cause)


@jit
def unwait_edge(S, p, t, cause):
    """``unwait`` of a call whose edge counts it (V_WE): its bulkhead, breaker or the caller's
    throttle."""
    U = unpack(S)
    VI, NI, EI = U.VI, U.NI, U.EI
    e = np.int64(VI[p, V_WE])
    if e >= 0:
        VI[p, V_WE] = -1
        if EI[E_MAXC, e] >= 0:
            EI[E_INFL, e] -= 1
        if EI[E_CB, e]:
            breaker_done(S, p, e, t, cause)
        if NI[N_AT, VI[p, V_NODE]]:
            throttle_accept(S, np.int64(VI[p, V_NODE]), t, cause)


# ---------------------------------------------------------------- circuit breakers: one per
# edge, closed (a window of the calls completed in the last window_s), open (every call fails
# circuit_open at once) for open_s, then half-open (half_open_calls probes go through).


@jit
def breaker_admit(S, p, e, t):
    """Whether the breaker of edge ``e`` lets ``p``'s call through at ``t``; if not, the call
    fails circuit_open, counted at the caller. Closed, it first drops the records that left its
    window and may open on what remains; half-open, it lets probes through up to
    half_open_calls."""
    U = unpack(S)
    VI, NERR, EI = U.VI, U.NERR, U.EI
    st = EI[E_CBST, e]
    if st == CB_CLOSED:
        if not breaker_check(S, e, t):
            return True
    elif st == CB_HALF and EI[E_CBADM, e] < EI[E_CBHALF, e]:
        EI[E_CBADM, e] += 1
        return True
    NERR[VI[p, V_NODE], CIRCUIT_OPEN] += 1
    return False


@jit
def breaker_done(S, p, e, t, cause):
    """``p``'s call along ``e`` completed at ``t`` with ``cause`` (OK, a cause, or -1: its
    caller stopped waiting because it stopped itself). Closed: the window counts it (unless
    abandoned) and the breaker may open. Half-open, for a probe of this half-open spell: a
    success closes it once every probe succeeded, a failure opens it again at once, and an
    abandoned probe gives its place to the next call."""
    U = unpack(S)
    VI, EI = U.VI, U.EI
    st = EI[E_CBST, e]
    if st == CB_CLOSED:
        if cause >= 0:
            breaker_record(S, e, t, cause != OK)
            breaker_check(S, e, t)
    elif st == CB_HALF and VI[p, V_CBG] == EI[E_CBGEN, e]:
        if cause < 0:
            EI[E_CBADM, e] -= 1
        elif cause == OK:
            EI[E_CBOK, e] += 1
            if EI[E_CBOK, e] >= EI[E_CBHALF, e]:
                breaker_set(S, e, t, CB_CLOSED)
        else:
            breaker_open(S, e, t)


@jit
def breaker_record(S, e, t, failed):
    """A call along ``e`` completed at ``t``: into the window's last record if it is of ``t``,
    else a new record from the pool (compiled.Core keeps room for one per breaker and event)."""
    U = unpack(S)
    EI, M, RT, RI = U.EI, U.M, U.RT, U.RI
    tail = window_tail(RT, RI, M, EI, E_CBHEAD, E_CBTAIL, e, t)
    EI[E_CBN, e] += 1
    if failed:
        RI[R_FAIL, tail] += 1
        EI[E_CBF, e] += 1
    else:
        RI[R_OK, tail] += 1


@jit
def window_tail(RT, RI, M, A, head, tail, j, t):
    """The last record of the window whose first and last records are ``A[head, j]`` and
    ``A[tail, j]``, if it is of time ``t``; else a new one from the pool, appended."""
    r = A[tail, j]
    if r >= 0 and RT[r] == t:
        return r
    r = M[M_RFREE]
    M[M_RFREE] = RI[R_NEXT, r]
    M[M_RNFREE] -= 1
    RT[r] = t
    RI[R_NEXT, r] = -1
    RI[R_OK, r] = 0
    RI[R_FAIL, r] = 0
    if A[tail, j] < 0:
        A[head, j] = r
    else:
        RI[R_NEXT, A[tail, j]] = r
    A[tail, j] = r
    return r


# ---------------------------------------------------------------- adaptive throttling (a
# client's, SRE book): a window of its attempts (R_FAIL of its records) and accepts (R_OK)


@jit
def window_drop(RT, RI, M, A, head, tail, j, until, ok_row, fail_row, all_row):
    """Give back to the pool the records of the window of column ``j`` of ``A`` (first and last
    records in rows ``head`` and ``tail``) whose time is at most ``until``, taking their counts
    off its totals: their OKs from row ``ok_row``, failures from ``fail_row``, both from
    ``all_row`` (each -1 when the window keeps no such total)."""
    h = A[head, j]
    while h >= 0 and RT[h] <= until:
        if ok_row >= 0:
            A[ok_row, j] -= RI[R_OK, h]
        A[fail_row, j] -= RI[R_FAIL, h]
        if all_row >= 0:
            A[all_row, j] -= RI[R_OK, h] + RI[R_FAIL, h]
        nxt = RI[R_NEXT, h]
        RI[R_NEXT, h] = M[M_RFREE]
        M[M_RFREE] = h
        M[M_RNFREE] += 1
        h = nxt
    A[head, j] = h
    if h < 0:
        A[tail, j] = -1


@jit
def throttle_admit(S, n, t):
    """Client ``n`` makes an attempt at ``t``: counted, then rejected locally (False) with
    probability max(0, (requests - k accepts) / (requests + 1)) over its last window_s."""
    U = unpack(S)
    NI, NF, NERR, SB, SI, SV, M, RT, RI = U.NI, U.NF, U.NERR, U.SB, U.SI, U.SV, U.M, U.RT, U.RI
    # Its records: requests as failures (R_FAIL), accepts as OKs (R_OK).
    window_drop(RT, RI, M, NI, N_ATHEAD, N_ATTAIL, n, t - NF[F_ATWIN, n], N_ATACC, N_ATREQ, -1)
    req = NI[N_ATREQ, n]
    reject = (req - NF[F_ATK, n] * NI[N_ATACC, n]) / (req + 1.0)
    r = window_tail(RT, RI, M, NI, N_ATHEAD, N_ATTAIL, n, t)
    RI[R_FAIL, r] += 1
    NI[N_ATREQ, n] += 1
    if reject > 0.0 and draw(SB, SI, SV, M, NI[N_AT_S, n]) < reject:
        NERR[n, RATE_LIMITED] += 1
        return False
    return True


@jit
def throttle_accept(S, n, t, cause):
    """Client ``n``'s attempt completed at ``t`` with ``cause``: an accept unless it failed
    overload, unavailable, timeout, rate_limited or shed (or was abandoned, -1)."""
    U = unpack(S)
    NI, M, RT, RI = U.NI, U.M, U.RT, U.RI
    if cause < 0 or cause == OVERLOAD or cause == UNAVAILABLE or cause == TIMEOUT \
            or cause == RATE_LIMITED or cause == SHED:
        return
    r = window_tail(RT, RI, M, NI, N_ATHEAD, N_ATTAIL, n, t)
    RI[R_OK, r] += 1
    NI[N_ATACC, n] += 1


@jit
def breaker_drop(S, e, until):
    """Give back to the pool the records of ``e``'s window whose time is at most ``until``
    (every record with ``until`` infinite)."""
    U = unpack(S)
    EI, M, RT, RI = U.EI, U.M, U.RT, U.RI
    window_drop(RT, RI, M, EI, E_CBHEAD, E_CBTAIL, e, until, -1, E_CBF, E_CBN)


@jit
def breaker_check(S, e, t):
    """The closed breaker of ``e`` at ``t``: its window is the calls completed in
    (t - window_s, t]; with at least min_calls of them and a failed share of failure_ratio or
    more, it opens (True)."""
    U = unpack(S)
    EI, EF = U.EI, U.EF
    breaker_drop(S, e, t - EF[EF_CBWIN, e])
    n = EI[E_CBN, e]
    if n >= EI[E_CBMIN, e] and EI[E_CBF, e] / n >= EF[EF_CBRATIO, e]:
        breaker_open(S, e, t)
        return True
    return False


@jit
def breaker_open(S, e, t):
    """The breaker of ``e`` opens at ``t``: its window empties, and it turns half-open
    open_s later (EV_BREAKER)."""
    U = unpack(S)
    EI, EF, HT, HI, M = U.EI, U.EF, U.HT, U.HI, U.M
    breaker_set(S, e, t, CB_OPEN)
    s = token(M)
    EI[E_CBTOK, e] = s
    hpush(HT, HI, M, t + EF[EF_CBOPEN, e], s, EV_BREAKER, e)


@jit
def breaker_set(S, e, t, state):
    """The breaker of ``e`` changes to ``state`` at ``t``: a new generation (calls let through
    before it no longer count as probes), an empty window, no probes yet, and the change
    reported for the frame's events."""
    U = unpack(S)
    EI, M, BT, BI = U.EI, U.M, U.BT, U.BI
    breaker_drop(S, e, inf)
    EI[E_CBST, e] = state
    EI[E_CBGEN, e] += 1
    EI[E_CBADM, e] = 0
    EI[E_CBOK, e] = 0
    j = M[M_NBE]
    BT[j] = t
    BI[j] = 4 * e + state
    M[M_NBE] = j + 1


@jit
def bulkhead_full(S, p, e):
    """A call of ``p`` along ``e`` finds the edge's bulkhead full: it fails overload at once,
    counted at the caller."""
    U = unpack(S)
    VI, NERR, EI = U.VI, U.NERR, U.EI
    if EI[E_MAXC, e] >= 0 and EI[E_INFL, e] >= EI[E_MAXC, e]:
        NERR[VI[p, V_NODE], OVERLOAD] += 1
        return True
    return False


@jit
def budget_refill(A, b, j, t):
    """A retry budget (rows from ``b`` of ``A``, column ``j``) at ``t``: ``min_per_s`` tokens a
    second since it was last seen, and its cap: ten seconds' worth of both sources, the first
    attempts counted with a decay of time constant 10 s."""
    dt = t - A[b + B_T, j]
    if dt > 0.0:
        A[b + B_DEP, j] *= math.exp(-dt / 10.0)
        A[b + B_TOK, j] += A[b + B_MIN, j] * dt
        A[b + B_T, j] = t
    cap = A[b + B_CAP10, j] + A[b + B_RATIO, j] * A[b + B_DEP, j]
    if A[b + B_TOK, j] > cap:
        A[b + B_TOK, j] = cap


@jit
def budget_deposit(A, b, j, t):
    """A first attempt deposits ``ratio`` tokens."""
    A[b + B_DEP, j] += 1.0
    A[b + B_TOK, j] += A[b + B_RATIO, j]
    budget_refill(A, b, j, t)


@jit
def budget_retry(A, b, j, t):
    """Whether a retry may be made now; it spends a token."""
    budget_refill(A, b, j, t)
    if A[b + B_TOK, j] >= 1.0:
        A[b + B_TOK, j] -= 1.0
        return True
    return False


@jit
def may_retry(S, c, e, cause, t):
    """Whether visit ``c``'s failed call along ``e`` (with ``cause``) is retried: a retryable
    cause, a try left, and a token of the edge's budget if it has one. Counts the try."""
    U = unpack(S)
    VI, EI, EF = U.VI, U.EI, U.EF
    if not retryable[cause] or VI[c, V_TRY] >= EI[E_RETRIES, e]:
        return False
    if full(S) and EI[E_BUD, e] and not budget_retry(EF, EF_BUD, e, t):
        return False
    VI[c, V_TRY] += 1
    return True


@jit
def backoff(S, c, e, t):
    """With the edge's ``backoff_ms``, ``c``'s retry along ``e`` waits a full-jitter exponential
    time (EV_ERETRY) and True is returned; without, False (it is made at once)."""
    U = unpack(S)
    VK = U.VK
    VI, EI, EF, HT, HI, SB, SI, SV, M = U.VI, U.EI, U.EF, U.HT, U.HI, U.SB, U.SI, U.SV, U.M
    if not full(S) or EF[EF_BOFF, e] <= 0.0 or EI[E_ASYNC, e]:
        return False
    cap = EF[EF_BOFF, e] * float(1 << (VI[c, V_TRY] - 1))
    s = token(M)
    VK[c, V_TOK] = s
    hpush(HT, HI, M, t + draw(SB, SI, SV, M, EI[E_BOFF_S, e]) * cap, s, EV_ERETRY, c)
    return True


@jit
def ps_rate(NI, II, i, n):
    """How fast each request in its own work at instance ``i`` progresses: min(1, cores / n)."""
    k = II[I_PSN, i]
    cores = NI[N_CORES, n]
    return 1.0 if k <= cores else cores / k


@jit
def ps_catch_up(S, i, n, t):
    """Bring the remaining work (VA) of every request in its own work at ``i`` up to ``t``."""
    U = unpack(S)
    VI, NI, II, VA = U.VI, U.NI, U.II, U.VA
    IIF = II.view(np.float64)
    done = (t - IIF[I_PST, i]) * ps_rate(NI, II, i, n)
    IIF[I_PST, i] = t
    c = II[I_PSHEAD, i] - 1
    while c >= 0:
        VA[c] -= done
        c = np.int64(VI[c, V_PSNEXT])


@jit
def ps_schedule(S, i, n, t):
    """The next completion at ``i``: the request with the least work left, when it is done at
    the current rate (a token of the instance's; the last one scheduled is stale)."""
    U = unpack(S)
    VI, NI, II, HT, HI, M, VA = U.VI, U.NI, U.II, U.HT, U.HI, U.M, U.VA
    if II[I_PSN, i] == 0:
        II[I_PSTOK, i] = 0
        return
    least = inf
    c = II[I_PSHEAD, i] - 1
    while c >= 0:
        if VA[c] < least:
            least = VA[c]
        c = np.int64(VI[c, V_PSNEXT])
    s = token(M)
    II[I_PSTOK, i] = s
    hpush(HT, HI, M, t + max(least, 0.0) / ps_rate(NI, II, i, n), s, EV_PSDONE, i)


@jit
def ps_add(S, c, i, n, t, work):
    """``c`` starts ``work`` seconds of its own work at ``i``, shared with the others there."""
    U = unpack(S)
    VK = U.VK
    VI, II, VA = U.VI, U.II, U.VA
    ps_catch_up(S, i, n, t)
    VK[c, V_TOK] = -1  # its completion is the instance's event (EV_PSDONE)
    VA[c] = work
    VI[c, V_PSNEXT] = II[I_PSHEAD, i] - 1
    II[I_PSHEAD, i] = c + 1
    II[I_PSN, i] += 1
    ps_schedule(S, i, n, t)


@jit
def ps_done(S, i, t):
    """The next completion at ``i`` is due: the request with the least work left leaves its own
    work (returned, -1 if none), and the next completion is scheduled."""
    U = unpack(S)
    VK = U.VK
    VI, II, VA = U.VI, U.II, U.VA
    n = II[I_NODE, i]
    ps_catch_up(S, i, n, t)
    best = -1
    prev_best = -1
    prev = -1
    c = II[I_PSHEAD, i] - 1
    while c >= 0:
        if best < 0 or VA[c] < VA[best]:
            best = c
            prev_best = prev
        prev = c
        c = np.int64(VI[c, V_PSNEXT])
    if best < 0:
        return -1
    if prev_best < 0:
        II[I_PSHEAD, i] = VI[best, V_PSNEXT] + 1
    else:
        VI[prev_best, V_PSNEXT] = VI[best, V_PSNEXT]
    II[I_PSN, i] -= 1
    VK[best, V_TOK] = 0
    ps_schedule(S, i, n, t)
    return best


@jit
def rate_token(NF, n, t):
    """An arrival at rate-limited node ``n`` takes a token of its bucket (``rps`` a second, at
    most ``burst``): whether there was one."""
    tok = NF[F_RL_TOK, n] + (t - NF[F_RL_T, n]) * NF[F_RL_RATE, n]
    if tok > NF[F_RL_BURST, n]:
        tok = NF[F_RL_BURST, n]
    NF[F_RL_T, n] = t
    if tok >= 1.0:
        NF[F_RL_TOK, n] = tok - 1.0
        return True
    NF[F_RL_TOK, n] = tok
    return False


@jit
def attempt(S, p, n, t):
    U = unpack(S)
    VT, NI, OUT, F, W, MF = U.VT, U.NI, U.OUT, U.F, U.W, U.MF
    F[C_ATTEMPTS] += 1
    if VT[p] >= MF[MF_W0]:
        W[C_ATTEMPTS] += 1
    return call(S, p, OUT[NI[N_OUT0, n]], t)


@jit
def fail_latency(WB, WN, M, ms):
    """A failed client request's latency in the window: it shares the wait buffer, marked by
    the node number FAILED (compiled.Core._flush sends it to the simulation's fail_win)."""
    WB[M[M_WB]] = ms
    WN[M[M_WB]] = FAILED
    M[M_WB] += 1


@jit
def canary_note(S, n, ms, cause):
    """Node ``n``'s canary under watch answered one of its requests: counted, and its stay at
    the node (ms) handed to Python with the mark CANARY - n (the gate's p99)."""
    U = unpack(S)
    NI, WB, WN, M = U.NI, U.WB, U.WN, U.M
    NI[N_CREQ, n] += 1
    if cause:
        NI[N_CERR, n] += 1
    WB[M[M_WB]] = ms
    WN[M[M_WB]] = CANARY - n
    M[M_WB] += 1


# ---------------------------------------------------------------- workflows (workflows.py)

@jit
def count(F, W, MF, counter, t):
    F[counter] += 1
    if t >= MF[MF_W0]:
        W[counter] += 1


@jit
def own_work(S, c, n, t):
    U = unpack(S)
    VK = U.VK
    VI, NI, NF, HT, HI, SB, SI, SV, M = U.VI, U.NI, U.NF, U.HT, U.HI, U.SB, U.SI, U.SV, U.M
    VA = U.VA
    extra = VA[c] if NI[N_KIND, n] == SERVERLESS else 0.0
    work = draw(SB, SI, SV, M, NI[N_WORK_S, n]) * NF[F_SLOW, n]
    if full(S) and NI[N_XF, n] & XF_WORK:
        work_extras(S, c, np.int64(VI[c, V_INST]), n, t, work, extra)
        return
    s = token(M)
    VK[c, V_TOK] = s
    hpush(HT, HI, M, t + extra + work, s, EV_DONE, c)


@jit
def work_extras(S, c, i, n, t, work, extra):
    """``c`` starts its own ``work`` at instance ``i`` of a node with cores or a release's
    slowdown (XF_WORK): slowed by its instance's factor, then shared by the cores, or done at
    ``t + extra + work``."""
    U = unpack(S)
    VK = U.VK
    NI, HT, HI, M, IF = U.NI, U.HT, U.HI, U.M, U.IF
    work = work * IF[IF_SLOW, i]
    if NI[N_CORES, n]:
        ps_add(S, c, i, n, t, work)
        return
    s = token(M)
    VK[c, V_TOK] = s
    hpush(HT, HI, M, t + extra + work, s, EV_DONE, c)


@jit
def defer(S, c, t, cause, fin):
    """Carry ``c`` on with ``cause`` at ``t`` from the event loop (workflows.py's ``_defer``)."""
    U = unpack(S)
    VK = U.VK
    VI, HT, HI, M = U.VI, U.HT, U.HI, U.M
    s = token(M)
    VK[c, V_TOK] = s
    VI[c, V_DEF] = 2 * cause + (1 if fin else 0)
    hpush(HT, HI, M, t, s, EV_DEFER, c)


@jit
def request_started(S, p, n, t, req):
    """Give client request ``p`` its request id (workflows.py's ``request_started``)."""
    U = unpack(S)
    VK = U.VK
    NI, SB, SI, SV, F, W, M, MF, TB = U.NI, U.SB, U.SI, U.SV, U.F, U.W, U.M, U.MF, U.TB
    US = U.US
    if req >= 0:
        VK[p, V_REQ] = req
        return
    wf = NI[N_WF, n]
    user = int(draw(SB, SI, SV, M, NI[N_USER_S, n]) * NI[N_USERS, n]) & 0xFFFFFF
    rid = (np.int64(n) << 24) | user
    if wf == SESSION:
        if US[NI[N_UOFF, n] + user] & U_LOGGED == 0:
            rid |= 1 << 32
    elif wf == UPLOAD:
        M[M_WFSER] += 1
        hset(TB, M, (T_UPLOAD << T_SHIFT) | M[M_WFSER], -1)
        rid |= M[M_WFSER] << 40
        count(F, W, MF, C_UPLOADS, t)
    elif wf == PAYMENT:
        M[M_WFSER] += 1
        rid |= M[M_WFSER] << 40
    VK[p, V_REQ] = rid


@jit
def request_done(S, p, t, cause):
    """Client request ``p`` ended: a login logs its user in; an upload's next part is due
    (started by ``advance`` once this event is over, as the general loop starts it last)."""
    U = unpack(S)
    VK = U.VK
    NI, F, W, M, MF, TB, US = U.NI, U.F, U.W, U.M, U.MF, U.TB, U.US
    rid = VK[p, V_REQ]
    n = (rid >> 24) & 0xFF
    wf = NI[N_WF, n]
    if wf == SESSION:
        if cause == OK and (rid >> 32) & 1:
            US[NI[N_UOFF, n] + (rid & 0xFFFFFF)] |= U_LOGGED
    elif wf == UPLOAD:
        uid = rid >> 40
        part = (rid >> 33) & 0x7F
        if cause == OK and part + 1 < NI[N_PARTS, n]:
            M[M_NEXT] = 1
            M[M_NEXT_N] = n
            M[M_NEXT_R] = (rid & ~(0x7F << 33)) | ((part + 1) << 33)
            return
        hdel(TB, M, (T_UPLOAD << T_SHIFT) | uid)
        if cause != OK:
            count(F, W, MF, C_UPLOADS_FAILED, t)


@jit
def take_up(S, c, n, i, st, t):
    """Check and set the workflow state of ``c`` at ``n`` (instance ``i``): 0 or a cause."""
    U = unpack(S)
    VK = U.VK
    NI, F, W, M, MF, TB, CH = U.NI, U.F, U.W, U.M, U.MF, U.TB, U.CH
    US = U.US
    rid = VK[c, V_REQ]
    cli = (rid >> 24) & 0xFF
    wf = NI[N_WF, cli]
    owner = NI[N_OWNER, cli] == n
    if wf == SESSION and owner:
        u = NI[N_UOFF, cli] + (rid & 0xFFFFFF)  # the user's word
        if (rid >> 32) & 1:  # a login creates the session
            if st == LOCAL:
                US[u] = (US[u] & (U_LOGGED | U_SEXT)) | ((i + 1) << U_SHIFT)
            elif st == EXTERNAL_STATE:
                US[u] |= U_SEXT
            count(F, W, MF, C_LOGINS, t)
            return OK
        if st == LOCAL:
            found = (US[u] >> U_SHIFT) == i + 1
        elif st == EXTERNAL_STATE:
            found = (US[u] & U_SEXT) != 0
        else:
            found = True
        if found:
            return OK
        US[u] = 0  # logged out: no session anywhere
        count(F, W, MF, C_LOGGED_OUT, t)
        return SESSION_LOST
    if wf == UPLOAD and owner and st == LOCAL:
        ukey = (T_UPLOAD << T_SHIFT) | (rid >> 40)
        h = hslot(TB, ukey)
        if TB[h, TB_K] != ukey:  # the upload is over; this part is an orphan
            return OK
        if ((rid >> 33) & 0x7F) < NI[N_PARTS, cli] - 1:
            if TB[h, TB_V] == -1:
                TB[h, TB_V] = i
            elif TB[h, TB_V] != i:
                TB[h, TB_V] = -2
            return OK
        return OK if TB[h, TB_V] == i else UPLOAD_FAILED
    if wf == PAYMENT and NI[N_CHARGER, cli] == n:
        pid = rid >> 40
        if NI[N_CKEYS, cli] and owner and st == LOCAL:
            kkey = (T_KLOCAL << T_SHIFT) | (np.int64(i) << 36) | pid
            h = hslot(TB, kkey)
            if TB[h, TB_K] == kkey:
                return OK
            hset(TB, M, kkey, 1)
        elif NI[N_CKEYS, cli] and owner and st == EXTERNAL_STATE:
            if CH[pid] & CH_KEXT:
                return OK
            CH[pid] |= CH_KEXT
        done = CH[pid] & (CH_KEXT - 1)
        CH[pid] += 1
        count(F, W, MF, C_CHARGES, t)
        if done:
            count(F, W, MF, C_DUPLICATES, t)
    return OK


@jit
def owner_start(S, c, n, i, t):
    """A worker of owner or charger ``n`` picked ``c`` up: check state (local, token), or read
    it first (external), then do the own work (workflows.py's ``owner_start``)."""
    U = unpack(S)
    VK = U.VK
    VI, NI, NERR = U.VI, U.NI, U.NERR
    rid = VK[c, V_REQ]
    cli = (rid >> 24) & 0xFF
    if NI[N_WF, cli] == STATELESS or (NI[N_OWNER, cli] != n and NI[N_CHARGER, cli] != n):
        own_work(S, c, n, t)
        return
    st = NI[N_STATE, n] if NI[N_OWNER, cli] == n else NO_STATE
    if st == EXTERNAL_STATE and NI[N_SEDGE, n] >= 0:
        VI[c, V_EDGE] = STATE_ACCESS
        VI[c, V_TRY] = 0
        cause = state_call(S, c, NI[N_SEDGE, n], t)
        if cause:
            defer(S, c, t, cause, False)
        return
    cause = take_up(S, c, n, i, st, t)
    if cause:
        NERR[n, cause] += 1
        defer(S, c, t, cause, True)
        return
    own_work(S, c, n, t)


@jit
def state_accessed(S, c, n, t):
    """The external owner's state access for ``c`` completed: 0 (its own work starts) or the
    cause it fails with."""
    VI = unpack(S).VI
    cause = take_up(S, c, n, np.int64(VI[c, V_INST]), EXTERNAL_STATE, t)
    if cause:
        return cause
    VI[c, V_EDGE] = -1
    own_work(S, c, n, t)
    return 0


@jit
def client_done(S, p, n, t, cause):
    U = unpack(S)
    VK = U.VK
    VI, VT, FR, NI, NF, LT, LW, WB, WN = U.VI, U.VT, U.FR, U.NI, U.NF, U.LT, U.LW, U.WB, U.WN
    F, W, M, MF = U.F, U.W, U.M, U.MF
    t0 = VT[p]
    NI[N_X, n] -= 1
    NF[F_XACC, n] += t
    win = t0 >= MF[MF_W0]
    if win:
        NI[N_SN, n] += 1
        NF[F_SS, n] += t - t0
    if cause == OK:
        ms = (t - t0) * 1e3
        F[C_OK] += 1
        LT[M[M_LT]] = ms
        M[M_LT] += 1
        if win:
            W[C_OK] += 1
            LW[M[M_LW]] = ms
            M[M_LW] += 1
    else:
        F[2 + cause] += 1
        if win:
            W[2 + cause] += 1
            fail_latency(WB, WN, M, (t - t0) * 1e3)
    release(VI, VK, FR, M, p)
    if M[M_WFLOWS]:
        request_done(S, p, t, cause)


@jit
def client_answer(S, p, n, t, cause):
    """Client request ``p``'s attempt answered ``cause``: done, retried, or failed."""
    U = unpack(S)
    VK = U.VK
    VI, NI, NF, RON, OUT, HT, HI, SB, SI = U.VI, U.NI, U.NF, U.RON, U.OUT, U.HT, U.HI, U.SB, U.SI
    SV, M = U.SV, U.M
    while cause:
        e = OUT[NI[N_OUT0, n]]
        if may_retry(S, p, e, cause, t):
            if backoff(S, p, e, t):
                return
            cause = attempt(S, p, n, t)
            continue
        if RON[n, cause] and VI[p, V_AUX] < NI[N_CRETRIES, n] and (
                not full(S) or not NI[N_CBUD, n] or budget_retry(NF, F_CBUD, n, t)):
            VI[p, V_AUX] += 1
            cap = NF[F_BACKOFF, n] * float(1 << (VI[p, V_AUX] - 1))
            s = token(M)
            VK[p, V_TOK] = s
            hpush(HT, HI, M, t + draw(SB, SI, SV, M, NI[N_CJIT_S, n]) * cap, s, EV_RETRY, p)
            return
        break
    if cause == 0 and VK[p, V_WAIT]:
        return
    client_done(S, p, n, t, cause)


@jit
def start(S, c, i, n, t):
    """``c`` takes a server at instance ``i`` of node ``n`` and does its own work."""
    U = unpack(S)
    VK = U.VK
    VI, VT, NI, NF, II, HT, HI, SB, SI = U.VI, U.VT, U.NI, U.NF, U.II, U.HT, U.HI, U.SB, U.SI
    SV, WB, WN, M, MF = U.SV, U.WB, U.WN, U.M, U.MF
    II[I_BUSY, i] += 1
    NI[N_BUSY, n] += 1
    NF[F_BACC, n] -= t
    VI[c, V_HOLD] = 1
    VI[c, V_INST] = i
    t0 = VT[c]
    if MF[MF_W0] <= t0 and t0 < MF[MF_W1]:
        if t > t0:
            WB[M[M_WB]] = (t - t0) * 1e3
            WN[M[M_WB]] = n
            M[M_WB] += 1
        else:
            NI[N_WZ, n] += 1
    if NI[N_HOOK, n]:
        owner_start(S, c, n, i, t)
        return
    work = draw(SB, SI, SV, M, NI[N_WORK_S, n]) * NF[F_SLOW, n]
    if full(S) and NI[N_XF, n] & XF_WORK:
        work_extras(S, c, i, n, t, work, 0.0)
        return
    s = token(M)
    VK[c, V_TOK] = s
    hpush(HT, HI, M, t + work, s, EV_DONE, c)


@jit
def next_queued(S, i, n, t):
    """A server of instance ``i`` (of node ``n``) is free: the first queued visit takes it (a
    worker's: the first message of its queue node).

    A long queue's visits were written long ago and are out of the caches by now: the next in
    line and the caller of this one (read when it is done) are prefetched, so that they are in
    cache when their turn comes (a retry storm's backlog of a million visits ran 20% faster)."""
    U = unpack(S)
    VI, VT, NI, NF, NERR, II = U.VI, U.VT, U.NI, U.NF, U.NERR, U.II
    while II[I_QLEN, i] > 0:
        c = II[I_QHEAD, i]
        II[I_QHEAD, i] = VI[c, V_QNEXT]
        II[I_QLEN, i] -= 1
        if II[I_QLEN, i] > 0:  # the next in line
            prefetch(VI, VI[c, V_QNEXT])
            prefetch(VT, VI[c, V_QNEXT])
        p = np.int64(VI[c, V_PAR])
        if p >= 0:  # its caller, read when it is done
            prefetch(VI, p)
            prefetch(VT, p)
        qn = II[I_QNODE, i]
        NI[N_Q, qn] -= 1
        NF[F_QACC, qn] += t
        if VI[c, V_NODE] != n:
            pick_up(S, c, i, n, t)
            return
        if not full(S) or NF[F_MAXWAIT, n] < 0.0 or t - VT[c] <= NF[F_MAXWAIT, n]:
            start(S, c, i, n, t)
            return
        # Waited too long: dropped, failing shed, with no work (carried on by the loop).
        NERR[n, SHED] += 1
        defer(S, c, t, SHED, True)
    if II[I_STATE, i] == DRAINING and II[I_BUSY, i] == 0:
        drained(S, i, n, t)


@jit
def lifo_push(VI, II, i, c):
    """Queue ``c`` at instance ``i`` to be taken first (``queue_policy`` lifo)."""
    VI[c, V_QNEXT] = II[I_QHEAD, i] if II[I_QLEN, i] else -1
    II[I_QHEAD, i] = c
    if II[I_QLEN, i] == 0:
        II[I_QTAIL, i] = c
    II[I_QLEN, i] += 1


@jit
def fifo_push(VI, II, i, c):
    VI[c, V_QNEXT] = -1
    if II[I_QLEN, i] == 0:
        II[I_QHEAD, i] = c
    else:
        VI[II[I_QTAIL, i], V_QNEXT] = c
    II[I_QTAIL, i] = c
    II[I_QLEN, i] += 1


# ---------------------------------------------------------------- queues and workers

@jit
def pick_up(S, m, i, n, t):
    """A worker takes message ``m`` from its queue node: the message leaves the queue node and
    starts a visit at the worker."""
    U = unpack(S)
    VI, VT, NI, NF, WB, WN, M, MF = U.VI, U.VT, U.NI, U.NF, U.WB, U.WN, U.M, U.MF
    qn = np.int64(VI[m, V_NODE])
    NI[N_DEPTH, qn] -= 1
    t0 = VT[m]
    if MF[MF_W0] <= t0 and t0 < MF[MF_W1]:
        NI[N_SN, qn] += 1
        NF[F_SS, qn] += t - t0
        if t > t0:
            WB[M[M_WB]] = (t - t0) * 1e3
            WN[M[M_WB]] = qn
            M[M_WB] += 1
        else:
            NI[N_WZ, qn] += 1
    VI[m, V_NODE] = n
    VT[m] = t
    VI[m, V_EDGE] = -1
    VI[m, V_LEFT] = 0
    NI[N_ARR, n] += 1
    start(S, m, i, n, t)


@jit
def enqueue_arrive(S, c, n, t):
    """A synchronous call reaches a queue node: the enqueue takes the queue's latency."""
    U = unpack(S)
    VK = U.VK
    VI, NI, NF, HT, HI, SB, SI, SV, M = U.VI, U.NI, U.NF, U.HT, U.HI, U.SB, U.SI, U.SV, U.M
    if NI[N_DEPTH, n] >= NI[N_MAXDEPTH, n]:
        return fail_at(S, c, n, OVERLOAD)
    NI[N_DEPTH, n] += 1
    VI[c, V_HOLD] = 0
    NI[N_X, n] += 1
    NF[F_XACC, n] -= t
    s = token(M)
    VK[c, V_TOK] = s
    hpush(HT, HI, M, t + draw(SB, SI, SV, M, NI[N_WORK_S, n]) * NF[F_SLOW, n], s, EV_DONE, c)
    return 0


@jit
def send_async(S, p, e, t):
    """``p`` enqueues a message along async edge ``e``: 0, or the cause it failed."""
    U = unpack(S)
    VK = U.VK
    VI, VT, FR, NI, NF, NERR, EI, HT, HI = U.VI, U.VT, U.FR, U.NI, U.NF, U.NERR, U.EI, U.HT, U.HI
    SB, SI, SV, M, MF = U.SB, U.SI, U.SV, U.M, U.MF
    n = EI[E_DST, e]
    NI[N_ARR, n] += 1
    if NI[N_DOWN, n] or NI[N_DEPTH, n] >= NI[N_MAXDEPTH, n]:
        cause = UNAVAILABLE if NI[N_DOWN, n] else OVERLOAD
        NERR[n, cause] += 1
        if MF[MF_W0] <= t and t < MF[MF_W1]:
            NI[N_SN, n] += 1
        return cause
    NI[N_DEPTH, n] += 1
    m = alloc(VI, VK, VT, FR, M, n, -1, 0, t, VK[p, V_REQ])
    VI[m, V_HOLD] = 0
    NI[N_X, n] += 1
    NF[F_XACC, n] -= t
    d = draw(SB, SI, SV, M, NI[N_WORK_S, n]) * NF[F_SLOW, n]
    lat = EI[E_LAT_S, e]
    d = d + (draw(SB, SI, SV, M, lat) if lat >= 0 else 0.0)
    s = token(M)
    VK[m, V_TOK] = s
    hpush(HT, HI, M, t + d, s, EV_DONE, m)
    return 0


@jit
def queued_message(S, m, n, t):
    """Message ``m`` is in queue node ``n`` after its enqueue latency: the caller of a
    synchronous enqueue gets its answer; a free worker takes it at once, else it waits."""
    U = unpack(S)
    VK = U.VK
    VI, NI, NF, II = U.VI, U.NI, U.NF, U.II
    NI[N_X, n] -= 1
    NF[F_XACC, n] += t
    p = np.int64(VI[m, V_PAR])
    if p >= 0:
        VI[m, V_PAR] = -1
        if VK[p, V_WAIT] == VK[m, V_PTOK]:
            unwait(S, p, t, OK)
            proceed(S, p, t, OK, False)
    i = NI[N_QINST, n]
    if i < 0:  # no worker drains this queue: the message stays until the end
        VI[m, V_HOLD] = 2
        NI[N_Q, n] += 1
        NF[F_QACC, n] -= t
        return
    wn = II[I_NODE, i]
    if II[I_BUSY, i] < II[I_CAP, i] and not NI[N_DOWN, wn]:
        pick_up(S, m, i, wn, t)
        return
    fifo_push(VI, II, i, m)
    VI[m, V_HOLD] = 2
    NI[N_Q, n] += 1
    NF[F_QACC, n] -= t


# ---------------------------------------------------------------- serverless

@jit
def arrive_serverless(S, c, n, t):
    """A request takes the most recently idle warm container, else starts one (cold start)
    while under ``max_concurrency``, else fails overload (operations.py)."""
    U = unpack(S)
    VI, NI, NF, II, SB, SI, SV, M, MF = U.VI, U.NI, U.NF, U.II, U.SB, U.SI, U.SV, U.M, U.MF
    VA = U.VA
    i = NI[N_INST0, n]
    idle_expire(S, n, t)
    if NI[N_IDLN, n]:
        NI[N_IDLN, n] -= 1  # the newest idle container
        extra = 0.0
    elif II[I_BUSY, i] < II[I_CAP, i]:
        extra = draw(SB, SI, SV, M, NI[N_COLD_S, n])
    else:
        return fail_at(S, c, n, OVERLOAD)
    II[I_BUSY, i] += 1
    NI[N_BUSY, n] += 1
    NF[F_BACC, n] -= t
    VI[c, V_HOLD] = 1
    VI[c, V_INST] = i
    VA[c] = extra
    NI[N_CALLS, n] += 1
    if MF[MF_W0] <= t and t < MF[MF_W1]:
        NI[N_WZ, n] += 1
    if NI[N_HOOK, n]:
        owner_start(S, c, n, i, t)
    else:
        own_work(S, c, n, t)
    return 0


@jit
def idle_expire(S, n, t):
    """Containers idle for ``keep_warm_s`` are gone (the oldest first)."""
    U = unpack(S)
    NI, NF, IDL = U.NI, U.NF, U.IDL
    off = NI[N_IDL0, n]
    cap = NI[N_IDLCAP, n]
    keep = NF[F_KEEP, n]
    while NI[N_IDLN, n] and IDL[off + NI[N_IDLH, n]] + keep <= t:
        NI[N_IDLH, n] = (NI[N_IDLH, n] + 1) % cap
        NI[N_IDLN, n] -= 1


@jit
def idle_push(S, n, t):
    U = unpack(S)
    NI, IDL = U.NI, U.IDL
    cap = NI[N_IDLCAP, n]
    IDL[NI[N_IDL0, n] + (NI[N_IDLH, n] + NI[N_IDLN, n]) % cap] = t
    NI[N_IDLN, n] += 1


@jit
def drained(S, i, n, t):
    """Instance ``i`` of ``n`` is draining and its last request left: Python stops it after
    this event (compiled.Core._drained_stops) with tokens set aside now, so that what the stop
    schedules keeps its place among the events."""
    U = unpack(S)
    NI, M, PD, PDT = U.NI, U.M, U.PD, U.PDT
    j = M[M_NPD]
    PD[0, j] = i
    PD[1, j] = M[M_TOK]
    PDT[j] = t
    M[M_NPD] = j + 1
    M[M_TOK] += NI[N_DRAINTOK, n]


@jit
def stop_prepare(S, n, i, t, victims):
    """Instance ``i`` of ``n`` stops: its visits let go of their servers and queue places
    (operations._stop's first loop; ``stop_fail`` then fails them)."""
    U = unpack(S)
    VK = U.VK
    VI, NI, NF, II = U.VI, U.NI, U.NF, U.II
    for c in victims:
        h = np.int64(VI[c, V_HOLD])
        if h == 1:
            II[I_BUSY, i] -= 1
            NI[N_BUSY, n] -= 1
            NF[F_BACC, n] += t
        elif h == 2:
            NI[N_Q, n] -= 1
            NF[F_QACC, n] += t
        if h:
            VI[c, V_HOLD] = 0
            NI[N_X, n] += 1
            NF[F_XACC, n] -= t
        VK[c, V_TOK] = 0
        unwait(S, c, t, -1)
    II[I_QLEN, i] = 0
    II[I_PSN, i] = 0
    II[I_PSHEAD, i] = 0
    II[I_PSTOK, i] = 0


@jit
def stop_fail(S, n, t, victims):
    U = unpack(S)
    NERR, M = U.NERR, U.M
    for c in victims:
        NERR[n, UNAVAILABLE] += 1
        proceed(S, c, t, UNAVAILABLE, True)
        while M[M_NEXT]:
            M[M_NEXT] = 0
            start_request(S, M[M_NEXT_N], t, M[M_NEXT_R])


@jit
def schedule_emission(S, n, t):
    """simulation.py's ``_schedule_emission`` after a live traffic control."""
    U = unpack(S)
    NI, NF, HT, HI, SB, SI, SV, M, MF = U.NI, U.NF, U.HT, U.HI, U.SB, U.SI, U.SV, U.M, U.MF
    if M[M_FLAT] and NF[F_RPS, n] > 0:
        nt = t + draw(SB, SI, SV, M, NI[N_CEXP_S, n]) / NF[F_RPS, n]
    else:
        nt = next_emission(S, n, t)
    s = token(M)
    NI[N_CTOK, n] = s
    if nt < MF[MF_W1]:
        hpush(HT, HI, M, nt, s, EV_EMIT, n)


@jit
def proceed(S, c, t, cause, fin):
    """Carry visit ``c`` on: its next call, its retry, or its answer to its caller, up the
    chain of callers as far as the answers go at ``t``.

    Long on purpose: one loop that climbs the chain of callers without recursion (numba cannot
    cache recursive functions) and keeps the common path (a call answered, the next call made)
    inside one function the compiler can optimise as a whole."""
    U = unpack(S)
    VK = U.VK
    VI, VT, FR, NI, NF, NERR, EI, EF, II = U.VI, U.VT, U.FR, U.NI, U.NF, U.NERR, U.EI, U.EF, U.II
    OUT, SB, SI, SV, M, MF = U.OUT, U.SB, U.SI, U.SV, U.M, U.MF
    while True:
        n = np.int64(VI[c, V_NODE])
        if not fin:
            if NI[N_KIND, n] == CLIENT:
                if cause:
                    client_answer(S, c, n, t, cause)
                else:
                    client_done(S, c, n, t, OK)
                return
            o0 = NI[N_OUT0, n]
            if M[M_WFLOWS] and VI[c, V_EDGE] == STATE_ACCESS:
                if not cause:
                    cause = state_accessed(S, c, n, t)
                    if not cause:
                        return
                    NERR[n, cause] += 1
                    fin = True
                else:
                    e = NI[N_SEDGE, n]
                    if may_retry(S, c, e, cause, t):
                        if backoff(S, c, e, t):
                            return
                        cause = call(S, c, e, t)
                        if not cause:
                            return
                        continue
                    fin = True
            elif cause:
                e = OUT[o0 + VI[c, V_EDGE]]
                if may_retry(S, c, e, cause, t):
                    if backoff(S, c, e, t):
                        return
                    if EI[E_ASYNC, e]:
                        cause = send_async(S, c, e, t)
                    else:
                        cause = call(S, c, e, t)
                        if not cause:
                            return
                    continue
                fin = True
            else:
                while True:
                    if VI[c, V_LEFT]:
                        VI[c, V_LEFT] -= 1
                        VI[c, V_TRY] = 0
                        e = OUT[o0 + VI[c, V_EDGE]]
                        if EI[E_ASYNC, e]:
                            cause = send_async(S, c, e, t)
                            if cause:
                                break
                            continue
                        cause = call(S, c, e, t)
                        if not cause:
                            return
                        break
                    k = VI[c, V_EDGE] + 1
                    if k >= NI[N_OUTN, n]:
                        fin = True
                        break
                    VI[c, V_EDGE] = k
                    e = OUT[o0 + k]
                    u = EI[E_U_S, e]
                    if u >= 0 and draw(SB, SI, SV, M, u) < EF[EF_FRAC, e]:
                        VI[c, V_LEFT] = EI[E_WHOLE, e] + 1
                    else:
                        VI[c, V_LEFT] = EI[E_WHOLE, e]
                if not fin:
                    continue
        # ``c`` leaves node ``n`` with ``cause`` and answers its caller.
        h = np.int64(VI[c, V_HOLD])
        freed = -1
        if h == 1:
            i = np.int64(VI[c, V_INST])
            II[I_BUSY, i] -= 1
            NI[N_BUSY, n] -= 1
            NF[F_BACC, n] += t
            if II[I_QLEN, i] > 0:
                next_queued(S, i, n, t)
            elif II[I_STATE, i] == SERVERLESS_POOL:
                freed = n
            elif II[I_STATE, i] == DRAINING and II[I_BUSY, i] == 0:
                drained(S, i, n, t)
        elif h == 0:
            NI[N_X, n] -= 1
            NF[F_XACC, n] += t
        t0 = VT[c]
        if MF[MF_W0] <= t0 and t0 < MF[MF_W1]:
            NI[N_SN, n] += 1
            NF[F_SS, n] += t - t0
        if full(S) and NI[N_CANARY, n] >= 0 and VI[c, V_INST] == NI[N_CANARY, n]:
            canary_note(S, n, (t - t0) * 1e3, cause)
        p = np.int64(VI[c, V_PAR])
        tok = VK[c, V_PTOK]
        release(VI, VK, FR, M, c)
        if freed >= 0:  # a serverless container is idle from now
            idle_push(S, freed, t)
        if p < 0 or VK[p, V_WAIT] != tok:
            return
        unwait(S, p, t, cause)
        c = p
        fin = False


@jit
def cache_done(S, c, n, t):
    """``c``'s own work at a cache store or cdn is over: a hit answers; a miss frees the
    store's slot and goes on along the node's edges (simulation.py's ``done_other`` and
    ``cache_hit``, for a cache with a bitmap of keys)."""
    U = unpack(S)
    VI, NI, NF, II, SB, SI, SV, M, SEEN = U.VI, U.NI, U.NF, U.II, U.SB, U.SI, U.SV, U.M, U.SEEN
    u = draw(SB, SI, SV, M, NI[N_KEY_S, n])
    if NI[N_SEEN0, n] >= 0:
        j = NI[N_SEEN0, n] + int(u * NI[N_KEYS, n])
        was = SEEN[j]
        if not was:
            SEEN[j] = 1
            NI[N_NSEEN, n] += 1
        hit = False
        if was:
            hit = draw(SB, SI, SV, M, NI[N_OK_S, n]) < NF[F_HIT, n]
    else:  # beyond 2**24 keys: the expected share of keys seen
        drawn = NI[N_DRAWS, n]
        NI[N_DRAWS, n] = drawn + 1
        share_seen = 1.0 - math.exp(drawn * math.log1p(-1.0 / NI[N_KEYS, n]))
        hit = draw(SB, SI, SV, M, NI[N_OK_S, n]) < NF[F_HIT, n] * share_seen
    if hit:
        proceed(S, c, t, OK, True)
        return
    if VI[c, V_HOLD] == 1:
        i = np.int64(VI[c, V_INST])
        II[I_BUSY, i] -= 1
        NI[N_BUSY, n] -= 1
        NF[F_BACC, n] += t
        VI[c, V_HOLD] = 0
        NI[N_X, n] += 1
        NF[F_XACC, n] -= t
    proceed(S, c, t, OK, False)


@jit
def next_emission(S, n, t):
    """simulation.py's ``_next_emission``: thinning under the piecewise-linear multiplier."""
    U = unpack(S)
    NI, NF, SB, SI, SV, M, MF, PT = U.NI, U.NF, U.SB, U.SI, U.SV, U.M, U.MF, U.PT
    rate = NF[F_RPS, n]
    if rate <= 0:
        return inf
    last = M[M_NPTS] - 1
    j = NI[N_CSEG, n]
    while True:
        if t >= MF[MF_W1]:
            return inf
        while j < last and PT[0, j + 1] <= t:
            j += 1
        NI[N_CSEG, n] = j
        t0 = PT[0, j]
        v0 = PT[1, j]
        if j < last:
            t1 = PT[0, j + 1]
            v1 = PT[1, j + 1]
            vt = v0 + (v1 - v0) * (t - t0) / (t1 - t0)
        else:
            t1 = inf
            v1 = v0
            vt = v0
        vmax = vt if vt >= v1 else v1
        top = rate * vmax
        if top <= 0:
            if t1 == inf:
                return inf
            t = t1
            continue
        tn = t + draw(SB, SI, SV, M, NI[N_CEXP_S, n]) / top
        if tn == inf:
            return inf
        if tn >= t1:
            t = t1
            continue
        if v1 == vt:
            return tn
        v = v0 + (v1 - v0) * (tn - t0) / (t1 - t0)
        if draw(SB, SI, SV, M, NI[N_CTHIN_S, n]) * vmax < v:
            return tn
        t = tn


@jit
def start_request(S, n, t, req):
    U = unpack(S)
    VK = U.VK
    VI, VT, FR, NI, NF, NERR, OUT, WB, WN = U.VI, U.VT, U.FR, U.NI, U.NF, U.NERR, U.OUT, U.WB, U.WN
    F, W, M, MF = U.F, U.W, U.M, U.MF
    F[C_REQUESTS] += 1
    F[C_ATTEMPTS] += 1
    NI[N_ARR, n] += 1
    win = t >= MF[MF_W0]
    if win:
        W[C_REQUESTS] += 1
        W[C_ATTEMPTS] += 1
        NI[N_WZ, n] += 1
    if M[M_SLOTS] - M[M_FREE] >= M[M_MAXLIVE]:
        F[2 + OVERLOAD] += 1
        NERR[n, OVERLOAD] += 1
        if win:
            W[2 + OVERLOAD] += 1
            NI[N_SN, n] += 1
            fail_latency(WB, WN, M, 0.0)
        return
    p = alloc(VI, VK, VT, FR, M, n, -1, 0, t, -1)
    VI[p, V_EDGE] = 0
    VK[p, V_REQ] = p if req < 0 else req
    VI[p, V_HOLD] = 0
    VI[p, V_TRY] = 0
    VI[p, V_AUX] = 0
    NI[N_X, n] += 1
    NF[F_XACC, n] -= t
    if M[M_WFLOWS]:
        request_started(S, p, n, t, req)
    if full(S) and NI[N_CBUD, n]:
        budget_deposit(NF, F_CBUD, n, t)
    cause = call(S, p, OUT[NI[N_OUT0, n]], t)
    if cause:
        client_answer(S, p, n, t, cause)


@jit
def advance(S, until):
    """Process events before ``until``; R_DONE when there, else why it stopped (R_SLICE: the
    slice of events in M_LEFT is used up, and the simulation's checkpoint is due).

    Long on purpose: the event loop dispatches on the event's code in one place, so that each
    kind of event is a branch of one compiled loop rather than a call through a table; each
    branch is a few lines that hand over to the function of its kind."""
    U = unpack(S)
    VK = U.VK
    VI, VT, NI, NF, NERR, EI, II, OUT, HT = U.VI, U.VT, U.NI, U.NF, U.NERR, U.EI, U.II, U.OUT, U.HT
    HI, SB, SI, SV, LT, M, MF, TB, BT = U.HI, U.SB, U.SI, U.SV, U.LT, U.M, U.MF, U.TB, U.BT
    IF, CH = U.IF, U.CH
    QT, QS, QA = U.QT, U.QS, U.QA
    vcap = VT.shape[0]
    hcap = HT.shape[0]
    bcap = LT.shape[0]
    qcap = QT.shape[1]
    while True:
        # The next event: the heap's top, or the head of the lane due first if that is earlier.
        q = M[M_QBEST]
        h = 0
        if q >= 0:
            h = M[M_QH0 + q]
            if M[M_HN] > 0 and before(HT[0], HI[0, H_S], QT[q, h], QS[q, h]):
                q = -1
        if q >= 0:
            if not QT[q, h] < until:
                break
        elif M[M_HN] == 0 or not HT[0] < until:
            break
        if M[M_ERR]:
            return R_BROKEN
        if (M[M_FLAG] or M[M_SLOTS] + _VRES > vcap or M[M_HN] + _HRES > hcap
                or M[M_LT] + _BRES > bcap or M[M_LW] + _BRES > bcap
                or M[M_WB] + _BRES > bcap or 2 * (M[M_HCNT] + _TRES) > TB.shape[0]
                or M[M_WFSER] + _SERRES > CH.shape[0] or M[M_QMAX] + _QRES > qcap
                or (full(S) and M[M_CBRES] and (M[M_RNFREE] < M[M_CBRES]
                                    or M[M_NBE] + M[M_CBRES] > BT.shape[0]))):
            return R_YIELD
        if M[M_LEFT] <= 0:
            return R_SLICE
        M[M_LEFT] -= 1
        if q >= 0:
            t = QT[q, h]
            s = QS[q, h]
            code = EV_TIMEOUT
            a = QA[q, h]
            lane_pop(S, q)
        else:
            t = HT[0]
            s = HI[0, H_S]
            code = HI[0, H_C]
            a = HI[0, H_A]
            M[M_HTOP] = 1  # taken off when its handler is done, unless it pushes (hpush)
        if code == EV_DONE:
            if VK[a, V_TOK] == s:
                n = np.int64(VI[a, V_NODE])
                if NI[N_PLAIN, n]:
                    i = np.int64(VI[a, V_INST])
                    if full(S) and NI[N_XF, n] & XF_REL and i >= 0 and IF[IF_RERR, i] > 0.0 \
                            and NI[N_KIND, n] == SERVICE \
                            and draw(SB, SI, SV, M, NI[N_REL_S, n]) < IF[IF_RERR, i]:
                        # a release's error after the work: no calls
                        NERR[n, ERROR] += 1
                        proceed(S, a, t, ERROR, True)
                    else:
                        proceed(S, a, t, OK, False)
                elif NI[N_KIND, n] == QUEUE:
                    queued_message(S, a, n, t)
                elif NI[N_KIND, n] == EXTERNAL:
                    if draw(SB, SI, SV, M, NI[N_OK_S, n]) < NF[F_ERROR, n]:
                        NERR[n, ERROR] += 1
                        proceed(S, a, t, ERROR, True)
                    else:
                        proceed(S, a, t, OK, True)
                else:
                    cache_done(S, a, n, t)
        elif code == EV_ARRIVE:
            p = np.int64(VI[a, V_PAR])
            tok = VK[a, V_PTOK]
            VT[a] = t
            r = arrive(S, a, t)
            if r and p >= 0 and VK[p, V_WAIT] == tok:
                unwait(S, p, t, r)
                proceed(S, p, t, r, False)
        elif code == EV_EMIT:
            if NI[N_CTOK, a] == s:
                if M[M_FLAT]:
                    nt = t + draw(SB, SI, SV, M, NI[N_CEXP_S, a]) / NF[F_RPS, a]
                else:
                    nt = next_emission(S, a, t)
                if nt < MF[MF_W1]:
                    s2 = token(M)
                    NI[N_CTOK, a] = s2
                    hpush(HT, HI, M, nt, s2, EV_EMIT, a)
                start_request(S, a, t, -1)
        elif code == EV_TIMEOUT:
            if VK[a, V_WAIT] == s:
                unwait(S, a, t, TIMEOUT)
                NERR[VI[a, V_NODE], TIMEOUT] += 1
                proceed(S, a, t, TIMEOUT, False)
        elif code == EV_RETRY:
            if VK[a, V_TOK] == s:
                VK[a, V_TOK] = 0
                VI[a, V_TRY] = 0
                n = np.int64(VI[a, V_NODE])
                r = attempt(S, a, n, t)
                if r:
                    client_answer(S, a, n, t, r)
        elif code == EV_PSDONE:  # processor sharing: the next completion at instance a
            if II[I_PSTOK, a] == s:
                c = ps_done(S, a, t)
                if c >= 0:
                    proceed(S, c, t, OK, False)
        elif code == EV_ERETRY:  # an edge's retry after its backoff
            if VK[a, V_TOK] == s:
                VK[a, V_TOK] = 0
                n = np.int64(VI[a, V_NODE])
                if NI[N_KIND, n] == CLIENT:
                    r = attempt(S, a, n, t)
                    if r:
                        client_answer(S, a, n, t, r)
                else:
                    if VI[a, V_EDGE] == STATE_ACCESS:
                        r = call(S, a, NI[N_SEDGE, n], t)
                    else:
                        r = call(S, a, OUT[NI[N_OUT0, n] + VI[a, V_EDGE]], t)
                    if r:
                        proceed(S, a, t, r, False)
        elif code == EV_BREAKER:  # an open breaker's open_s is over: half-open
            if EI[E_CBTOK, a] == s and EI[E_CBST, a] == CB_OPEN:
                breaker_set(S, a, t, CB_HALF)
        elif code == EV_DEFER:
            if VK[a, V_TOK] == s:
                VK[a, V_TOK] = 0
                d = np.int64(VI[a, V_DEF])
                proceed(S, a, t, d >> 1, (d & 1) == 1)
        else:  # EV_LATER: Python's to run
            M[M_HTOP] = 0
            hpop(HT, HI, M)
            M[M_LATER_S] = s
            MF[MF_LATER_T] = t
            return R_LATER
        while M[M_NEXT]:  # an upload's next part, started last, as the general loop does
            M[M_NEXT] = 0
            start_request(S, M[M_NEXT_N], t, M[M_NEXT_R])
        if M[M_HTOP]:  # the handler pushed nothing
            M[M_HTOP] = 0
            hpop(HT, HI, M)
        if M[M_NPD]:
            return R_DRAINED
    return R_DONE


def _load_cached_without_refresh() -> None:
    """Load each function from numba's cache without first refreshing numba's typing and target
    contexts, which imports and installs every registry of numba's (0.2-0.3 s, most of a
    process's first frame): a function rebuilt from its cached object code needs none of them.
    A cache miss still compiles as before, and a compile refreshes both contexts itself
    (numba.core.compiler.CompilerBase). numba is pinned (requirements.txt); should its cache
    change shape, the functions load the usual way."""
    from numba.core.caching import Cache
    from numba.core.dispatcher import Dispatcher

    for fn in list(globals().values()):
        cache = getattr(fn, "_cache", None) if isinstance(fn, Dispatcher) else None
        if not isinstance(cache, Cache) or not hasattr(cache, "_load_overload"):
            continue

        def load_overload(sig: Any, target_context: Any, cache: Any = cache) -> Any:
            with cache._guard_against_spurious_io_errors():
                return cache._load_overload(sig, target_context)

        cache.load_overload = load_overload


if not numba.config.DISABLE_JIT:
    _load_cached_without_refresh()
