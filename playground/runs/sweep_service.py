"""Starting, running and gathering sweeps: what the views, the API and the tasks share.

A sweep fans out as one task per cell (point x seed), a few at a time (``queues``' *window*):
each cell that finishes sends the next. Each cell simulates its document on its seed and stores
the summary; whichever cell finishes last gathers the result (the gather is deterministic, so two
cells finishing together write the same thing). Cancel ends the sweep and raises its cancel flag:
running cells stop within a fraction of a second (``guard``), the others skip themselves.
"""

from __future__ import annotations

import copy
import logging
import time
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from playground import jsontext
from playground.engine import ENGINE_VERSION, DocumentError, Problem, Simulation, dump, load
from playground.runs import lifecycle, queues, stream, sweeps
from playground.runs.guard import Guard, Stopped
from playground.runs.lifecycle import Owner, run_limits, site_limits
from playground.runs.models import Sweep, SweepCell
from playground.runs.service import MAX_SEED

log = logging.getLogger(__name__)


def create_sweep(
    document: Any,
    *,
    owner: Owner,
    axes: Any = (),
    target: str = "",
    seeds: Any = 3,
    seed: Any = None,
    template=None,
    variant: str = "",
    design=None,
    run=None,
) -> tuple[Sweep, str]:
    """Validate and queue a sweep; returns it and its control token (for a cookieless API client
    to cancel it). Raises DocumentError (every problem, with its path) or RunRefused."""
    base = dump(load(document, site_limits()))
    problems: list[Problem] = []
    parsed: list[sweeps.Axis] = []
    if not isinstance(axes, (list, tuple)):
        problems.append(Problem("axes", "must be a list of at most two axes"))
        axes = []
    if len(axes) > sweeps.MAX_AXES:
        problems.append(Problem("axes", f"at most {sweeps.MAX_AXES} parameters at once"))
    for i, raw in enumerate(axes[: sweeps.MAX_AXES]):
        axis, axis_problems = sweeps.parse_axis(raw, f"axes[{i}]")
        problems.extend(axis_problems)
        if axis is not None:
            parsed.append(axis)
    if len({a.path for a in parsed}) != len(parsed):
        problems.append(Problem("axes", "the same parameter twice"))
    conditions, target_problems = sweeps.parse_target(target)
    problems.extend(target_problems)
    if not isinstance(seeds, int) or isinstance(seeds, bool) or not 1 <= seeds <= settings.SWEEP_MAX_CELLS:
        problems.append(Problem("seeds", f"must be a whole number from 1 to {settings.SWEEP_MAX_CELLS}"))
        seeds = 1
    if seed is None:
        seed = base["scenario"]["seed"]
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed <= MAX_SEED - 100_000:
        problems.append(Problem("seed", f"must be a whole number from 0 to {MAX_SEED - 100_000}"))
        seed = 0
    grid = sweeps.points(parsed)
    if len(grid) * seeds > settings.SWEEP_MAX_CELLS:
        problems.append(Problem("seeds", f"{len(grid)} points x {seeds} seeds is {len(grid) * seeds} runs; "
                                         f"a sweep may have at most {settings.SWEEP_MAX_CELLS}"))
    if problems:
        raise DocumentError(problems)
    for i, axis in enumerate(parsed):
        try:
            sweeps.set_value(copy.deepcopy(base), axis.path, axis.values[0])
        except KeyError as exc:
            problems.append(Problem(f"axes[{i}].path", str(exc.args[0])))
    if problems:
        raise DocumentError(problems)
    for values in grid:  # every point must be a valid design before anything runs
        try:
            load(sweeps.apply_point(base, parsed, values), site_limits())
        except DocumentError as exc:
            label = sweeps.point_label(parsed, list(values))
            raise DocumentError([Problem(f"axes ({label}): {p.path}", p.message) for p in exc.problems]) from None
    sweep = Sweep(
        title=base.get("title", ""),
        document_json=jsontext.dumps(base),
        engine_version=ENGINE_VERSION,
        axes=[a.to_json() for a in parsed],
        target=" and ".join(c.text for c in conditions),
        seeds=seeds,
        base_seed=seed,
        cells_total=len(grid) * seeds,
        template=template,
        variant=variant,
        design=design,
        run=run,
        client_address=owner.address[:64],
    )
    sweep.owner = owner.user
    sweep.owner_token = owner.token
    control_token = sweep.new_control_token()
    with lifecycle.admit(owner, lifecycle.caps_of(Sweep)), transaction.atomic():
        sweep.save()
        SweepCell.objects.bulk_create(
            SweepCell(sweep=sweep, point=p, seed=seed + k, values=list(values))
            for p, values in enumerate(grid)
            for k in range(seeds)
        )
        queues.send_cells(sweep)
    return sweep, control_token


