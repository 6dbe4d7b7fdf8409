"""A run's embed inside another site's page, in Chromium: the player plays there; the run page
itself refuses to be framed."""

from __future__ import annotations

import http.server
import json
import threading
import urllib.request
from functools import partial

import pytest

from playground.runs import stream
from tests.browser.test_runs import api_start
from tests.processes import start_celery_worker
from tests.redis_server import free_port
from tests.runs.designs import web_fleet

pytestmark = [pytest.mark.browser, pytest.mark.processes, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def other_site(tmp_path):
    """A blog on another origin (another port of 127.0.0.1), serving the files of ``tmp_path``."""
    port = free_port()
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield tmp_path, f"http://127.0.0.1:{port}"
    server.shutdown()
    server.server_close()


def test_an_embedded_run_plays_inside_another_sites_page(browser, daphne_server, other_site, tmp_path):
    worker = start_celery_worker(tmp_path / "worker.log")
    started = api_start(daphne_server, {"document": web_fleet(duration_s=30)})
    try:
        folder, origin = other_site
        base = daphne_server.replace("127.0.0.1", "localhost")  # a different origin from the blog's
        with urllib.request.urlopen(f"{base}/oembed?url={base}{started['url']}", timeout=10) as answer:
            oembed = json.load(answer)
        (folder / "post.html").write_text(f"<!doctype html><h1>My post</h1>{oembed['html']}"
                                          f"<iframe id='plain' src='{base}{started['url']}'></iframe>")
        page = browser.new_page()
        page.goto(origin + "/post.html")
        frame = page.frame_locator("iframe[src$='/embed/']")
        frame.locator("body").wait_for()
        embedded = next(f for f in page.frames if f.url.endswith("/embed/"))
        embedded.wait_for_function("() => document.querySelector('#player').dataset.finished === 'true'",
                                   timeout=60_000)
        assert embedded.locator("#topology canvas").count() >= 1
        embedded.locator("#player-range").fill("0")
        embedded.click("[data-speed='20']")
        embedded.click("[data-player=play]")
        embedded.wait_for_function("() => Number(document.querySelector('#player').dataset.index) >= 5",
                                   timeout=10_000)
        assert embedded.locator(".site-header").count() == 0
        # The run page itself, framed the same way, is refused (X-Frame-Options DENY).
        plain = page.locator("#plain").element_handle().content_frame()
        assert plain is not None and plain.locator("#player").count() == 0
        page.close()
    finally:
        worker.stop()
        stream.delete_keys(started["id"])
