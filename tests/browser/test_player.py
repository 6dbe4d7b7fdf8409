"""The run page's charts and replay player in Chromium: gaps where frames hold null, legends with
values before any hover, event markers that never overlap, events in words with node labels,
and a player that plays, pauses, scrubs and seeks, with the topology coloured by its frame."""

from __future__ import annotations

import os

import pytest

from playground.runs import stream
from tests.browser.test_runs import api_start
from tests.processes import start_celery_worker
from tests.runs.designs import web_fleet

pytestmark = [pytest.mark.browser, pytest.mark.processes, pytest.mark.django_db(transaction=True)]

SHOTS = os.environ.get("SCREENSHOTS")  # a folder: save what the tests saw, to look at


@pytest.fixture
def worker(tmp_path):
    proc = start_celery_worker(tmp_path / "worker.log")
    yield proc
    proc.stop()


def outage_design() -> dict:
    """60 s of a labelled fleet: a kill and a slowdown a tick apart, then a 30 s outage of the API."""
    doc = web_fleet(duration_s=60, rps=200)
    for node in doc["nodes"]:
        node["label"] = {"users": "Shoppers", "lb": "Balancer", "api": "Rails API", "db": "Postgres"}[node["id"]]
    doc["scenario"]["events"] = [
        {"at_s": 8, "action": "kill_instance", "node": "api"},
        {"at_s": 9, "action": "slowdown", "node": "db", "factor": 3, "duration_s": 4},
        {"at_s": 20, "action": "outage", "node": "api", "duration_s": 30},
    ]
    return doc


def open_finished(browser, base: str, url: str, **context):
    ctx = browser.new_context(**context)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
    page.goto(base + url)
    page.wait_for_function("() => document.body.dataset.done === 'true'", timeout=60_000)
    page.wait_for_function("() => document.querySelector('#player').dataset.finished === 'true'")
    page.wait_for_timeout(200)  # the charts draw on the next animation frame
    return ctx, page, errors


def test_charts_gap_across_an_outage_group_close_markers_and_show_values(browser, daphne_server, worker):
    started = api_start(daphne_server, {"document": outage_design()})
    try:
        ctx, page, errors = open_finished(browser, daphne_server, started["url"], viewport={"width": 1440, "height": 900})
        if SHOTS:
            page.screenshot(path=f"{SHOTS}/run-1440.png", full_page=True)
        # Latency holds null (not 0, not the previous value) across the outage, and uPlot drew a gap.
        lat = page.evaluate("() => { const p = window.__charts.latency.plot; return {t: p.data[0], p99: p.data[3]}; }")
        during = [v for t, v in zip(lat["t"], lat["p99"], strict=True) if 23 <= t <= 48]
        assert during and all(v is None for v in during)
        assert any(v is not None and v > 0 for t, v in zip(lat["t"], lat["p99"], strict=True) if t < 8)
        gaps = page.evaluate("() => window.__charts.latency.plot.series.slice(1).map((s) => (s._paths && s._paths.gaps || []).length)")
        assert all(g >= 1 for g in gaps), gaps
        # A plot a reader can read: tall and as wide as its column.
        box = page.locator('[data-chart="latency"] .u-over').bounding_box()
        assert box["height"] >= 150 and box["width"] >= 450

        # Legends show values without a hover: the last frame's.
        values = page.locator('[data-chart="throughput"] .u-legend .u-value').all_inner_texts()
        assert values and all(v.strip() not in ("", "--") for v in values), values

        # The kill (t=8) and the slowdown (t=9) are a tick apart: one marker with a count (which may
    # take in the slowdown's end at 13 s too, if its label would touch).
        markers = page.locator('[data-chart="errors"] .chart-marker')
        texts = markers.all_inner_texts()
        counts = [markers.nth(i).get_attribute("data-count") for i in range(markers.count())]
        grouped = [markers.nth(i) for i, c in enumerate(counts) if int(c) >= 2]
        assert len(grouped) == 1, (texts, counts)
        grouped = grouped[0]
        assert grouped.inner_text() == f"{grouped.get_attribute('data-count')} events"
        assert "Kill 1 instance of Rails API" in grouped.get_attribute("title")
        assert "Postgres slowed down 3× for 4 s" in grouped.get_attribute("title")
        for chart in page.locator(".chart").all():
            boxes = [b.bounding_box() for b in chart.locator(".chart-marker").all()]
            for i, a in enumerate(boxes):
                for b in boxes[i + 1:]:
                    apart = a["x"] + a["width"] <= b["x"] or b["x"] + b["width"] <= a["x"] or \
                        a["y"] + a["height"] <= b["y"] or b["y"] + b["height"] <= a["y"]
                    assert apart, (a, b)

        # The event list speaks words with the nodes' labels.
        events = page.inner_text("#events-list")
        assert "Rails API unreachable for 30 s" in events
        assert "Kill 1 instance of Rails API" in events
        assert "Rails API reachable again" in events
        assert " on api" not in events and "kill_instance" not in events
        assert errors == []
        ctx.close()
    finally:
        stream.delete_keys(started["id"])


def node_colour(page, node: str = "api") -> str:
    return page.evaluate(f"() => window.__run.cy.getElementById('{node}').style('background-color')")


