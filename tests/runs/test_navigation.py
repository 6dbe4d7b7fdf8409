"""Navigation: My runs in the header, "Compare with..." and the way back to a design on every run
page, compare's design difference, the lessons index and next-lesson link, the 404 and 500 pages."""

from __future__ import annotations

import copy
import json

import pytest
from django.test import Client
from django.urls import path

from playground.designs.models import Design, Template
from playground.runs import compare, stream
from playground.runs.models import Run
from tests.runs.designs import web_fleet

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def cleanup_keys():
    yield
    for run in Run.objects.all():
        stream.delete_keys(run.slug)


@pytest.fixture
def template():
    return Template.objects.create(
        slug="fleet", title="Fleet", summary="A fleet", document_json=json.dumps(web_fleet()),
        variants={"big": {"nodes": {"api": {"params": {"instances": 6}}}}},
    )


def test_the_header_links_my_runs_and_the_lessons(client):
    html = client.get("/templates/").content.decode()
    assert 'href="/runs/"' in html and ">My runs</a>" in html
    assert 'href="/lessons/"' in html
    assert 'href="/runs/" aria-current="page"' in client.get("/runs/").content.decode()


def test_a_run_page_offers_compare_with_your_runs_and_the_other_variants(client, template):
    client.post("/runs/start/", {"template": "fleet", "seed": "4"})
    client.post("/runs/start/", {"template": "fleet", "variant": "big", "seed": "4"})
    base, big = Run.objects.get(variant=""), Run.objects.get(variant="big")
    Run.objects.filter(pk=big.pk).update(status=Run.Status.DONE)
    html = client.get(f"/r/{base.slug}/").content.decode()
    assert "Compare with..." in html
    assert f'<option value="{big.slug}">' in html  # the viewer's own runs
    assert f'href="/compare/?a={base.slug}&amp;b={big.slug}"' in html  # the variant's run on the same seed
    assert 'href="/templates/fleet/edit/"' in html  # the template in the editor
    other = Client()  # someone else: no runs of their own, and the variant's run is offered to start
    html = other.get(f"/r/{big.slug}/").content.decode()
    assert "Compare with..." in html and "Your other runs will be listed here" in html
    assert 'href="/templates/fleet/edit/?variant=big"' in html


def test_a_template_variant_without_a_run_offers_to_run_it_on_the_same_seed(client, template):
    client.post("/runs/start/", {"template": "fleet", "seed": "9"})
    html = client.get(f"/r/{Run.objects.get().slug}/").content.decode()
    assert "Run big on seed 9" in html


def test_a_run_from_a_design_links_back_to_it(client):
    design = Design(title="Mine", document_json=json.dumps(web_fleet()))
    design.save()
    client.post("/runs/start/", {"design": design.slug})
    html = client.get(f"/r/{Run.objects.get().slug}/").content.decode()
    assert f'href="/d/{design.slug}/"' in html and "Open its design" in html


def test_compare_shows_the_design_difference(client):
    a_doc = web_fleet()
    b_doc = copy.deepcopy(a_doc)
    b_doc["nodes"][2]["label"] = "API"
    b_doc["nodes"][2]["params"]["instances"] = 6
    b_doc["nodes"].append({"id": "cache", "kind": "store", "label": "Redis", "params": {"role": "cache"}})
    b_doc["edges"].append({"from": "api", "to": "cache"})
    b_doc["scenario"]["events"] = [{"at_s": 5, "action": "kill_instance", "node": "api"}]
    client.post("/runs/start/", {"design": Design.objects.create(document_json=json.dumps(a_doc)).slug})
    client.post("/runs/start/", {"design": Design.objects.create(document_json=json.dumps(b_doc)).slug})
    a, b = Run.objects.order_by("created_at")
    diff = compare.design_diff(a.document, b.document)
    assert diff["nodes"] == ["added Redis (cache), a store"]
    assert "API (api): instances 3 -> 6" in diff["params"]
    assert "api: label (none) -> API" in diff["params"]
    assert diff["edges"] == ["added the call api -> cache"]
    assert diff["scenario"] == ["added kill_instance of API at 5 s"]
    html = client.get(f"/compare/?a={a.slug}&b={b.slug}").content.decode()
    assert "What B&#x27;s design changes" in html or "What B's design changes" in html
    assert "API (api): instances 3 -&gt; 6" in html and "added Redis (cache), a store" in html
    same = compare.design_diff(a.document, a.document)
    assert compare.diff_count(same) == 0


def test_the_lessons_index_lists_the_lessons_in_order_and_each_links_the_next(client):
    html = client.get("/lessons/").content.decode().split('id="main"')[1]
    first, second, third = (html.index(f'href="{url}"') for url in (
        "/lessons/stateless-services/", "/lessons/retries-timeouts-overload/", "/accuracy/"))
    assert first < second < third
    lesson = client.get("/lessons/stateless-services/").content.decode()
    assert 'href="/lessons/retries-timeouts-overload/" rel="next"' in lesson
    lesson = client.get("/lessons/retries-timeouts-overload/").content.decode()
    assert 'href="/accuracy/" rel="next"' in lesson
    last = client.get("/accuracy/").content.decode()
    assert "That was the last lesson" in last


def _boom(request):
    raise RuntimeError("a view that fails")


urlpatterns = [path("boom/", _boom)]


def test_the_site_404_page_in_its_own_style(client, settings):
    settings.DEBUG = False
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "There is nothing at this address" in html and 'class="site-header"' in html
    assert "URLconf" not in html  # not Django's debug page listing the patterns


@pytest.mark.urls("tests.runs.test_navigation")
def test_the_site_500_page_needs_neither_the_database_nor_the_request(settings, django_db_blocker):
    settings.DEBUG = False
    client = Client(raise_request_exception=False)
    with django_db_blocker.block():
        response = client.get("/boom/")
    assert response.status_code == 500
    html = response.content.decode()
    assert "Something went wrong on our side" in html and 'href="/static/css/site.css"' in html
