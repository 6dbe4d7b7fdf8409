"""Every page on a phone (390x844 in Chromium): nothing wider than the screen, an editor canvas
with room to work, and the Run button within the first two screens of a template's page."""

from __future__ import annotations

import os

import pytest

from playground.runs import stream
from tests.browser.test_runs import api_start
from tests.processes import start_celery_worker
from tests.runs.designs import web_fleet

pytestmark = [pytest.mark.browser, pytest.mark.processes, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
SHOTS = os.environ.get("SCREENSHOTS")  # a folder: save each page as the phone showed it

# What sticks out past the right edge, to name in a failure.
WIDEST = """() => [...document.querySelectorAll('body *')]
  .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 0.5 && el.getClientRects().length)
  .filter((el) => !el.parentElement.closest('[data-overflow-ok]'))
  .slice(0, 8).map((el) => `${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}.${[...el.classList].join('.')} right=${Math.round(el.getBoundingClientRect().right)}`)"""


def overflow(page) -> dict:
    return page.evaluate("""() => ({scroll: document.documentElement.scrollWidth, inner: window.innerWidth})""")


@pytest.fixture
def worker(tmp_path):
    proc = start_celery_worker(tmp_path / "worker.log", concurrency=2)
    yield proc
    proc.stop()


def test_no_page_is_wider_than_a_phone(browser, daphne_server, worker):
    from django.contrib.auth.models import User
    from django.core.management import call_command

    call_command("loadtemplates", verbosity=0)
    User.objects.create_user("phone", password="a long phone password 42")
    one = api_start(daphne_server, {"document": web_fleet(duration_s=10, instances=2, rps=300)})
    two = api_start(daphne_server, {"document": web_fleet(duration_s=10, instances=4, rps=300)})
    # Not is_mobile: a mobile viewport zooms out to fit a page that is too wide, which would hide
    # the very overflow this looks for.
    ctx = browser.new_context(viewport=PHONE, device_scale_factor=1, has_touch=True)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        # A replicate sweep of the first run, from the form, for the sweep pages.
        page.goto(f"{daphne_server}/sweeps/new/?run={one['id']}&kind=replicate")
        pages = {"sweep-new": page.url}
        page.locator("main form button.primary").last.click()
        page.wait_for_url("**/s/*/", timeout=30_000)
        page.wait_for_selector("#points", timeout=90_000)
        pages["sweep"] = page.url

        pages.update({
            "home": "/", "gallery": "/templates/", "template": "/templates/memory-sessions/",
            "template-editor": "/templates/memory-sessions/edit/", "editor": "/d/new/",
            "run": one["url"], "compare": f"/compare/?a={one['id']}&b={two['id']}",
            "lessons": "/lessons/", "lesson": "/lessons/stateless-services/",
            "lesson-retries": "/lessons/retries-timeouts-overload/", "accuracy": "/accuracy/",
            "reference": "/reference/", "schema": "/reference/schema/", "my-runs": "/runs/",
            "my-designs": "/designs/", "signup": "/signup/", "login": "/login/",
        })
        wide = {}
        for name, url in list(pages.items()) + [("account", "/account/")]:
            if name == "account":
                page.goto(daphne_server + "/login/?next=/account/")
                page.fill("input[name=username]", "phone")
                page.fill("input[name=password]", "a long phone password 42")
                page.locator("main form button").first.click()
                page.wait_for_url("**/account/")
            else:
                page.goto(url if url.startswith("http") else daphne_server + url)
            page.wait_for_load_state("networkidle")
            if name == "run":
                page.wait_for_function("() => document.body.dataset.done === 'true'", timeout=60_000)
            if name == "compare":
                page.wait_for_function("() => document.body.dataset.compared === 'true'", timeout=20_000)
            page.wait_for_timeout(150)
            size = overflow(page)
            if SHOTS:
                page.screenshot(path=f"{SHOTS}/phone-{name}.png", full_page=True)
            if size["scroll"] > PHONE["width"] or size["inner"] != PHONE["width"]:
                wide[name] = (size, page.evaluate(WIDEST))
            if name == "template":
                top = page.locator("form.run-form button[type=submit]").first.bounding_box()["y"]
                assert top < 2 * PHONE["height"], f"the Run button is {top:.0f} px down"
            if name in ("editor", "template-editor"):
                canvas = page.locator("#canvas, .canvas").first.bounding_box()
                assert canvas["height"] >= 0.5 * PHONE["height"], canvas
                assert canvas["width"] >= PHONE["width"] - 20, canvas
        assert not wide, "\n".join(f"{k}: {v}" for k, v in wide.items())
        assert errors == []
    finally:
        ctx.close()
        stream.delete_keys(one["id"])
        stream.delete_keys(two["id"])
