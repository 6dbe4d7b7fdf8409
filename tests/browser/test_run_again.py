"""Run again keeps the chaos: a live run steered with a kill and a traffic spike, then "Run again
(same seed, with your controls)" pressed on its page, gives a run whose document holds those
controls as scenario events and whose summary is the original's (issue 14, item 6)."""

from __future__ import annotations

import copy
import json
import time
import urllib.request

import pytest

from playground.runs import stream
from playground.runs.models import Run
from tests.browser.test_runs import api_start, summary_text
from tests.processes import start_celery_worker
from tests.runs.test_chaos import SESSIONS

pytestmark = [pytest.mark.browser, pytest.mark.processes, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker(tmp_path):
    proc = start_celery_worker(tmp_path / "worker.log")
    yield proc
    proc.stop()


def send_control(base: str, started: dict, control: dict) -> None:
    request = urllib.request.Request(
        f"{base}/api/runs/{started['id']}/controls", data=json.dumps(control).encode(), method="POST",
        headers={"Content-Type": "application/json", "X-Control-Token": started["control_token"]})
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 202


def wait_until(predicate, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


def frames_of(slug: str) -> int:
    return Run.objects.get(slug=slug).frames_total


def test_run_again_carries_the_live_controls_and_reproduces_the_summary(browser, daphne_server, worker):
    document = copy.deepcopy(SESSIONS)
    started = api_start(daphne_server, {"document": document, "mode": "live", "speed": 5, "seed": 5})
    slugs = [started["id"]]
    try:
        # Steer the live run as a user would: kill an API instance, then triple the traffic.
        wait_until(lambda: frames_of(started["id"]) >= 6)
        send_control(daphne_server, started, {"kind": "event", "action": "kill_instance", "node": "api"})
        wait_until(lambda: frames_of(started["id"]) >= 16)
        send_control(daphne_server, started, {"kind": "traffic", "multiplier": 3, "ramp_s": 0})
        wait_until(lambda: Run.objects.get(slug=started["id"]).is_terminal)
        original = Run.objects.get(slug=started["id"])
        assert original.status == "done"
        kill, traffic = original.applied_events
        assert kill["control"]["action"] == "kill_instance" and traffic["control"]["kind"] == "traffic"
        assert original.summary["users"]["logged_out"] > 0

        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
        page.goto(daphne_server + started["url"])
        before = summary_text(page)
        button = page.get_by_role("button", name="Run again (same seed, with your controls)")
        assert "2 live controls" in button.get_attribute("title")
        button.click()
        page.wait_for_url(lambda url: "/r/" in url and started["id"] not in url)
        again = Run.objects.exclude(slug=started["id"]).get()
        slugs.append(again.slug)
        after = summary_text(page)

        scenario = again.document["scenario"]
        assert [(e["action"], e["at_s"]) for e in scenario["events"]] == [("kill_instance", kill["t"])]
        assert [(s["multiplier"], s["at_s"]) for s in scenario["traffic"]] == [(3, traffic["t"])]
        assert again.seed == original.seed and again.applied_events == []
        again.refresh_from_db()
        assert again.status == "done"
        assert again.summary == original.summary
        assert again.summary["users"]["logged_out"] == original.summary["users"]["logged_out"] > 0
        assert after == before
        assert errors == []
        page.close()
    finally:
        for slug in slugs:
            stream.delete_keys(slug)
