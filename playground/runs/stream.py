"""Where a run's frames travel: the one module that knows stream keys, group names and envelopes.

Terms
-----
replay log
    A Redis stream per run, ``run:<slug>:frames``, whose entry ids are ``<seq>-0``: the stream
    itself refuses a frame it already has, so a worker that re-simulates a run after a crash
    republishes the same frames harmlessly. It expires some time after the run ends; the database
    (``FrameBatch``) is the lasting record.
lease
    ``run:<slug>:lease`` holds the fencing token of the one worker allowed to publish the run's
    frames; it is renewed with every frame and lapses when the worker dies. Tokens come from the
    counter ``run:<slug>:fence``, so a later holder always has a larger token.
group
    The Channels group ``run-<slug>``: a nudge to live viewers, never the record (channels_redis
    drops messages to a full channel).
envelope
    What a viewer receives: ``{"type": "frame", "frame"}``, ``{"type": "status", "status",
    "reason"}``, ``{"type": "done", "summary"}`` or ``{"type": "end", "status", "reason"}``.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
from functools import lru_cache
from typing import Any

import redis
from channels.layers import get_channel_layer
from django.conf import settings

from playground import jsontext

STREAM_TTL_S = 24 * 3600
#: The largest seq a viewer may ask to read after (``?after=``): a frame's seq fits the database's
#: integer column and a stream id, and a run has at most RUN_MAX_FRAMES frames anyway. A larger
#: ``after`` is refused (400 from the API, close code 4400 on the WebSocket) instead of reaching
#: Redis ("Invalid stream ID") or the database (integer out of range) as a 500.
MAX_SEQ = 2**31 - 1


def after_problem(after: int) -> str | None:
    """Why ``after`` cannot be read after, or None."""
    if not 0 <= after <= MAX_SEQ:
        return f"after must be a whole number from 0 to {MAX_SEQ}"
    return None


def frames_key(slug: str) -> str:
    return f"run:{slug}:frames"


def lease_key(slug: str) -> str:
    return f"run:{slug}:lease"


def fence_key(slug: str) -> str:
    return f"run:{slug}:fence"


def controls_key(slug: str) -> str:
    return f"run:{slug}:controls"


def cancel_key(slug: str) -> str:
    return f"run:{slug}:cancel"


def queued_key(slug: str) -> str:
    return f"run:{slug}:queued"


def group_name(slug: str) -> str:
    return f"run-{slug}"


def keys_of(slug: str) -> list[str]:
    return [frames_key(slug), lease_key(slug), fence_key(slug), controls_key(slug), cancel_key(slug),
            queued_key(slug)]


@lru_cache(maxsize=4)
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=10, health_check_interval=30)


def client() -> redis.Redis:
    return _client(settings.REDIS_URL)


# --- lease ------------------------------------------------------------------------------------

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""

# Append a frame only while holding the lease, and renew it in the same step: a worker that lost
# its lease cannot publish even one more frame. Returns 1 (appended), 0 (already there), -1 (no lease).
_APPEND = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return -1
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
local ok = redis.pcall('XADD', KEYS[2], ARGV[3], 'f', ARGV[4])
if type(ok) == 'table' and ok.err then
  return 0
end
return 1
"""


def acquire_lease(slug: str, ttl_s: float) -> str | None:
    """A fencing token if no live worker holds the run, else None."""
    r = client()
    token = str(r.incr(fence_key(slug)))
    r.expire(fence_key(slug), STREAM_TTL_S)
    if r.set(lease_key(slug), token, nx=True, px=int(ttl_s * 1000)):
        return token
    return None


def renew_lease(slug: str, token: str, ttl_s: float) -> bool:
    return bool(client().eval(_RENEW, 1, lease_key(slug), token, int(ttl_s * 1000)))


def release_lease(slug: str, token: str) -> None:
    client().eval(_RELEASE, 1, lease_key(slug), token)


def lease_alive(slug: str) -> bool:
    return bool(client().exists(lease_key(slug)))


def slot_key(scope: str) -> str:
    return f"slot:{scope}"


def take_slot(scope: str, token: str, ttl_s: float) -> bool:
    """Take the one simulation slot of ``scope`` (an address without an account), for ``ttl_s``
    unless renewed; False if another simulation holds it."""
    return bool(client().set(slot_key(scope), token, nx=True, px=int(ttl_s * 1000)))


def renew_slot(scope: str, token: str, ttl_s: float) -> bool:
    return bool(client().eval(_RENEW, 1, slot_key(scope), token, int(ttl_s * 1000)))


def release_slot(scope: str, token: str) -> None:
    client().eval(_RELEASE, 1, slot_key(scope), token)


def mark_queued(slug: str, ttl_s: float) -> None:
    """Note that the run's task was just sent to the broker; the mark lapses after ``ttl_s``."""
    client().set(queued_key(slug), "1", px=int(ttl_s * 1000))


def queued_recently(slug: str) -> bool:
    return bool(client().exists(queued_key(slug)))