def test_the_player_plays_pauses_scrubs_and_seeks(browser, daphne_server, worker):
    started = api_start(daphne_server, {"document": outage_design()})
    try:
        ctx, page, errors = open_finished(browser, daphne_server, started["url"] + "#t=30",
                                          viewport={"width": 1440, "height": 900})
        player = page.locator("#player")
        # #t=30 in the address seeks there once its frame has arrived.
        page.wait_for_function("() => document.querySelector('#topology').dataset.seq === '30'")
        assert player.get_attribute("data-index") == "29"
        assert "t = 30 s" in page.inner_text("[data-player=time]")
        # The charts draw the player's line there, and the legend reads that frame.
        assert page.locator('[data-chart="latency"] .chart-now').is_visible()
        assert page.locator('[data-chart="latency"] .u-legend .u-value').nth(2).inner_text() == "none"
        during_outage = node_colour(page)

        # Scrub back to before the outage: the frame and the topology's colouring follow.
        page.locator("#player-range").fill("4")
        page.wait_for_function("() => document.querySelector('#topology').dataset.seq === '5'")
        assert node_colour(page) != during_outage
        assert page.locator('[data-chart="latency"] .u-legend .u-value').nth(2).inner_text() != "none"
        # Events after the player's moment are dimmed.
        assert page.locator("#events-list li.later").count() >= 3

        # Play advances frames; pause stops them.
        page.click("[data-speed='20']")
        page.click("[data-player=play]")
        page.wait_for_function("() => Number(document.querySelector('#player').dataset.index) >= 10", timeout=10_000)
        page.click("[data-player=play]")  # now "Pause"
        assert player.get_attribute("data-playing") == "false"
        stopped = player.get_attribute("data-index")
        page.wait_for_timeout(400)
        assert player.get_attribute("data-index") == stopped

        # Keyboard: the range input moves by arrows.
        page.focus("#player-range")
        page.keyboard.press("End")
        page.wait_for_function("() => document.querySelector('#player').dataset.index === '59'")

        # A data-t element anywhere on the page seeks the player ("What happened" sentences).
        page.evaluate("""() => { const a = document.createElement('a'); a.href = '#t=40'; a.className = 'moment';
            a.dataset.t = '40'; a.id = 'moment-40'; a.textContent = 'at 40 s'; document.querySelector('#events-panel').appendChild(a); }""")
        page.click("#moment-40")
        page.wait_for_function("() => document.querySelector('#topology').dataset.seq === '40'")
        assert page.evaluate("() => location.hash") == "#t=40"
        # So does an event's time in the list, and a chart's marker.
        page.locator("#events-list a.moment", has_text="20 s").first.click()
        page.wait_for_function("() => document.querySelector('#topology').dataset.seq === '20'")

        # A finished run plays from its start when Play is pressed at its end.
        page.locator("#player-range").fill("59")
        page.click("[data-player=play]")
        page.wait_for_function("() => Number(document.querySelector('#player').dataset.index) < 59")
        page.click("[data-player=play]")
        assert not page.locator("[data-player=live]").is_visible()  # no Live button on a finished run
        assert errors == []
        ctx.close()
    finally:
        stream.delete_keys(started["id"])


def test_a_live_run_is_followed_until_the_user_scrubs_back(browser, daphne_server, worker):
    started = api_start(daphne_server, {"document": web_fleet(duration_s=40), "mode": "live", "speed": 5})
    try:
        page = browser.new_page()
        page.goto(daphne_server + started["url"])
        page.wait_for_function("() => Number(document.body.dataset.frames || 0) >= 4", timeout=30_000)
        player = page.locator("#player")
        assert player.get_attribute("data-following") == "true"
        page.locator("#player-range").fill("1")
        assert player.get_attribute("data-following") == "false"
        frames = int(page.evaluate("() => document.body.dataset.frames"))
        page.wait_for_function(f"() => Number(document.body.dataset.frames) >= {frames + 2}", timeout=30_000)
        assert player.get_attribute("data-index") == "1"  # stays where the user put it
        page.click("[data-player=live]")
        page.wait_for_function("() => document.querySelector('#player').dataset.following === 'true'")
        page.wait_for_function("() => Number(document.querySelector('#player').dataset.index) === "
                               "Number(document.body.dataset.frames) - 1")
        page.close()
    finally:
        stream.delete_keys(started["id"])


def breaker_design() -> dict:
    """A client behind a breaker calling an API that is out from 5 s to 15 s."""
    return {"schema_version": 1, "title": "breaker",
            "nodes": [{"id": "users", "kind": "client", "params": {"rps": 100}},
                      {"id": "api", "kind": "service", "params": {"instances": 2, "startup_s": 0}}],
            "edges": [{"from": "users", "to": "api",
                       "circuit_breaker": {"min_calls": 10, "window_s": 5, "open_s": 3}}],
            "scenario": {"duration_s": 25, "seed": 1,
                         "events": [{"at_s": 5, "action": "outage", "node": "api", "duration_s": 10}]}}


def test_the_topology_shows_each_breakers_state_at_the_players_frame(browser, daphne_server, worker):
    started = api_start(daphne_server, {"document": breaker_design()})
    try:
        ctx, page, errors = open_finished(browser, daphne_server, started["url"] + "#t=8",
                                          viewport={"width": 1440, "height": 900})
        page.wait_for_function("() => document.querySelector('#topology').dataset.seq === '8'")
        state = page.evaluate("() => JSON.parse(document.querySelector('#topology').dataset.breakers)")
        assert state == {"users->api": "open"}
        page.locator("#player-range").fill("2")
        page.wait_for_function("() => document.querySelector('#topology').dataset.seq === '3'")
        state = page.evaluate("() => JSON.parse(document.querySelector('#topology').dataset.breakers)")
        assert state == {"users->api": "closed"}
        page.locator("#player-range").fill("24")
        page.wait_for_function("() => document.querySelector('#topology').dataset.seq === '25'")
        state = page.evaluate("() => JSON.parse(document.querySelector('#topology').dataset.breakers)")
        assert state == {"users->api": "closed"}
        # The events list says when it opened.
        assert page.locator("#events-list li", has_text="breaker").count() >= 2
        assert errors == []
        ctx.close()
    finally:
        stream.delete_keys(started["id"])
