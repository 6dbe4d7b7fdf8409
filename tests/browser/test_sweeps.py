"""A capacity sweep in the browser: fill in the form, watch it finish, read the answer."""

from __future__ import annotations

import json

import pytest

from playground.designs.models import Template
from tests.processes import start_celery_worker
from tests.runs.test_sweeps_workers import fleet

pytestmark = [pytest.mark.browser, pytest.mark.processes, pytest.mark.django_db(transaction=True)]


def test_a_sweep_started_from_the_form_answers_in_a_sentence(browser, daphne_server, tmp_path):
    Template.objects.create(slug="mm2-fleet", title="M/M/2 fleet", summary="A fleet of M/M/2 instances",
                            document_json=json.dumps(fleet()))
    worker = start_celery_worker(tmp_path / "worker.log", concurrency=2)
    try:
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
        page.goto(f"{daphne_server}/sweeps/new/?template=mm2-fleet")
        page.select_option("select[name=axis1_path]", "nodes.api.params.instances")
        page.fill("input[name=axis1_values]", "2..5")
        page.fill("input[name=target]", "mean < 14 and errors < 0.1%")
        page.fill("input[name=seeds]", "2")
        page.click("text=Start the sweep")
        page.wait_for_url("**/s/*/")
        page.wait_for_selector("#answer", timeout=90_000)
        assert page.inner_text("#answer").startswith("api instances 4: mean ")
        page.wait_for_function("() => document.body.dataset.ready === 'true'")
        assert page.locator("#knee canvas").count() == 2
        assert page.locator("#points tbody tr").count() == 4
        assert page.locator("tr.cheapest th").inner_text().startswith("api instances 4")
        assert errors == []
        page.close()
    finally:
        worker.stop()
