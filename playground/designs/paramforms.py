"""Forms built from the engine's parameter table (``playground.engine.params``).

The editor's side panel shows one ``Param`` as one field with its unit, range and help, and reads
a submitted form back into document values. Values go into the document as typed (a number where a
number parses, the text otherwise) and the engine's validator says what is wrong, so every message
comes from one place.

Terms
-----
field name
    ``<prefix><param>``, e.g. ``p.workers``; a distribution adds ``.dist`` and its fields
    (``p.service_ms.mean``), an object ``.on`` and its fields, a nullable parameter whose default
    is not null ``.null``.
explicit
    A parameter the document sets. A submitted value equal to the default of a parameter the
    document does not set stays unset, so saving a form never writes defaults out.
empty field
    A field the user emptied has no value yet, not the default: a parameter that needs a value
    (required, or with a default) keeps the one it had until a new one is typed (the editor says
    "required" at the field meanwhile). Emptying an optional parameter whose default is none
    (``timeout_ms``, a queue bound) unsets it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from playground.engine.params import DIST_FIELDS, DIST_KINDS, Param

MISSING = object()
EMPTY = object()

_INT = re.compile(r"^[+-]?\d{1,18}$")
DIST_LABELS = {
    "": "exponential (mean)",
    "exp": "exponential",
    "const": "constant",
    "lognormal": "lognormal",
    "uniform": "uniform",
    "erlang": "Erlang",
}


def fmt_number(x: Any) -> str:
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return "" if x is None else str(x)
    if isinstance(x, float) and x.is_integer() and abs(x) < 1e15:
        x = int(x)
    if isinstance(x, int):
        return f"{x:,}" if abs(x) >= 100000 else str(x)
    return f"{x:g}"


def range_text(p: Param) -> str:
    """The allowed range in words: ``1 – 10,000``, ``> 0``, ``≥ 0``."""
    if p.type not in ("int", "number", "dist"):
        return ""
    lo, hi = p.min, p.max
    has_hi = hi is not None and hi < 1e9
    if lo is not None and has_hi:
        left = ">" if p.min_exclusive else ""
        right = " (exclusive)" if p.max_exclusive else ""
        return f"{left}{fmt_number(lo)} – {fmt_number(hi)}{right}"
    if lo is not None:
        return f"{'>' if p.min_exclusive else '≥'} {fmt_number(lo)}"
    if has_hi:
        return f"{'<' if p.max_exclusive else '≤'} {fmt_number(hi)}"
    return ""


def default_text(p: Param) -> str:
    if p.type == "object" or (p.default is None and p.nullable):
        return "none" if p.default is None else ""
    if p.default is None:
        return ""
    if isinstance(p.default, bool):
        return "on" if p.default else "off"
    if isinstance(p.default, (tuple, list)):
        return ", ".join(p.default) or "none"
    return fmt_number(p.default)


def default(p: Param) -> Any:
    return list(p.default) if isinstance(p.default, tuple) else p.default


@dataclass
class Field:
    """One parameter as the panel shows it."""

    param: Param
    name: str
    value: Any
    explicit: bool
    error: str = ""
    subfields: list[Field] = field(default_factory=list)
    dist: str = ""

    @property
    def id(self) -> str:
        return "f-" + re.sub(r"[^A-Za-z0-9_-]", "-", self.name)

    @property
    def label(self) -> str:
        return self.param.name

    @property
    def text(self) -> str:
        """The value for a text input."""
        if self.value is None:
            return ""
        if isinstance(self.value, (int, float)) and not isinstance(self.value, bool):
            return repr(self.value) if isinstance(self.value, float) and not self.value.is_integer() else str(
                int(self.value) if isinstance(self.value, float) else self.value)
        if isinstance(self.value, str):
            return self.value
        return ""

    @property
    def is_null(self) -> bool:
        return self.value is None

    @property
    def input(self) -> str:
        """Which widget: number, text, checkbox, select, causes, dist, object."""
        t = self.param.type
        if t in ("int", "number"):
            return "number"
        if t == "bool":
            return "checkbox"
        if t == "enum":
            return "select"
        return {"string": "text"}.get(t, t)

    @property
    def step(self) -> str:
        return "1" if self.param.type == "int" else "any"

    @property
    def choices(self) -> tuple[str, ...]:
        return self.param.choices

    @property
    def checked_causes(self) -> list[str]:
        return list(self.value) if isinstance(self.value, (list, tuple)) else []

    @property
    def range(self) -> str:
        return range_text(self.param)

    @property
    def default(self) -> str:
        return default_text(self.param)

    @property
    def required(self) -> bool:
        """Emptying the field does not unset it (see *empty field*)."""
        return keeps_value(self.param)

    @property
    def null_toggle(self) -> bool:
        """A nullable parameter whose default is a value needs a way to say null."""
        return self.param.nullable and self.param.default is not None and self.param.type != "object"

    @property
    def dist_choices(self) -> list[tuple[str, str]]:
        return [(k, DIST_LABELS[k]) for k in ("", *DIST_KINDS)]


def fields_for(params: tuple[Param, ...], values: Any, prefix: str, errors: dict[str, str] | None = None
               ) -> list[Field]:
    """The fields of ``params`` showing ``values`` (a dict of the document, maybe invalid)."""
    values = values if isinstance(values, dict) else {}
    errors = errors or {}
    out = []
    for p in params:
        explicit = p.name in values
        value = values[p.name] if explicit else default(p)
        f = Field(p, prefix + p.name, value, explicit, errors.get(p.name, ""))
        if p.type == "dist":
            if isinstance(value, dict):
                f.dist = value.get("dist") if value.get("dist") in DIST_FIELDS else "exp"
                f.subfields = fields_for(DIST_FIELDS[f.dist], value, f.name + ".")
            else:
                mean = Param("mean", "number", None, "Mean.", "ms", min=0, max=p.max, required=True)
                f.subfields = [Field(mean, f.name + ".mean", value, explicit)]
        elif p.type == "object":
            f.subfields = fields_for(p.fields, value if isinstance(value, dict) else {}, f.name + ".")
        out.append(f)
    return out


def _number(raw: str) -> Any:
    raw = raw.strip()
    if _INT.match(raw):
        return int(raw)
    try:
        x = float(raw)
    except ValueError:
        return raw
    return x if math.isfinite(x) else raw


def read_value(p: Param, data, name: str, current: Any = MISSING) -> Any:
    """The value a submitted form gives ``p`` (``MISSING``: not given, use the default; ``EMPTY``:
    the field is empty). ``current`` is the document's value, which empty subfields keep."""
    if p.nullable and p.type != "object" and data.get(name + ".null"):
        return None
    if p.type == "bool":
        return bool(data.get(name))
    if p.type == "causes":
        chosen = set(data.getlist(name))
        return [c for c in p.choices if c in chosen]
    if p.type == "object":
        if not data.get(name + ".on"):
            return None if p.nullable else MISSING
        return read_values(p.fields, current if isinstance(current, dict) else {}, data, name + ".")
    if p.type == "dist":
        kind = data.get(name + ".dist", "")
        if kind in DIST_FIELDS:
            same = isinstance(current, dict) and current.get("dist", "exp") == kind
            obj: dict[str, Any] = {"dist": kind}
            obj.update(read_values(DIST_FIELDS[kind], {k: v for k, v in current.items() if k != "dist"}
                                   if same else {}, data, name + "."))
            return obj
        raw = data.get(name + ".mean", data.get(name))
    else:
        raw = data.get(name)
    if raw is None:
        return MISSING
    if str(raw).strip() == "":
        return EMPTY
    if p.type in ("int", "number", "dist"):
        return _number(str(raw))
    return str(raw)