def axes_of(sweep: Sweep) -> list[sweeps.Axis]:
    return [sweeps.Axis(a["path"], tuple(a["values"])) for a in sweep.axes]


def simulate_cell(cell_id: int) -> str:
    cell = SweepCell.objects.select_related("sweep").filter(pk=cell_id).first()
    if cell is None or cell.status != SweepCell.Status.PENDING:
        return "nothing to do"
    sweep = cell.sweep
    if sweep.is_terminal:
        SweepCell.objects.filter(pk=cell.pk, status=SweepCell.Status.PENDING).update(status=SweepCell.Status.SKIPPED)
        return "skipped"
    if sweep.engine_version != ENGINE_VERSION:
        lifecycle.finish(sweep, Sweep.Status.FAILED,
                         f"this sweep needs engine {sweep.engine_version}; the worker has {ENGINE_VERSION}")
        return "failed"
    slot = lifecycle.Slot(sweep)
    if not slot.take():
        # Its address has a simulation going: the cell waits its turn at the back of the queue.
        time.sleep(lifecycle.DEFER_S)
        queues.send_cell(cell.pk)
        return "deferred: its address has a simulation going"
    try:
        return _simulate_cell(cell, sweep, slot)
    finally:
        slot.release()


def _simulate_cell(cell: SweepCell, sweep: Sweep, slot: lifecycle.Slot) -> str:
    Sweep.objects.filter(pk=sweep.pk, status=Sweep.Status.QUEUED).update(status=Sweep.Status.RUNNING)
    document = sweeps.apply_point(sweep.document, axes_of(sweep), tuple(cell.values))
    try:
        loading, limits = run_limits()
        sim = Simulation(load(document, loading), cell.seed, limits)
        sim.on_checkpoint = Guard(lambda: stream.sweep_cancel_requested(sweep.slug), slot=slot)
        summary = sim.run(frames=False)["summary"]
    except Stopped:
        SweepCell.objects.filter(pk=cell.pk, status=SweepCell.Status.PENDING).update(status=SweepCell.Status.SKIPPED)
        return "stopped"
    except Exception as exc:  # One failed cell is reported; the sweep goes on.
        log.exception("sweep %s cell %s failed", sweep.slug, cell.pk)
        updated = SweepCell.objects.filter(pk=cell.pk, status=SweepCell.Status.PENDING).update(
            status=SweepCell.Status.FAILED, error=f"{type(exc).__name__}: {exc}"
        )
    else:
        updated = SweepCell.objects.filter(pk=cell.pk, status=SweepCell.Status.PENDING).update(
            status=SweepCell.Status.DONE, summary_json=jsontext.dumps(summary)
        )
    if updated:
        Sweep.objects.filter(pk=sweep.pk).update(cells_done=F("cells_done") + 1, progress_at=timezone.now())
    if not SweepCell.objects.filter(sweep=sweep, status=SweepCell.Status.PENDING).exists():
        gather(sweep)
    else:
        queues.send_cells(sweep)
    return "done"


def gather(sweep: Sweep) -> None:
    cells = [
        (c.point, c.seed, jsontext.loads(c.summary_json) if c.status == SweepCell.Status.DONE else None)
        for c in sweep.cells.exclude(status=SweepCell.Status.SKIPPED)
    ]
    conditions, _ = sweeps.parse_target(sweep.target)
    result = sweeps.aggregate(axes_of(sweep), conditions, cells)
    failed = sum(1 for _p, _s, summary in cells if summary is None)
    reason = f"{failed} of {len(cells)} runs failed" if failed else ""
    status = Sweep.Status.FAILED if failed == len(cells) else Sweep.Status.DONE
    Sweep.objects.filter(pk=sweep.pk, status__in=[Sweep.Status.QUEUED, Sweep.Status.RUNNING]).update(
        status=status, reason=reason, result_json=jsontext.dumps(result), finished_at=timezone.now()
    )


def cancel_sweep(sweep: Sweep) -> bool:
    """Stop the sweep: running cells within a fraction of a second, the rest skip themselves;
    False if the sweep had ended."""
    stream.request_sweep_cancel(sweep.slug)
    done = lifecycle.finish(sweep, Sweep.Status.CANCELLED, "cancelled by its owner")
    SweepCell.objects.filter(sweep=sweep, status=SweepCell.Status.PENDING, sent_at__isnull=True).update(
        status=SweepCell.Status.SKIPPED)
    sweep.refresh_from_db()
    return done
