"""What a template promises about its runs, in a form a machine checks.

Terms
-----
run reference
    Which run an expectation reads: ``base`` (the template's own document), a variant's name, or
    ``other-template:variant`` / ``other-template:base`` (another template's run). Every run uses
    the seed the check is made with, so two runs compared on one seed see the same random streams
    wherever their documents agree.
metric
    A dotted path into the engine's summary that ends on a number: ``summary.users.logged_out``,
    ``summary.latency_ms.p50``, ``summary.nodes.db.arrivals``.
expectation
    Exactly one of two forms, and nothing else (no expressions, no eval):

    - a value: ``{run, metric, op, value}``: the metric of one run compared with a number;
    - a difference: ``{run, minus, metric, op, value}``: the metric of ``run`` minus the same metric
      of ``minus``, compared with a number.

    ``op`` is one of ``==``, ``!=``, ``<``, ``<=``, ``>``, ``>=`` (``value`` a number) or
    ``between`` (``value`` a list ``[low, high]``, both ends included). ``says`` is the sentence a
    reader sees ("nobody is logged out"); the template page shows it as what to expect.
SEEDS
    An expectation must hold on each of these seeds; the library's tests run every one.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

SEEDS = (1, 2, 3)
OPS = ("==", "!=", "<", "<=", ">", ">=", "between")
FIELDS_VALUE = {"run", "metric", "op", "value", "says"}
FIELDS_DIFFERENCE = FIELDS_VALUE | {"minus"}
_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$")


class ExpectationError(ValueError):
    """An expectation that is not one of the allowed forms; ``path`` says where."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}")


@dataclass(frozen=True, order=True)
class RunRef:
    template: str
    variant: str  # "" for the base document

    @property
    def label(self) -> str:
        return f"{self.template}:{self.variant or 'base'}"


@dataclass(frozen=True)
class Expectation:
    run: RunRef
    metric: tuple[str, ...]
    op: str
    value: float | tuple[float, float]
    says: str
    minus: RunRef | None = None

    @property
    def metric_text(self) -> str:
        return "summary." + ".".join(self.metric)


@dataclass(frozen=True)
class Outcome:
    expectation: Expectation
    seed: int
    actual: float
    holds: bool

    def __str__(self) -> str:
        e = self.expectation
        subject = f"{e.metric_text} of {e.run.label}"
        if e.minus is not None:
            subject += f" minus that of {e.minus.label}"
        verdict = "holds" if self.holds else "FAILS"
        return f"seed {self.seed}: {subject} = {self.actual:g}; expected {e.op} {_value_text(e.value)}: {verdict}"


def _value_text(value: float | tuple[float, float]) -> str:
    if isinstance(value, tuple):
        return f"[{value[0]:g}, {value[1]:g}]"
    return f"{value:g}"


def parse_run(raw: Any, template: str, path: str) -> RunRef:
    if not isinstance(raw, str) or not raw:
        raise ExpectationError(path, "must name a run: base, a variant, or template:variant")
    other, sep, variant = raw.partition(":")
    if not sep:
        other, variant = template, raw
    if not _NAME.match(other) or not _NAME.match(variant):
        raise ExpectationError(path, f"{raw!r} is not base, a variant name or template:variant")
    return RunRef(other, "" if variant == "base" else variant)


def _number(raw: Any, path: str) -> float:
    if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not math.isfinite(raw):
        raise ExpectationError(path, "must be a finite number")
    return float(raw)


def parse(raw: Any, template: str, path: str = "expectation") -> Expectation:
    """One expectation from its data, or ``ExpectationError`` naming the field."""
    if not isinstance(raw, Mapping):
        raise ExpectationError(path, "must be an object with run, metric, op and value")
    allowed = FIELDS_DIFFERENCE if "minus" in raw else FIELDS_VALUE
    for key in raw:
        if key not in allowed:
            raise ExpectationError(f"{path}.{key}", "is not a field of an expectation")
    for key in ("run", "metric", "op", "value", "says"):
        if key not in raw:
            raise ExpectationError(f"{path}.{key}", "is required")
    run = parse_run(raw["run"], template, f"{path}.run")
    minus = parse_run(raw["minus"], template, f"{path}.minus") if "minus" in raw else None
    if minus == run:
        raise ExpectationError(f"{path}.minus", "must name another run than run")
    metric = raw["metric"]
    if not isinstance(metric, str):
        raise ExpectationError(f"{path}.metric", "must be a dotted path starting with summary.")
    parts = metric.split(".")
    if len(parts) < 2 or parts[0] != "summary" or not all(_KEY.match(p) for p in parts[1:]):
        raise ExpectationError(f"{path}.metric", f"{metric!r} is not a dotted path into the summary")
    op = raw["op"]
    if op not in OPS:
        raise ExpectationError(f"{path}.op", f"must be one of {', '.join(OPS)}")
    value: float | tuple[float, float]
    if op == "between":
        pair = raw["value"]
        if not isinstance(pair, list) or len(pair) != 2:
            raise ExpectationError(f"{path}.value", "must be [low, high] for between")
        low, high = _number(pair[0], f"{path}.value[0]"), _number(pair[1], f"{path}.value[1]")
        if low > high:
            raise ExpectationError(f"{path}.value", "low must not exceed high")
        value = (low, high)
    else:
        value = _number(raw["value"], f"{path}.value")
    says = raw["says"]
    if not isinstance(says, str) or not says.strip() or len(says) > 300:
        raise ExpectationError(f"{path}.says", "must be a sentence of at most 300 characters")
    return Expectation(run=run, metric=tuple(parts[1:]), op=op, value=value, says=says.strip(), minus=minus)


def metric_of(summary: Mapping[str, Any], metric: tuple[str, ...]) -> float:
    """The number at ``metric`` in a summary; ``KeyError`` naming the path if there is none."""
    node: Any = summary
    for i, key in enumerate(metric):
        if not isinstance(node, Mapping) or key not in node:
            raise KeyError("summary." + ".".join(metric[: i + 1]))
        node = node[key]
    if isinstance(node, bool) or not isinstance(node, (int, float)):
        raise KeyError("summary." + ".".join(metric) + " (not a number)")
    return float(node)


def compare(actual: float, op: str, value: float | tuple[float, float]) -> bool:
    if op == "between":
        low, high = value  # type: ignore[misc]
        return low <= actual <= high
    v = float(value)  # type: ignore[arg-type]
    return {
        "==": actual == v, "!=": actual != v, "<": actual < v,
        "<=": actual <= v, ">": actual > v, ">=": actual >= v,
    }[op]


def check(expectation: Expectation, summary_of: Callable[[RunRef], Mapping[str, Any]], seed: int) -> Outcome:
    """Evaluate one expectation; ``summary_of`` gives the summary of a run on this seed."""
    actual = metric_of(summary_of(expectation.run), expectation.metric)
    if expectation.minus is not None:
        actual -= metric_of(summary_of(expectation.minus), expectation.metric)
    return Outcome(expectation, seed, actual, compare(actual, expectation.op, expectation.value))


def runs_of(expectations: list[Expectation]) -> list[RunRef]:
    """Every run the expectations read, each once, in a stable order."""
    refs = {e.run for e in expectations} | {e.minus for e in expectations if e.minus is not None}
    return sorted(refs)
