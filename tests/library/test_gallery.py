"""The gallery and a template's page: cards with drawings, filters, search, runs and the editor."""

from __future__ import annotations

import re

import pytest

from playground.designs.library import LIBRARY_DIR

pytestmark = pytest.mark.django_db


def card_titles(html: str) -> list[str]:
    return re.findall(r'<h2><a href="/templates/[a-z0-9-]+/">([^<]+)</a></h2>', html)


def test_the_gallery_shows_every_template_with_a_drawing_and_the_companies_as_written(client, library):
    html = client.get("/templates/").content.decode()
    count = len(list(LIBRARY_DIR.glob("*.yaml")))
    assert count >= 11 and len(card_titles(html)) == count
    assert html.count('<svg class="topology-svg card-svg"') == count
    for company in ("Netflix", "Stripe", "Vercel", "Airbnb"):
        assert f'<span class="company">{company}</span>' in html


def test_filtering_by_company_keeps_only_that_companys_templates(client, library):
    titles = card_titles(client.get("/templates/", {"company": "Airbnb"}).content.decode())
    assert len(titles) == 2 and all(t.startswith("Airbnb") for t in titles)


def test_filtering_by_concept_keeps_the_templates_tagged_with_it(client, library):
    html = client.get("/templates/", {"concept": "caching"}).content.decode()
    assert sorted(card_titles(html)) == ["Cache-aside, and what a cache flush costs",
                                         "Netflix: a stateless API fleet, EVCache and Cassandra"]


def test_search_matches_every_word_in_any_case(client, library):
    titles = card_titles(client.get("/templates/", {"q": "IDEMPOTENCY keys"}).content.decode())
    assert titles == ["Stripe: payments, retries and idempotency keys"]
    assert card_titles(client.get("/templates/", {"q": "idempotency cassandra"}).content.decode()) == []


def test_filters_combine_and_an_empty_result_says_so(client, library):
    html = client.get("/templates/", {"company": "Netflix", "concept": "serverless"}).content.decode()
    assert card_titles(html) == [] and "No template matches" in html


def test_htmx_asks_for_the_cards_alone(client, library):
    html = client.get("/templates/", {"company": "Stripe"}, headers={"HX-Request": "true"}).content.decode()
    assert "<html" not in html and card_titles(html) == ["Stripe: payments, retries and idempotency keys"]


def test_the_filter_form_works_without_javascript(client, library):
    html = client.get("/templates/").content.decode()
    form = re.search(r'<form class="gallery-filters" method="get" action="/templates/"', html)
    assert form and 'name="q"' in html and 'name="concept"' in html and 'name="company"' in html
    assert '<button class="button" type="submit">Filter</button>' in html


def test_a_template_page_has_story_steps_expectations_and_a_run_form_per_variant(client, library):
    html = client.get("/templates/stripe/").content.decode()
    assert "<strong>idempotency key</strong>" in html  # The story's Markdown, rendered.
    assert "What to try" in html and "What to expect" in html
    assert "summary.charges.duplicate == 0" in html
    forms = re.findall(r'<form method="post" action="/runs/start/" class="run-form">(.*?)</form>', html, re.S)
    variants = [re.search(r'name="variant" value="([^"]*)"', f).group(1) for f in forms]
    assert variants == ["", "no-keys", "no-retries", "keys-in-memory"]
    for form in forms:
        assert 'name="template" value="stripe"' in form
        assert 'name="mode"' in form and 'name="speed"' in form and 'name="seed"' in form
    assert 'href="/templates/stripe/edit/"' in html


def test_an_expectation_about_another_template_links_to_it(client, library):
    html = client.get("/templates/airbnb-after/").content.decode()
    assert 'href="/templates/airbnb-before/"' in html


def test_the_run_form_starts_a_run_of_the_chosen_variant(client, library):
    response = client.post("/runs/start/", {"template": "memory-sessions", "variant": "two-instances",
                                            "mode": "batch", "speed": "1", "seed": "3"})
    assert response.status_code == 302 and response["Location"].startswith("/r/")
    page = client.get(response["Location"]).content.decode()
    assert 'href="/templates/memory-sessions/"' in page


def test_raw_html_in_a_story_is_shown_as_text(client, library):
    from playground.designs.models import Template

    Template.objects.filter(slug="stripe").update(story="Hi <script>alert(1)</script> [x](javascript:alert(1))")
    html = client.get("/templates/stripe/").content.decode()
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert 'href="javascript:' not in html


def test_an_unknown_template_is_a_404(client, library):
    assert client.get("/templates/nope/").status_code == 404


def test_the_header_and_home_page_link_to_the_gallery_and_the_lesson(client, library):
    html = client.get("/").content.decode()
    assert 'href="/templates/"' in html and 'href="/lessons/stateless-services/"' in html
    assert 'href="/accuracy/"' in html


def test_open_in_editor_opens_the_variant_itself(client, library):
    import json

    html = client.get("/templates/stripe/").content.decode()
    assert 'href="/templates/stripe/edit/?variant=keys-in-memory"' in html
    editor = client.get("/templates/stripe/edit/?variant=keys-in-memory").content.decode()
    boot = json.loads(re.search(r'<script id="editor-boot" type="application/json">(.*?)</script>', editor, re.S).group(1))
    nodes = {n["id"]: n for n in boot["document"]["nodes"]}
    assert "keys" not in nodes and nodes["api"]["params"]["state"] == "local"


def _scale_line(html: str) -> str:
    """The text of the first scale line in ``html``, tags dropped."""
    line = re.search(r'<p class="scale">(.*?)</p>', html, re.S).group(1)
    return re.sub(r"<[^>]+>", "", line).replace("Scale: ", "")


def test_each_card_shows_its_templates_scale_computed_from_its_document(client, library):
    from playground.designs.library import read_library

    netflix = {e.slug: e for e in read_library()}["netflix"].document
    rps = sum(n["params"]["rps"] for n in netflix["nodes"] if n["kind"] == "client")
    instances = sum(n["params"]["instances"] for n in netflix["nodes"] if n["kind"] == "service")
    html = client.get("/templates/", {"company": "Netflix"}).content.decode()
    assert html.count('<p class="scale">') == 1
    assert _scale_line(html) == f"{rps:,} rps · {instances} instances · {netflix['scenario']['duration_s']} s simulated"
    assert rps >= 1000 and instances >= 24  # The company templates run at real scale (issue 15).
    assert client.get("/templates/").content.decode().count('<p class="scale">') == \
        len(list(LIBRARY_DIR.glob("*.yaml")))


def test_a_spike_and_serverless_functions_show_in_the_scale(client, library):
    from playground.designs.library import read_library

    vercel = {e.slug: e for e in read_library()}["vercel"].document
    rps = vercel["nodes"][0]["params"]["rps"]
    peak = rps * max(s["multiplier"] for s in vercel["scenario"]["traffic"])
    line = _scale_line(client.get("/templates/", {"company": "Vercel"}).content.decode())
    assert line.startswith(f"{rps:,} rps, peaks at {peak:,} · serverless, up to ")
    assert "instances" not in line


def test_a_template_page_shows_its_scale_under_the_topology(client, library):
    from playground.designs.models import Template
    from playground.designs.scale import scale_of

    html = client.get("/templates/airbnb-after/").content.decode()
    topology = html[html.index('id="topology-h"'):html.index('id="story-h"')]
    assert _scale_line(topology) == " · ".join(scale_of(Template.objects.get(slug="airbnb-after").document).parts())
