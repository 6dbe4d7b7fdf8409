"""A run's frames as a table, for CSV and JSON downloads, and a sweep's points as CSV.

Terms
-----
column
    One metric of a frame, flattened to a dotted name with its unit: ``latency_ms.p99`` (ms),
    ``errors.timeout`` (req/s), ``nodes.api.utilization`` (share of capacity, 0-1). The columns
    follow from the run's document (its nodes) and the engine's error causes, so they are known
    before the first frame is read and the table can be streamed.
row
    One frame (one tick), its values in column order; a value the frame does not have (a cause
    that did not occur, a percentile of nothing) is empty in CSV and null in JSON.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

from asgiref.sync import sync_to_async

from playground import jsontext
from playground.engine.document import causes_listed
from playground.runs import service
from playground.runs.models import Run, Sweep

PAGE = 500  # frames read at a time: memory stays flat whatever the run's length


@dataclass(frozen=True)
class Column:
    name: str
    unit: str
    path: tuple[str, ...]

    @property
    def header(self) -> str:
        return f"{self.name} ({self.unit})" if self.unit else self.name


def columns(run: Run) -> list[Column]:
    """Every column of the run's table, in order (see *column*)."""
    def col(name: str, unit: str) -> Column:
        return Column(name, unit, tuple(name.split(".")))

    out = [col("seq", ""), col("t", "s"), col("offered_rps", "req/s"), col("ok_rps", "req/s"),
           col("attempts_rps", "req/s")]
    causes = causes_listed(((n["kind"], n.get("params") or {}) for n in run.document["nodes"]),
                           run.document.get("edges") or ())
    out += [col(f"errors.{cause}", "req/s") for cause in causes]
    out += [col(f"latency_ms.{q}", "ms") for q in ("p50", "p95", "p99", "max")]
    out += [col("users.logins", "per s"), col("users.logged_out", "per s"),
            col("charges.total", "per s"), col("charges.duplicate", "per s"),
            col("uploads.started", "per s"), col("uploads.failed", "per s"),
            col("cost_per_hour", "$/h")]
    for node in run.document["nodes"]:
        nid = node["id"]
        for field, unit in (("utilization", "share"), ("queue", "requests"), ("up", "instances"),
                            ("starting", "instances"), ("rps", "req/s")):
            out.append(Column(f"nodes.{nid}.{field}", unit, ("nodes", nid, field)))
        out += [Column(f"nodes.{nid}.errors.{cause}", "req/s", ("nodes", nid, "errors", cause))
                for cause in causes]
    out.append(Column("events", "", ("events",)))
    return out


def _value(frame: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = frame
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    if path[-1] == "errors" or (len(path) >= 2 and path[-2] == "errors"):
        return value if value is not None else 0  # the engine lists only causes that occurred
    return value


def _events_text(events: list[dict[str, Any]]) -> str:
    return "; ".join(" ".join(str(e[k]) for k in ("action", "node") if e.get(k) is not None) for e in events)


def row(frame: dict[str, Any], cols: list[Column]) -> list[Any]:
    out = []
    for c in cols:
        if c.path == ("events",):
            out.append(_events_text(frame.get("events") or []))
        else:
            out.append(_value(frame, c.path))
    return out


def frames(run: Run) -> Iterator[dict[str, Any]]:
    """The run's frames in order, a page at a time (the database's, then the replay log's)."""
    after = 0
    while True:
        page = service.frames_after(run, after, PAGE)
        yield from page
        if len(page) < PAGE:
            return
        after = page[-1]["seq"]


async def _aframes(run: Run) -> AsyncIterator[dict[str, Any]]:
    after = 0
    while True:
        page = await sync_to_async(service.frames_after)(run, after, PAGE)
        for frame in page:
            yield frame
        if len(page) < PAGE:
            return
        after = page[-1]["seq"]


def _csv_line(values: list[Any]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow("" if v is None else v for v in values)
    return buf.getvalue()


async def csv_chunks(run: Run) -> AsyncIterator[str]:
    """The run's table as CSV, a header line naming the units, then a line per frame."""
    cols = await sync_to_async(columns)(run)
    yield _csv_line([c.header for c in cols])
    async for frame in _aframes(run):
        yield _csv_line(row(frame, cols))


async def json_chunks(run: Run, url: str) -> AsyncIterator[str]:
    """The run's table as JSON: ``{"run", "columns": [{"name", "unit"}], "rows": [[...]]}``."""
    cols = await sync_to_async(columns)(run)
    head = {"run": {"id": run.slug, "title": run.title, "seed": run.seed, "engine_version": run.engine_version,
                    "url": url, "status": run.status},
            "columns": [{"name": c.name, "unit": c.unit} for c in cols]}
    yield jsontext.dumps(head)[:-1] + ',"rows":['
    first = True
    async for frame in _aframes(run):
        yield ("" if first else ",") + json.dumps(row(frame, cols), allow_nan=False)
        first = False
    yield "]}"


def filename(title: str, fallback: str, ext: str) -> str:
    """A download's file name from a title: lower-case ASCII words joined by dashes."""
    stem = re.sub(r"[^a-z0-9]+", "-", (title or "").lower()).strip("-")[:60] or fallback
    return f"{stem}.{ext}"


def sweep_csv(sweep: Sweep) -> str:
    """A sweep's points as CSV: each axis's value, the seeds that ran, each metric's mean and the
    half-width of its 95% confidence interval, and whether the point meets the target."""
    result = sweep.result or {}
    points = result.get("points") or []
    axes = [a["path"] for a in sweep.axes]
    metrics = list((points[0]["metrics"] if points else {}).keys())
    header = ["point", *axes, "seeds", "failed seeds"]
    for m in metrics:
        header += [f"{m} mean", f"{m} ci95 half-width"]
    header.append("meets target")
    lines = [_csv_line(header)]
    for p in points:
        line: list[Any] = [p["index"], *p["values"], p["seeds"], p["failed_seeds"]]
        for m in metrics:
            line += [p["metrics"][m]["mean"], p["metrics"][m]["half_width"]]
        line.append("yes" if p["meets"] else "no")
        lines.append(_csv_line(line))
    return "".join(lines)
