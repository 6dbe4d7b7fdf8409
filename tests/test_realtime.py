"""The real parts under the site: the Redis channel layer behind a WebSocket, and a Celery worker
process on the Redis broker."""

from __future__ import annotations

import pytest
from channels.testing import WebsocketCommunicator

from playground.asgi import application

ORIGIN = [(b"origin", b"http://localhost"), (b"host", b"localhost")]


@pytest.mark.asyncio
async def test_websocket_round_trip_goes_through_the_redis_channel_layer(settings):
    assert settings.CHANNEL_LAYERS["default"]["BACKEND"] == "channels_redis.core.RedisChannelLayer"
    communicator = WebsocketCommunicator(application, "/ws/ping/", headers=ORIGIN)
    connected, _ = await communicator.connect()
    assert connected
    for text in ("hello", "second"):
        await communicator.send_to(text_data=text)
        assert await communicator.receive_from(timeout=5) == text
    await communicator.disconnect()


@pytest.mark.asyncio
async def test_websocket_from_a_foreign_origin_is_refused():
    communicator = WebsocketCommunicator(application, "/ws/ping/", headers=[(b"origin", b"http://evil.example")])
    connected, _ = await communicator.connect()
    assert not connected


@pytest.mark.processes
def test_a_task_runs_in_a_real_celery_worker_process(celery_worker_process):
    from playground.runs.tasks import ping

    result = ping.delay()
    assert result.get(timeout=30) == {"pong": True, "worker": pytest.importorskip("socket").gethostname()}
    assert "runs.ping" in celery_worker_process.log()
