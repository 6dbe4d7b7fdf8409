"""The web process: Daphne, refusing a request body over the limit while it arrives.

``python -m playground.server`` takes every argument ``daphne`` takes (the Procfile's ``web`` line
and ``tests/processes.py`` start it so). It is Daphne with one change: a request body is counted as
Twisted reads it, before the application sees it. Daphne itself reads the whole body (into memory,
or a temporary file past 100 KB) before it hands the request to Django, so without this a 300 MB
chunked upload was stored in full before anything could refuse it.

Terms
-----
declared body
    A body with a ``Content-Length`` header. One longer than the limit is not stored: its bytes are
    read and dropped, and the application sees the request with an empty body, where
    ``playground.limits.BodySizeLimitMiddleware`` answers the 413 from the header (HTML for a
    browser form, JSON for the API).
chunked body
    ``Transfer-Encoding: chunked``, no length given up front. Its bytes are counted as they come;
    once past the limit the request is answered at once with the API's JSON 413 (browsers never
    send a form chunked) and the connection is closed without reading the rest.
limit
    ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (``REQUEST_MAX_BYTES``), the same limit the middleware uses.
"""

from __future__ import annotations

import io
import json
import logging

import daphne.server
from daphne.cli import CommandLineInterface
from daphne.http_protocol import HTTPFactory, WebRequest

logger = logging.getLogger(__name__)


def _limit() -> int | None:
    from django.conf import settings  # Configured by the time a request arrives (the app is loaded).

    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE


def too_long_response(limit: int) -> bytes:
    """The whole HTTP/1.1 413 for a chunked body past ``limit``, in the API's refusal shape."""
    from playground.limits import too_long_message

    message = too_long_message(None, limit)
    body = json.dumps({"error": message, "problems": [{"path": "body", "message": message}]}).encode()
    head = (
        "HTTP/1.1 413 Content Too Large\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: close\r\n"
        "Cache-Control: no-store\r\n"
        "\r\n"
    )
    return head.encode("ascii") + body


class BodyLimitRequest(WebRequest):
    """Daphne's request, counting its body as it arrives (see the module's terms)."""

    body_received = 0
    discarding = False  # a declared body over the limit: read, not stored
    refused = False  # a chunked body over the limit: answered, connection closing

    def gotLength(self, length: int | None) -> None:
        limit = _limit()
        if length is not None and limit is not None and length > limit:
            self.discarding = True
            length = 0  # Twisted's in-memory buffer: nothing is stored.
        super().gotLength(length)

    def handleContentChunk(self, data: bytes) -> None:
        if self.discarding or self.refused:
            return
        self.body_received += len(data)
        limit = _limit()
        if limit is not None and self.body_received > limit:
            self.refused = True
            self.content = io.BytesIO()  # drop what was stored
            logger.info("refused a chunked request body over %s bytes from %s", limit, self.client_addr_text())
            # As Twisted answers a malformed request: the whole response, then close. Closing stops
            # reading, so the rest of the body is never read.
            self.channel.transport.write(too_long_response(limit))
            self.channel.loseConnection()
            return
        super().handleContentChunk(data)

    def requestReceived(self, command: bytes, path: bytes, version: bytes) -> None:
        # The body's end may come in the same read as the bytes past the limit: already answered.
        if not self.refused:
            super().requestReceived(command, path, version)

    def client_addr_text(self) -> str:
        peer = self.getClientAddress()
        return f"{getattr(peer, 'host', peer)}:{getattr(peer, 'port', '')}"


class BodyLimitHTTPFactory(HTTPFactory):
    def buildProtocol(self, addr):
        protocol = super().buildProtocol(addr)
        if protocol is not None:
            protocol.requestFactory = BodyLimitRequest
        return protocol


def main() -> None:
    # Daphne's Server.run builds its factory from this module-level name: the one place ours goes in.
    daphne.server.HTTPFactory = BodyLimitHTTPFactory
    CommandLineInterface.entrypoint()


if __name__ == "__main__":
    main()
