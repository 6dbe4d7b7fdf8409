"""The metrics catalogue: every metric the site names, defined once.

Sweeps' targets, Compare's differences, template promises and the pages' scripts all read a
metric's name, label, unit, place in a run's summary and formatting from here.

Terms
-----
metric
    A number read from a run's summary (``Metric.of``). Most sit at a dotted ``path`` in the
    summary; ``errors`` (failed / requests, a share) and ``cost`` (per hour x 730, dollars a month)
    are computed from one.
kind
    How a metric reads and formats: ``latency`` (ms, of successful requests), ``share`` (a fraction
    shown in %), ``rate`` (per second), ``money`` (dollars a month) or ``count``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from playground.engine.document import ERROR_CAUSES

HOURS_PER_MONTH = 730


def _dig(summary: dict[str, Any] | None, dotted: str) -> float | None:
    value: Any = summary or {}
    for key in dotted.split("."):
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def error_share(summary: dict[str, Any] | None) -> float | None:
    """Failed requests / requests (None for a run with no requests)."""
    requests = _dig(summary, "requests")
    if not requests:
        return None
    errors = (summary or {}).get("errors") or {}
    return sum(v for v in errors.values() if isinstance(v, (int, float))) / requests


@dataclass(frozen=True)
class Metric:
    name: str   # what targets and scripts call it: "p99"
    label: str  # words for a heading: "p99 latency"
    unit: str   # "ms", "%", "req/s", "$/month" or "" (a count)
    path: str   # where in the summary: "latency_ms.p99" ("errors" is computed from "errors")
    kind: str   # latency, share, rate, money, count
    help: str   # one sentence for forms
    short: str = ""  # the word in a sentence of changes ("logouts"); the name if empty

    @property
    def noun(self) -> str:
        return self.short or self.name

    def of(self, summary: dict[str, Any] | None) -> float | None:
        """This metric of a run's summary (None where the run has none, e.g. p99 of nothing)."""
        if self.name == "errors":
            return error_share(summary)
        value = _dig(summary, self.path)
        if value is not None and self.kind == "money":
            return value * HOURS_PER_MONTH
        return value

    def digits(self, value: float) -> int:
        if self.kind == "share":
            pct = abs(100 * value)
            return 2 if pct < 1 else 1 if pct < 10 else 0
        if self.kind in ("money", "count") or (self.kind == "rate" and abs(value) >= 100):
            return 0
        return 0 if abs(value) >= 100 else 1

    def format(self, value: float | None, spread: float | None = None) -> str:
        """The value with its unit ("142 ms", "0.12%", "$438/month", "1,204 req/s", "2,728"), and
        "± spread" in the same unit when given; "-" for none."""
        if value is None:
            return "-"
        if value == 0 and not spread:
            return {"money": "$0/month", "share": "0%"}.get(self.kind, f"0{' ' + self.unit if self.unit else ''}")
        scale = 100 if self.kind == "share" else 1
        digits = self.digits(value)
        number = f"{scale * value:,.{digits}f}"
        pm = f" ± {scale * spread:,.{digits}f}" if spread else ""
        if self.kind == "money":
            return f"${number}{pm}/month"
        if self.kind == "share":
            return f"{number}{pm}%"
        return f"{number}{pm}{' ' + self.unit if self.unit else ''}"

    def change(self, a: float, b: float) -> str:
        """The change from a to b in a few words ("p99 -170 ms", "errors 5.0% → 0%",
        "logouts -100%", "cost +$73/month"), or "<noun> same"."""
        if self.format(a) == self.format(b):
            return f"{self.noun} same"
        if self.kind == "latency":
            diff = b - a
            return f"{self.noun} {diff:+.{1 if abs(diff) < 10 else 0}f} ms"
        if self.kind == "share":
            return f"{self.noun} {self.format(a)} → {self.format(b)}"
        if self.kind == "money":
            sign = "+" if b >= a else "-"
            return f"{self.noun} {sign}${abs(b - a):,.0f}/month"
        if a == 0:
            return f"{self.noun} +{b:,.0f}"
        return f"{self.noun} {100 * (b - a) / a:+.0f}%"

    def to_json(self) -> dict[str, Any]:
        """What a page's script needs: label and unit, and how to scale and round."""
        return {"name": self.name, "label": self.label, "unit": self.unit, "kind": self.kind,
                "path": self.path, "help": self.help, "scale": 100 if self.kind == "share" else 1,
                "digits": 2 if self.kind == "share" else 0 if self.kind in ("money", "count") else 1}


