"""The body of the simulate task: one run, from its frozen document to its summary.

It takes the run's lease, loops the engine one tick at a time, and for each frame: appends it to
the replay log under the lease, nudges live viewers, and saves frames to the database in batches.
A live run is paced at ``speed`` times real time and applies queued controls at the next tick,
recording each in ``applied_events`` before the frame that shows it is published. A restarted
run (its worker died) re-simulates from the start, re-applying recorded controls at their ticks,
so it publishes exactly the same frames again.

Between slices of events the engine hands control to a ``Guard`` (guard.py): cancel, the
lease and memory are checked on the wall clock, however long a tick takes. A run that goes past
its work or memory budget fails with the reason, keeping the frames it made.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import redis
from django.conf import settings
from django.db.models import F
from django.utils import timezone

from playground import jsontext
from playground.engine import ENGINE_VERSION, DocumentError, Simulation, WorkBudgetExceeded, load
from playground.runs import queues, stream
from playground.runs.guard import Guard, MemoryBudgetExceeded, Stopped
from playground.runs.lifecycle import DEFER_S, Slot, finish, run_limits
from playground.runs.models import FrameBatch, Run

log = logging.getLogger(__name__)

SAVE_EVERY_S = 2.0


class Runner:
    def __init__(self, run_id: int) -> None:
        self.run_id = run_id
        self.ttl = float(settings.RUN_LEASE_TTL_S)
        self.token: str | None = None
        self.slot: Slot | None = None
        self.pending: list[dict[str, Any]] = []
        self.last_save = time.monotonic()

    def execute(self) -> str:
        run = Run.objects.filter(pk=self.run_id).first()
        if run is None or run.is_terminal:
            return "nothing to do"
        if run.engine_version != ENGINE_VERSION:
            self._fail(run, f"this run needs engine {run.engine_version}; the worker has {ENGINE_VERSION}")
            return "failed"
        self.slot = Slot(run)
        if not self.slot.take():
            # Its address has a simulation going: the run waits its turn at the back of the queue.
            time.sleep(DEFER_S)
            queues.send_run(run)
            return "deferred: its address has a simulation going"
        try:
            self.token = stream.acquire_lease(run.slug, self.ttl)
            if self.token is None:
                return "another worker holds the run"
            return self._run(run)
        finally:
            self.slot.release()

    def _run(self, run: Run) -> str:
        try:
            return self._simulate(run)
        except Stopped:
            return "cancelled"
        except (WorkBudgetExceeded, MemoryBudgetExceeded) as exc:
            self._save_frames(run, force=True)
            self._fail(run, f"the run {exc}; the frames made until then are kept")
            return "failed"
        except stream.LeaseLost:
            log.warning("run %s: lease lost; stopped publishing", run.slug)
            return "lease lost"
        except redis.RedisError as exc:
            # Without Redis the lease cannot be proven: stop, as if it were lost. The lease lapses
            # and the reaper requeues the run, which re-simulates the frames Redis may have lost.
            log.warning("run %s: Redis failed (%s); stopped publishing", run.slug, exc)
            return "redis failed"
        except Exception as exc:
            log.exception("run %s failed", run.slug)
            self._fail(run, f"the simulation stopped with an error: {type(exc).__name__}: {exc}")
            return "failed"
        finally:
            if self.token is not None:
                try:
                    stream.release_lease(run.slug, self.token)
                except redis.RedisError:
                    pass  # it lapses on its own

    def _simulate(self, run: Run) -> str:
        started = Run.objects.filter(pk=run.pk, status__in=[Run.Status.QUEUED, Run.Status.RUNNING]).update(
            status=Run.Status.RUNNING, attempts=F("attempts") + 1, started_at=timezone.now(), reason=""
        )
        if not started:
            return "ended before it started"
        stream.nudge(run.slug)
        try:
            loading, limits = run_limits()
            sim = Simulation(load(run.document, loading), run.seed, limits)
        except DocumentError as exc:
            self._fail(run, "the document is no longer valid: " + "; ".join(str(p) for p in exc.problems))
            return "failed"
        guard = Guard(lambda: stream.cancel_requested(run.slug), (run.slug, self.token, self.ttl), self.slot)
        sim.on_checkpoint = guard
        recorded: dict[int, list[dict[str, Any]]] = {}
        for entry in run.applied_events:
            recorded.setdefault(int(entry["seq"]), []).append(entry["control"])
        last_recorded = max(recorded, default=0)
        tick_s = float(run.document["scenario"]["tick_s"])
        live = run.mode == Run.Mode.LIVE
        wall_start = time.monotonic()
        deadline = wall_start + settings.RUN_LIVE_MAX_WALL_S
        seq = 0
        while True:
            seq += 1
            if live:
                if not self._wait(run, wall_start + (seq - 1) * tick_s / run.speed, deadline):
                    return "stopped"
            else:
                guard()  # cancel, lease and memory, at most every CHECK_S
            for control in recorded.get(seq, []):
                sim.apply(control)
            if live and seq > last_recorded:
                self._apply_new_controls(run, sim, seq, tick_s)
            frame = _next_frame(sim)
            if frame is None:
                break
            if seq > settings.RUN_MAX_FRAMES:
                self._fail(run, f"a run may make at most {settings.RUN_MAX_FRAMES} frames")
                return "failed"
            text = jsontext.dumps(frame)
            if stream.append_frame(run.slug, self.token, seq, text, self.ttl):
                stream.fan_out_frame(run.slug, seq, text)
            if seq > run.frames_saved:
                self.pending.append(frame)
            self._save_frames(run, force=False)
        summary = sim.summary()
        self._save_frames(run, force=True)
        if not stream.renew_lease(run.slug, self.token, self.ttl):
            raise stream.LeaseLost(run.slug)
        done = Run.objects.filter(pk=run.pk, status=Run.Status.RUNNING).update(
            status=Run.Status.DONE, summary_json=jsontext.dumps(summary), frames_total=seq - 1,
            finished_at=timezone.now(),
        )
        stream.expire_log(run.slug)
        stream.nudge(run.slug)
        return "done" if done else "ended meanwhile"

    def _wait(self, run: Run, until: float, deadline: float) -> bool:
        """Sleep until ``until``, renewing the lease; False if the run was cancelled or ran too long."""
        while True:
            if stream.cancel_requested(run.slug):
                return False
            now = time.monotonic()
            if now > deadline:
                self._fail(run, f"a live run may take at most {settings.RUN_LIVE_MAX_WALL_S // 60} minutes of wall time")
                return False
            if now >= until:
                return True
            if not stream.renew_lease(run.slug, self.token, self.ttl):
                raise stream.LeaseLost(run.slug)
            time.sleep(min(0.2, until - now))

    def _apply_new_controls(self, run: Run, sim: Simulation, seq: int, tick_s: float) -> None:
        controls = stream.pop_controls(run.slug)
        if not controls:
            return
        entries = []
        for control in controls:
            try:
                sim.apply(control)
            except (DocumentError, ValueError) as exc:  # validated when sent; the run goes on regardless
                log.warning("run %s: control %s refused: %s", run.slug, control, exc)
                continue
            entries.append({"seq": seq, "t": round((seq - 1) * tick_s, 6), "control": control})
        if entries:
            run.applied_events = [*run.applied_events, *entries]
            Run.objects.filter(pk=run.pk).update(applied_events=run.applied_events)

    def _save_frames(self, run: Run, *, force: bool) -> None:
        if not self.pending:
            return
        if not force and len(self.pending) < settings.RUN_FRAME_BATCH and time.monotonic() - self.last_save < SAVE_EVERY_S:
            return
        batch, self.pending = self.pending, []
        FrameBatch.objects.create(
            run=run, first_seq=batch[0]["seq"], last_seq=batch[-1]["seq"], frames_json=jsontext.dumps(batch)
        )
        run.frames_saved = batch[-1]["seq"]
        Run.objects.filter(pk=run.pk).update(frames_saved=run.frames_saved, frames_total=run.frames_saved)
        self.last_save = time.monotonic()

    def _fail(self, run: Run, reason: str) -> None:
        finish(run, Run.Status.FAILED, reason)


def _next_frame(sim: Simulation) -> dict[str, Any] | None:
    try:
        return sim.step()
    except StopIteration:
        return None

