"""WebSocket consumers.

``PingConsumer`` (``/ws/ping/``) is the diagnostics socket: every text message it receives goes out
through the channel layer (Redis) and back to the same socket, so a reply proves that Daphne, the
WebSocket stack and the channel layer all work. Run streaming arrives with live runs.
"""

from __future__ import annotations

from channels.generic.websocket import AsyncWebsocketConsumer

MAX_PING_BYTES = 1024


class PingConsumer(AsyncWebsocketConsumer):
    async def receive(self, text_data=None, bytes_data=None):
        if text_data is None or len(text_data.encode()) > MAX_PING_BYTES:
            await self.close(code=1009)
            return
        await self.channel_layer.send(self.channel_name, {"type": "ping.echo", "text": text_data})

    async def ping_echo(self, event):
        await self.send(text_data=event["text"])
