"""A request body over REQUEST_MAX_BYTES against a real Daphne (``python -m playground.server``): a
chunked one is answered the JSON 413 as it passes the limit, without the server storing it; one with
a Content-Length still gets the middleware's 413; a chunked body under the limit is served."""

from __future__ import annotations

import http.client
import json
import select
import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from playground.runs import stream
from playground.runs.models import Run
from tests.processes import start_daphne
from tests.runs.designs import web_fleet

MiB = 1024 * 1024


@pytest.fixture
def site(tmp_path, transactional_db):
    server, base = start_daphne(tmp_path / "daphne.log")
    yield server, base
    server.stop()
    r = stream.client()
    for key in r.scan_iter("ratelimit:runs:*"):
        r.delete(key)
    for slug in Run.objects.values_list("slug", flat=True):
        stream.delete_keys(slug)


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def read_response(sock: socket.socket, timeout: float = 10) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of the HTTP/1.1 response waiting on ``sock``."""
    sock.settimeout(timeout)
    response = http.client.HTTPResponse(sock)
    response.begin()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()


def request_head(base: str, path: str, extra: str) -> bytes:
    host = urlsplit(base).netloc
    return (f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Accept: application/json\r\n{extra}\r\n").encode()


def send_chunked(base: str, path: str, body_chunks) -> tuple[int, dict[str, str], bytes, int]:
    """POST a chunked body, stopping as soon as the server answers (or closes); returns the response
    and how many body bytes went out."""
    url = urlsplit(base)
    sock = socket.create_connection((url.hostname, url.port), timeout=10)
    try:
        sock.sendall(request_head(base, path, "Transfer-Encoding: chunked\r\n"))
        sent = 0
        for chunk in body_chunks:
            readable, _, _ = select.select([sock], [], [], 0)
            if readable:
                break  # answered early
            try:
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(chunk)
        else:
            sock.sendall(b"0\r\n\r\n")
        status, headers, body = read_response(sock)
        return status, headers, body, sent
    finally:
        sock.close()


def test_a_chunked_body_over_the_limit_is_a_json_413_at_once_and_is_not_stored(site):
    server, base = site
    before = rss_kib(server.pid)
    piece = b"x" * (64 * 1024)
    started = time.monotonic()
    status, headers, body, sent = send_chunked(base, "/api/runs", (piece for _ in range(20 * MiB // len(piece))))
    took = time.monotonic() - started
    assert status == 413
    assert headers["content-type"] == "application/json"
    answer = json.loads(body)
    assert "1 MiB" in answer["error"]
    assert answer["problems"] == [{"path": "body", "message": answer["error"]}]
    assert took < 5
    # The server stopped reading: far less than the 20 MiB went out (socket buffers hold a few MiB).
    assert sent < 12 * MiB, sent
    time.sleep(0.5)
    grown = rss_kib(server.pid) - before
    assert grown < 8 * 1024, f"Daphne grew by {grown} KiB"
    assert "refused a chunked request body" in server.log()


def test_a_chunked_body_under_the_limit_is_served(site):
    _, base = site
    document = json.dumps({"document": web_fleet()}).encode()
    pieces = [document[i:i + 100] for i in range(0, len(document), 100)]
    status, _, body, _ = send_chunked(base, "/api/runs", pieces)
    assert status == 201, body
    assert json.loads(body)["status"] == "queued"


def test_a_declared_body_over_the_limit_gets_the_middlewares_413(site):
    server, base = site
    url = urlsplit(base)
    size = 2 * MiB
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        sock.sendall(request_head(base, "/api/runs", f"Content-Length: {size}\r\n"))
        sock.sendall(b"x" * size)
        status, headers, body = read_response(sock)
    assert status == 413
    assert json.loads(body)["error"] == f"the request body is {size:,} bytes; the site accepts at most 1 MiB"
    assert "refused a chunked" not in server.log()
