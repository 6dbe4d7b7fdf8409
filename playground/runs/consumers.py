"""WebSocket consumers.

``RunConsumer`` (``/ws/runs/<slug>/?after=N``) streams one run to a viewer: it joins the run's
group first, then sends the backlog after seq N (from the replay log, or the database once the log
has expired), then live frames as the worker publishes them. It drops frames the viewer already
has, fills a gap from the log, and sends ``done`` (with the engine's summary) or ``end`` only after
reading the run's row. Viewers send nothing but pings.

``PingConsumer`` (``/ws/ping/``) is the diagnostics socket: every text message goes out through the
channel layer and back, proving that Daphne, the WebSocket stack and the channel layer work.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer, AsyncWebsocketConsumer

from playground.runs import service, stream
from playground.runs.models import Run

MAX_PING_BYTES = 1024
MAX_VIEWER_MESSAGE_BYTES = 1024
SEND_CHUNK = 500


class PingConsumer(AsyncWebsocketConsumer):
    async def receive(self, text_data=None, bytes_data=None):
        if text_data is None or len(text_data.encode()) > MAX_PING_BYTES:
            await self.close(code=1009)
            return
        await self.channel_layer.send(self.channel_name, {"type": "ping.echo", "text": text_data})

    async def ping_echo(self, event):
        await self.send(text_data=event["text"])


@database_sync_to_async
def _get_run(slug: str) -> Run | None:
    return Run.objects.filter(slug=slug).first()


@database_sync_to_async
def _frames_after(run: Run, after: int, limit: int) -> list[dict]:
    return service.frames_after(run, after, limit)


class RunConsumer(AsyncJsonWebsocketConsumer):
    slug: str = ""
    last_seq: int = 0
    finished: bool = False

    async def connect(self):
        self.slug = self.scope["url_route"]["kwargs"]["slug"]
        query = parse_qs(self.scope.get("query_string", b"").decode())
        try:
            self.last_seq = max(0, int(query.get("after", ["0"])[0]))
        except ValueError:
            self.last_seq = 0
        run = await _get_run(self.slug)
        if run is None:
            await self.close(code=4404)
            return
        await self.channel_layer.group_add(stream.group_name(self.slug), self.channel_name)
        await self.accept()
        await self._report(run)

    async def disconnect(self, code):
        if self.slug:
            await self.channel_layer.group_discard(stream.group_name(self.slug), self.channel_name)

    async def receive(self, text_data=None, bytes_data=None):
        if bytes_data is not None or (text_data and len(text_data) > MAX_VIEWER_MESSAGE_BYTES):
            await self.close(code=1009)

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
            await self.send_json(stream.status_message(run.status, run.reason))

    async def run_frame(self, event):
        if self.finished:
            return
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
        if self.finished:
            return
        run = await _get_run(self.slug)
        if run is not None:
            await self._report(run)
