"""WebSocket consumers.

``RunConsumer`` (``/ws/runs/<slug>/?after=N``) streams one run to a viewer: it joins the run's
group first, then sends the backlog after seq N (from the replay log, or the database once the log
has expired), then live frames as the worker publishes them. It drops frames the viewer already
has, fills a gap from the log, and sends ``done`` (with the engine's summary) or ``end`` only after
reading the run's row. Viewers send nothing but pings. The channel layer is only a nudge: a viewer
that has heard nothing for ``WATCH_S`` seconds (its group lost in a Redis restart, or nudges
dropped) re-joins the group and reads the log and the row itself.

``PingConsumer`` (``/ws/ping/``) is the diagnostics socket: every text message goes out through the
channel layer and back, proving that Daphne, the WebSocket stack and the channel layer work.

Close codes a client can receive (all in the 4000 range: autobahn, under Daphne, lets an application
close only with 1000 or 3000-4999; see ``playground/sockets.py`` and docs/reliability.md):

- 1000: the run ended and everything was sent (the client usually closes first);
- 4008: more than ``WS_MAX_MESSAGES`` messages in ``WS_RATE_WINDOW_S`` seconds (either consumer);
- 4009: a message over ``WS_MAX_MESSAGE_BYTES``, or a binary one (either consumer);
- 4400: ``?after=`` is not a whole number from 0 to 2**31-1 (``RunConsumer``);
- 4404: no run has that id (``RunConsumer``);
- 4429: the client's address has ``WS_MAX_CONNECTIONS_PER_ADDRESS`` sockets open already (before
  either consumer, ``sockets.ConnectionCap``).

A socket refused with a code is accepted first and closed at once, so the client reads the code.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer, AsyncWebsocketConsumer
from django.conf import settings

from playground import sockets
from playground.limits import MessageRate
from playground.runs import queues, service, stream
from playground.runs.models import Run

SEND_CHUNK = 500
WATCH_S = 5.0


class LimitedMessages:
    """The size and rate caps on what a client sends (see the module's docstring)."""

    rate: MessageRate | None = None

    async def refused(self, text_data, bytes_data) -> bool:
        """Close the socket and return True if this message breaks a cap."""
        if self.rate is None:
            self.rate = MessageRate(settings.WS_MAX_MESSAGES, settings.WS_RATE_WINDOW_S)
        size = len(bytes_data) if bytes_data is not None else len((text_data or "").encode())
        if bytes_data is not None or size > settings.WS_MAX_MESSAGE_BYTES:
            await self.close(code=sockets.CLOSE_MESSAGE_TOO_BIG)
            return True
        if not self.rate.allow():
            await self.close(code=sockets.CLOSE_TOO_MANY_MESSAGES)
            return True
        return False

    async def refuse(self, code: int) -> None:
        """Accept and close at once, so the client reads ``code`` (a close before accepting is an
        HTTP 403 at the handshake, with no code)."""
        await self.accept()
        await self.close(code=code)


def after_from(query_string: bytes) -> int | None:
    """The ``after`` of a viewer's query (0 when absent); None when it is not a whole number from 0
    to ``stream.MAX_SEQ``."""
    try:
        raw = parse_qs(query_string.decode("latin1")).get("after", ["0"])[0].strip()
    except ValueError:
        return None
    if not raw.isascii() or not raw.isdigit() or len(raw) > 12:
        return None
    after = int(raw)
    return None if stream.after_problem(after) else after


class PingConsumer(LimitedMessages, AsyncWebsocketConsumer):
    async def receive(self, text_data=None, bytes_data=None):
        if await self.refused(text_data, bytes_data):
            return
        await self.channel_layer.send(self.channel_name, {"type": "ping.echo", "text": text_data})

    async def ping_echo(self, event):
        await self.send(text_data=event["text"])


@database_sync_to_async
def _get_run(slug: str) -> Run | None:
    return Run.objects.filter(slug=slug).first()


@database_sync_to_async
def _reason(run: Run) -> str:
    return queues.reason_of(run)


@database_sync_to_async
def _frames_after(run: Run, after: int, limit: int) -> list[dict]:
    return service.frames_after(run, after, limit)


class RunConsumer(LimitedMessages, AsyncJsonWebsocketConsumer):
    slug: str = ""
    last_seq: int = 0
    finished: bool = False
    heard_at: float = 0.0
    watcher: asyncio.Task | None = None
    lock: asyncio.Lock | None = None

    async def connect(self):
        self.slug = self.scope["url_route"]["kwargs"]["slug"]
        after = after_from(self.scope.get("query_string", b""))
        if after is None:
            await self.refuse(sockets.CLOSE_BAD_QUERY)
            return
        self.last_seq = after
        run = await _get_run(self.slug)
        if run is None:
            await self.refuse(sockets.CLOSE_NO_SUCH_RUN)
            return
        self.lock = asyncio.Lock()
        self.heard_at = time.monotonic()
        await self.channel_layer.group_add(stream.group_name(self.slug), self.channel_name)
        await self.accept()
        async with self.lock:
            await self._report(run)
        if not self.finished:
            self.watcher = asyncio.create_task(self._watch())

    async def disconnect(self, code):
        if self.watcher is not None:
            self.watcher.cancel()
        if self.slug:
            with contextlib.suppress(Exception):  # Redis may be the reason we are disconnecting
                await self.channel_layer.group_discard(stream.group_name(self.slug), self.channel_name)

    async def receive(self, text_data=None, bytes_data=None):
        await self.refused(text_data, bytes_data)

    async def _watch(self) -> None:
        """Re-join and re-read when the channel layer has been silent for WATCH_S seconds."""
        while not self.finished:
            await asyncio.sleep(WATCH_S / 2)
            if time.monotonic() - self.heard_at < WATCH_S:
                continue
            try:
                await self.channel_layer.group_add(stream.group_name(self.slug), self.channel_name)
                run = await _get_run(self.slug)
                if run is not None:
                    async with self.lock:
                        await self._report(run)
                self.heard_at = time.monotonic()
            except asyncio.CancelledError:
                raise
            except Exception:  # Redis or the database is away: try again at the next look
                continue

    async def _catch_up(self, run: Run, until: int | None = None) -> None:
        """Send every frame after last_seq (up to ``until``) from the log or the database."""
        while not self.finished:
            frames = await _frames_after(run, self.last_seq, SEND_CHUNK)
            if until is not None:
                frames = [f for f in frames if f["seq"] <= until]
            if not frames:
                return
            for frame in frames:
                await self._send_frame(frame)
            if len(frames) < SEND_CHUNK:
                return

    async def _send_frame(self, frame: dict) -> None:
        if frame["seq"] != self.last_seq + 1:
            return
        self.last_seq = frame["seq"]
        await self.send_json(stream.frame_message(frame))

    async def _report(self, run: Run) -> None:
        """The backlog, then where the run stands: done/end if it ended, else its status."""
        await self._catch_up(run)
        if run.status == Run.Status.DONE:
            self.finished = True
            await self.send_json(stream.done_message(run.summary))
        elif run.status in (Run.Status.FAILED, Run.Status.CANCELLED):
            self.finished = True
            await self.send_json(stream.end_message(run.status, run.reason))
        else:
            await self.send_json(stream.status_message(run.status, await _reason(run)))

    async def run_frame(self, event):
        self.heard_at = time.monotonic()
        if self.finished:
            return
        async with self.lock:
            await self._live_frame(event)

    async def _live_frame(self, event):
        seq = event["seq"]
        if seq <= self.last_seq:
            return
        if seq > self.last_seq + 1:  # a gap: the channel layer dropped something
            run = await _get_run(self.slug)
            await self._catch_up(run, until=seq - 1)
        if seq == self.last_seq + 1:
            self.last_seq = seq
            await self.send(text_data=event["text"])

    async def run_status(self, event):
        self.heard_at = time.monotonic()
        if self.finished:
            return
        run = await _get_run(self.slug)
        if run is not None:
            async with self.lock:
                await self._report(run)