def keeps_value(p: Param) -> bool:
    """An emptied field of ``p`` keeps its value: ``p`` needs one (see *empty field*)."""
    return p.required or p.default is not None


def read_values(params: tuple[Param, ...], current: Any, data, prefix: str) -> dict[str, Any]:
    """``current`` with the submitted values of ``params`` (see *explicit*)."""
    current = current if isinstance(current, dict) else {}
    new = dict(current)
    for p in params:
        value = read_value(p, data, prefix + p.name, current.get(p.name, MISSING))
        if value is EMPTY and keeps_value(p):
            continue  # nothing typed yet: the value stays (unset stays unset)
        if value is MISSING or value is EMPTY:
            new.pop(p.name, None)
        elif p.name in current or value != default(p):
            new[p.name] = value
    return new


def field_errors(problems, base: str) -> tuple[dict[str, str], list[str]]:
    """Problems under the path ``base`` by field name, and the ones that fit no field."""
    by_field: dict[str, str] = {}
    general: list[str] = []
    for problem in problems:
        path = problem.path
        if path == base:
            general.append(problem.message)
            continue
        if not path.startswith(base + "."):
            continue
        rest = path[len(base) + 1:]
        m = re.match(r"^([A-Za-z_][A-Za-z0-9_-]*)(.*)$", rest)
        if not m:
            general.append(f"{rest}: {problem.message}")
            continue
        name, tail = m.groups()
        message = f"{tail.lstrip('.')}: {problem.message}" if tail else problem.message
        by_field[name] = f"{by_field[name]}; {message}" if name in by_field else message
    return by_field, general
