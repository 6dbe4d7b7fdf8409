"""The compiled core's state, declared once: every array the core works on, by name, with its
type, what it holds and how it grows.

``FIELDS`` is the one declaration. From it come:

- ``State``, the named tuple the jitted functions see (``jitcore.unpack(S)`` gives one, and a
  function reads the arrays it uses by name: ``U = unpack(S)``, ``VI, M = U.VI, U.M``);
- ``LAYOUT``, the dtype and dimensions of each, in order, which ``jitcore.unpack`` reads back
  from the packed words and ``compiled.Core._packed`` checks before packing;
- ``Arrays``, the mutable set of arrays ``compiled.Core`` keeps (``core.S.VI``), which grows a
  group of arrays along their last axis together (``Arrays.grow``).

The rows of the two-dimensional arrays (``V_*`` of VI, ``N_*`` of NI and so on) and the scalars
of M and MF are declared in compiled.py.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Field:
    """One array of the state: its name, dtype, dimensions (1, or 2 as [row, column]: or as
    [item, row] when ``by_item``, so that one item's rows share a cache line), what it holds, and
    the group of arrays whose items it grows with, if it grows: the arrays of a group share one
    capacity, doubled together. A field ``view_of`` another is that array's memory read as its
    own dtype (``Arrays`` makes it, and makes it again whenever the other is replaced)."""

    name: str
    dtype: Any
    ndim: int
    doc: str
    group: str | None = None
    fill: float = 0
    by_item: bool = False
    view_of: str | None = None

    def capacity(self, a: np.ndarray) -> int:
        """How many items ``a`` (an array of this field) has room for."""
        return a.shape[0] if self.ndim == 1 or self.by_item else a.shape[1]


FIELDS: tuple[Field, ...] = (
    Field("VI", np.int32, 2, "visits' records [slot, word]: V_* words (compiled._V_WORDS)",
          "visits", by_item=True),
    Field("VK", np.int64, 2, "the same records read as int64 [slot, V_TOK...V_REQ]: a view of VI",
          "visits", by_item=True, view_of="VI"),
    Field("VT", np.float64, 1, "visits' start times", "visits"),
    Field("FR", np.int64, 1, "the free visit slots, a stack (M_FREE of them)", "visits"),
    Field("NI", np.int64, 2, "nodes' ints [N_* row, node]"),
    Field("NF", np.float64, 2, "nodes' floats [F_* row, node]"),
    Field("NERR", np.int64, 2, "failures started since the last flush [node, cause]"),
    Field("RON", np.int64, 2, "a client's retry_on [node, cause]: 1 to retry"),
    Field("EI", np.int64, 2, "edges' ints [E_* row, edge]"),
    Field("EF", np.float64, 2, "edges' floats [EF_* row, edge]"),
    Field("II", np.int64, 2, "instances' ints [I_* row, instance] (I_PST read as a float)",
          "instances"),
    Field("OUT", np.int64, 1, "each node's out edges, in order (from N_OUT0, N_OUTN of them)"),
    Field("VIEW", np.int64, 1, "each balancer's view of the instances up (N_VIEW0, N_VIEWN)"),
    Field("UPS", np.int64, 1, "each service's instances up (N_UP0, N_UPN)"),
    Field("HT", np.float64, 1, "the event heap's times (infinity past the last entry: "
          "jitcore.hpop)", "heap", fill=np.inf),
    Field("HI", np.int64, 2, "the event heap's [entry, H_S token / H_C code / H_A slot]", "heap",
          by_item=True),
    Field("SB", np.float64, 2, "each stream's buffered draws [stream, position]"),
    Field("SI", np.int64, 2, "each stream's [S_POS, S_LEN, S_CONST]"),
    Field("SV", np.float64, 1, "a constant stream's value"),
    Field("LT", np.float64, 1, "successful client requests' latencies this tick (ms)"),
    Field("LW", np.float64, 1, "the same inside the measuring window"),
    Field("WB", np.float64, 1, "queue waits (ms), failed requests' and canaries' latencies"),
    Field("WN", np.int64, 1, "the node of each WB entry (FAILED, CANARY - n)"),
    Field("F", np.int64, 1, "counters of the tick (C_*)"),
    Field("W", np.int64, 1, "counters of the measuring window (C_*)"),
    Field("M", np.int64, 1, "int scalars (M_*)"),
    Field("MF", np.float64, 1, "float scalars (MF_*)"),
    Field("PT", np.float64, 2, "the traffic profile's [times, multipliers]"),
    Field("SEEN", np.uint8, 1, "cache keys seen since the last flush, a byte each (N_SEEN0)"),
    Field("TB", np.int64, 2, "the workflow table [cell, TB_K key (EMPTY: free; T_* maps) / TB_V "
          "value]", "table", fill=-1, by_item=True),
    Field("US", np.int32, 1, "each session user's word (compiled.U_*): a client's users from its "
          "N_UOFF"),
    Field("VA", np.float64, 1, "visits' floats: a cold start, or work left under processor "
          "sharing", "visits"),
    Field("IDL", np.float64, 1, "serverless containers' idle times, a ring per node"),
    Field("PD", np.int64, 2, "instances found drained in one event [0: instance / 1: token base, j]"),
    Field("PDT", np.float64, 1, "... and when"),
    Field("RT", np.float64, 1, "window records' completion times (breakers, throttles)",
          "records"),
    Field("RI", np.int64, 2, "window records' [R_NEXT, R_OK, R_FAIL]", "records"),
    Field("BT", np.float64, 1, "breakers' changes of state: times", "changes"),
    Field("BI", np.int64, 1, "breakers' changes of state: edge x 4 + new state", "changes"),
    Field("IF", np.float64, 2, "instances' floats [IF_* row, instance]", "instances"),
    Field("QT", np.float64, 2, "the timeout lanes' times [lane, position] (compiled._LANES)",
          "lanes"),
    Field("QS", np.int64, 2, "... their tokens", "lanes"),
    Field("QA", np.int64, 2, "... and the visits that wait", "lanes"),
    Field("CH", np.int64, 1, "each payment's charges so far, by its serial (M_WFSER), with "
          "CH_KEXT set once its idempotency key is in the external store", "serials"),
)

NAMES: tuple[str, ...] = tuple(f.name for f in FIELDS)
#: What the jitted functions see: the arrays by name.
State = namedtuple("State", NAMES)  # type: ignore[misc]
#: Each array's (dtype, dimensions), in order.
LAYOUT: tuple[tuple[Any, int], ...] = tuple((f.dtype, f.ndim) for f in FIELDS)
_BY_NAME = {f.name: f for f in FIELDS}
#: The fields that are views of each field (Field.view_of).
VIEWS: dict[str, tuple[Field, ...]] = {}
for _f in FIELDS:
    if _f.view_of:
        VIEWS[_f.view_of] = (*VIEWS.get(_f.view_of, ()), _f)
GROUPS: dict[str, tuple[Field, ...]] = {}
for _f in FIELDS:
    if _f.group:
        GROUPS[_f.group] = (*GROUPS.get(_f.group, ()), _f)


def empty(name: str, rows: int, cap: int) -> np.ndarray:
    """A new array for field ``name``: ``cap`` items (one-dimensional) of ``rows`` each
    (two-dimensional), holding its fill value."""
    f = _BY_NAME[name]
    shape = (cap,) if f.ndim == 1 else (cap, rows) if f.by_item else (rows, cap)
    if f.fill == 0:  # zeroed pages from the system, touched only when used
        return np.zeros(shape, dtype=f.dtype)
    return np.full(shape, f.fill, dtype=f.dtype)


class Arrays:
    """The core's arrays, one attribute per field (``S.VI``); iterating gives them in order.
    ``version`` counts the arrays set (replaced) so far: what packs them need not look again
    while it stays the same."""

    __slots__ = (*NAMES, "version")

    def __init__(self, **arrays: np.ndarray) -> None:
        missing = {f.name for f in FIELDS if not f.view_of} - set(arrays)
        if missing:
            raise TypeError(f"the state lacks {sorted(missing)}")
        object.__setattr__(self, "version", 0)
        for f in FIELDS:
            if not f.view_of:  # a view is made with the array it reads
                setattr(self, f.name, arrays[f.name])

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)
        for view in VIEWS.get(name, ()):
            object.__setattr__(self, view.name, value.view(view.dtype))
        object.__setattr__(self, "version", self.version + 1)

    def __iter__(self) -> Iterator[np.ndarray]:
        return (getattr(self, name) for name in NAMES)

    def __len__(self) -> int:
        return len(NAMES)

    def as_state(self) -> Any:
        return State(*self)

    def grow(self, group: str, cap: int) -> None:
        """Every array of ``group`` with room for ``cap`` items, what it held kept at the front
        and the rest holding its fill value."""
        for f in GROUPS[group]:
            if f.view_of:  # made again with the array it reads
                continue
            old = getattr(self, f.name)
            if f.ndim == 1:
                new = empty(f.name, 0, cap)
                new[:old.shape[0]] = old
            elif f.by_item:
                new = empty(f.name, old.shape[1], cap)
                new[:old.shape[0]] = old
            else:
                new = empty(f.name, old.shape[0], cap)
                new[:, :old.shape[1]] = old
            setattr(self, f.name, new)
