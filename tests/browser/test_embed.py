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


def test_the_download_menu_downloads_each_file(browser, daphne_server, tmp_path):
    worker = start_celery_worker(tmp_path / "worker.log")
    started = api_start(daphne_server, {"document": web_fleet(duration_s=10)})
    try:
        page = browser.new_page(accept_downloads=True)
        page.goto(daphne_server + started["url"])
        page.wait_for_function("() => document.body.dataset.done === 'true'", timeout=60_000)
        page.click("#download-menu summary")
        links = page.locator("#download-menu a[download]")
        names = []
        for i in range(links.count()):
            with page.expect_download(timeout=30_000) as got:
                links.nth(i).click()
            download = got.value
            path = tmp_path / download.suggested_filename
            download.save_as(path)
            content = path.read_bytes()
            names.append(download.suggested_filename)
            if path.suffix == ".png":
                assert content.startswith(b"\x89PNG"), download.suggested_filename
            elif path.suffix == ".svg":
                assert b"<svg" in content[:500]
            elif path.suffix == ".csv":
                assert content.count(b"\n") == 11  # a header and ten frames
            elif path.suffix == ".json":
                assert len(json.loads(content)["rows"]) == 10
        assert sum(n.endswith(".png") for n in names) == 7 and len(names) == 10, names
        # The GIF panel asks a worker for the GIF, says it is being made, then shows it.
        page.click("#gif-make")
        page.wait_for_function("() => document.querySelector('#gif-panel').dataset.state === 'ready'",
                               timeout=90_000)
        page.wait_for_function("() => document.querySelector('#gif-image').naturalWidth === 800")
        assert "Ready" in page.inner_text("#gif-status")
        # The Embed box holds the snippet oEmbed gives.
        page.click("#embed-menu summary")
        snippet = page.input_value("#embed-snippet")
        assert snippet.startswith("<iframe ") and f"/r/{started['id']}/embed/" in snippet
        page.close()
    finally:
        worker.stop()
        stream.delete_keys(started["id"])
