"""A capacity sweep in the browser: fill in the form, watch it finish, read the answer."""

from __future__ import annotations

import json

import pytest

from playground.designs.models import Template
from tests.processes import start_celery_worker
from tests.runs.test_sweeps_workers import fleet

pytestmark = [pytest.mark.browser, pytest.mark.processes, pytest.mark.django_db(transaction=True)]


# Pixels of the threshold's colour (COLORS.marker, #b3541e) along the latency chart's target line.
MARKER_PIXELS_ON_THE_TARGET_LINE = """() => {
  const { plot, thresholds } = window.__knees.latency;
  const y = Math.round(plot.valToPos(thresholds[0].value, "y", true));
  const row = plot.ctx.getImageData(plot.bbox.left, y - 1, plot.bbox.width, 3).data;
  let pixels = 0;
  for (let i = 0; i < row.length; i += 4) {
    if (Math.abs(row[i] - 0xb3) < 24 && Math.abs(row[i + 1] - 0x54) < 24 && Math.abs(row[i + 2] - 0x1e) < 24) pixels++;
  }
  return { pixels, max: plot.scales.y.max };
}"""


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
        # The target's latency condition is a dashed line on the latency chart, labelled.
        assert page.inner_text('[data-target-for="latency"]') == "target: mean < 14"
        assert page.inner_text('[data-target-for="errors"]') == "target: errors < 0.1%"
        drawn = page.evaluate(MARKER_PIXELS_ON_THE_TARGET_LINE)
        assert drawn["max"] >= 14 and drawn["pixels"] > 50, drawn
        # Each point opens a run of that point on one of its seeds.
        page.locator("tr.cheapest form.point-runs button").first.click()
        page.wait_for_url("**/r/*/")
        assert "(api instances 4)" in page.inner_text("h1")
        assert errors == []
        page.close()
    finally:
        worker.stop()