# --- frames -----------------------------------------------------------------------------------


class LeaseLost(Exception):
    """The worker no longer holds the run's lease: it must stop publishing."""


def append_frame(slug: str, token: str, seq: int, text: str, ttl_s: float) -> bool:
    """Add a frame (its canonical JSON text) to the replay log under the lease; True if it was new,
    False if the log had it already."""
    result = client().eval(_APPEND, 2, lease_key(slug), frames_key(slug), token, int(ttl_s * 1000),
                           f"{seq}-0", text)
    if result == -1:
        raise LeaseLost(slug)
    return result == 1


def read_log(slug: str, after: int, limit: int | None = None) -> list[dict[str, Any]]:
    """Frames with seq > after from the replay log (empty if the log has expired, or if ``after``
    is past MAX_SEQ)."""
    if after >= MAX_SEQ:
        return []
    entries = client().xrange(frames_key(slug), min=f"{after + 1}-0", max="+", count=limit)
    return [json.loads(fields[b"f"]) for _id, fields in entries]


def log_length(slug: str) -> int:
    return int(client().xlen(frames_key(slug)))


def expire_log(slug: str, ttl_s: int = STREAM_TTL_S) -> None:
    r = client()
    for key in (frames_key(slug), fence_key(slug), controls_key(slug), cancel_key(slug)):
        r.expire(key, ttl_s)


# --- controls and cancel ------------------------------------------------------------------------


def push_control(slug: str, control: dict[str, Any]) -> None:
    r = client()
    r.rpush(controls_key(slug), jsontext.dumps(control))
    r.expire(controls_key(slug), STREAM_TTL_S)


def pending_controls(slug: str) -> int:
    return int(client().llen(controls_key(slug)))


def peek_controls(slug: str) -> list[dict[str, Any]]:
    """The controls waiting for the run's next tick, left in place."""
    return [json.loads(item) for item in client().lrange(controls_key(slug), 0, -1)]


def pop_controls(slug: str) -> list[dict[str, Any]]:
    r = client()
    with r.pipeline() as pipe:
        pipe.lrange(controls_key(slug), 0, -1)
        pipe.delete(controls_key(slug))
        raw, _ = pipe.execute()
    return [json.loads(item) for item in raw]


def request_cancel(slug: str) -> None:
    client().set(cancel_key(slug), "1", ex=STREAM_TTL_S)


def cancel_requested(slug: str) -> bool:
    return bool(client().exists(cancel_key(slug)))


def sweep_cancel_key(slug: str) -> str:
    return f"sweep:{slug}:cancel"


def request_sweep_cancel(slug: str) -> None:
    """Tell the sweep's running cells to stop (they check between slices of events)."""
    client().set(sweep_cancel_key(slug), "1", ex=STREAM_TTL_S)


def sweep_cancel_requested(slug: str) -> bool:
    return bool(client().exists(sweep_cancel_key(slug)))


# --- live fan-out -------------------------------------------------------------------------------


def frame_message(frame: dict[str, Any]) -> dict[str, Any]:
    return {"type": "frame", "frame": frame}


def frame_message_text(frame_text: str) -> str:
    """The frame envelope as text, built once per frame rather than once per viewer."""
    return '{"frame":' + frame_text + ',"type":"frame"}'


def done_message(summary: dict[str, Any]) -> dict[str, Any]:
    return {"type": "done", "summary": summary}


def end_message(status: str, reason: str) -> dict[str, Any]:
    return {"type": "end", "status": status, "reason": reason}


def status_message(status: str, reason: str = "") -> dict[str, Any]:
    return {"type": "status", "status": status, "reason": reason}


_loop: asyncio.AbstractEventLoop | None = None
_loop_pid = 0
_loop_lock = threading.Lock()


def _group_send(group: str, message: dict[str, Any]) -> None:
    """``group_send`` from synchronous code (a worker's runner, a view), through one event loop
    per process that lives as long as the process. ``async_to_sync`` would start a new loop at
    every call, and channels_redis keeps a connection pool per loop: each frame cost a new Redis
    connection and about 3 ms of CPU. The loop is made lazily, after a prefork worker's fork."""
    global _loop, _loop_pid
    with _loop_lock:
        if _loop is None or _loop_pid != os.getpid():
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="channel-layer", daemon=True).start()
            _loop, _loop_pid = loop, os.getpid()
        loop = _loop
    asyncio.run_coroutine_threadsafe(get_channel_layer().group_send(group, message), loop).result(timeout=30)


def fan_out_frame(slug: str, seq: int, frame_text: str) -> None:
    _group_send(group_name(slug), {"type": "run.frame", "seq": seq, "text": frame_message_text(frame_text)})


def nudge(slug: str) -> None:
    """Tell viewers the run's row changed (started, done, failed, cancelled): they re-read it."""
    _group_send(group_name(slug), {"type": "run.status"})


def delete_keys(slug: str) -> None:
    client().delete(*keys_of(slug))