def _latency(name: str, words: str) -> Metric:
    return Metric(name, f"{name} latency", "ms", f"latency_ms.{name}", "latency",
                  f"{words} of successful requests, in milliseconds (failed requests are not counted: "
                  "pair it with errors)")


CATALOGUE: tuple[Metric, ...] = (
    _latency("p50", "The median latency"),
    _latency("p90", "The 90th percentile latency"),
    _latency("p95", "The 95th percentile latency"),
    _latency("p99", "The 99th percentile latency"),
    _latency("p999", "The 99.9th percentile latency"),
    Metric("mean", "mean latency", "ms", "latency_ms.mean", "latency",
           "The mean latency of successful requests, in milliseconds"),
    _latency("max", "The slowest"),
    Metric("errors", "error rate", "%", "errors", "share",
           "The share of requests that failed, any cause; write it in % (errors < 0.1%) or as a fraction"),
    Metric("throughput", "throughput", "req/s", "throughput_rps", "rate",
           "Successful requests a second, over the run"),
    Metric("cost", "cost", "$/month", "cost.per_hour", "money",
           "What the design's instances cost, in dollars a month (the run's hourly rate x 730)"),
    Metric("logged_out", "users logged out", "", "users.logged_out", "count",
           "Users whose session was lost (a request landed where their session was not)", short="logouts"),
    Metric("duplicate_charges", "duplicate charges", "", "charges.duplicate", "count",
           "Payments charged more than once (retries without idempotency keys)"),
    Metric("failed_uploads", "failed uploads", "", "uploads.failed", "count",
           "Uploads that failed (e.g. stored on an instance's local disk)"),
    Metric("requests", "requests", "", "requests", "count", "Requests the clients sent"),
    Metric("attempts", "attempts", "", "attempts", "count", "Attempts, retries included"),
    Metric("ok", "successful requests", "", "ok", "count", "Requests that succeeded"),
    Metric("logins", "logins", "", "users.logins", "count", "Users who logged in"),
    Metric("charges", "charges", "", "charges.total", "count", "Payments charged"),
    Metric("uploads", "uploads", "", "uploads.started", "count", "Uploads started"),
    Metric("cost_total", "cost of the run", "$", "cost.total", "count", "What the run's instances cost, in dollars"),
    *(Metric(f"errors_{cause}", f"{cause.replace('_', ' ')} errors", "", f"errors.{cause}", "count",
             f"Requests that failed with cause {cause}")
      for cause in ERROR_CAUSES),
)

BY_NAME: dict[str, Metric] = {m.name: m for m in CATALOGUE}
BY_PATH: dict[str, Metric] = {m.path: m for m in CATALOGUE if m.name != "errors"}
LATENCY = tuple(m.name for m in CATALOGUE if m.kind == "latency")

#: What a sweep's target may name (its headline metrics); counts by cause are read by path.
TARGETS = (*LATENCY, "errors", "throughput", "cost", "logged_out", "duplicate_charges", "failed_uploads")

_NODE_FIELDS = {
    "utilization": ("utilization", "%", "share"),
    "mean_queue": ("mean queue", "", "rate"),
    "mean_present": ("mean requests present", "", "rate"),
    "arrivals": ("arrivals", "", "count"),
    "mean_sojourn_ms": ("mean time spent", "ms", "latency"),
    "wait_ms.mean": ("mean wait", "ms", "latency"),
    "wait_ms.p50": ("median wait", "ms", "latency"),
    "wait_ms.p99": ("p99 wait", "ms", "latency"),
}
_NODE_PATH = re.compile(r"^nodes\.([^.]+)\.(.+)$")


def get(name: str) -> Metric:
    """A metric by name; KeyError naming it if the catalogue has none."""
    return BY_NAME[name]


def for_path(path: str) -> Metric | None:
    """The metric at a dotted summary path (with or without ``summary.``): a catalogue metric, or a
    node's own (``nodes.db.arrivals`` is "db arrivals"); None if the catalogue does not know it."""
    path = path.removeprefix("summary.")
    if path in BY_PATH:
        return BY_PATH[path]
    if m := _NODE_PATH.match(path):
        node, field = m.groups()
        if field in _NODE_FIELDS:
            label, unit, kind = _NODE_FIELDS[field]
            return Metric(path, f"{node} {label}", unit, path, kind, f"{node}'s {label}")
    return None


def catalogue_json() -> list[dict[str, Any]]:
    """The catalogue for a page's script (``json_script:"metrics-catalogue"``)."""
    return [m.to_json() for m in CATALOGUE]
