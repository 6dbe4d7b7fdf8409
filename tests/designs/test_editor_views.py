"""The editor's pages and endpoints: who may change what, saving with versions, the parameter
panels (each engine problem at its field), import and export, the reference page."""

from __future__ import annotations

import json
import re

import pytest
import yaml
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from playground import jsontext
from playground.designs.models import Design, Template
from playground.engine import params

pytestmark = pytest.mark.django_db

DOC = {
    "title": "Shop",
    "nodes": [
        {"id": "users", "kind": "client"},
        {"id": "api", "kind": "service", "params": {"workers": 8}},
        {"id": "db", "kind": "database"},
    ],
    "edges": [{"from": "users", "to": "api"}, {"from": "api", "to": "db"}],
}


def create(client, doc=DOC, **extra):
    response = client.post("/d/create", json.dumps({"document": doc, **extra}), content_type="application/json")
    assert response.status_code == 201, response.content
    return response.json()


def save(client, slug, doc, version, **extra):
    return client.post(f"/d/{slug}/save", json.dumps({"document": doc, "version": version, **extra}),
                       content_type="application/json")


def panel(client, url, doc=DOC, **fields):
    return client.post(url, {"document": json.dumps(doc), **fields}).content.decode()


def result(html):
    m = re.search(r'<script id="panel-result" type="application/json">(.*?)</script>', html, re.S)
    return json.loads(m.group(1)) if m else None


def error_at(html, field_id):
    m = re.search(rf'<p class="error" id="{field_id}-error">(.*?)</p>', html, re.S)
    return m.group(1) if m else None


def test_the_new_design_page_is_in_the_header_and_saves_nothing_until_the_first_change(client):
    page = client.get("/").content.decode()
    assert 'href="/d/new/"' in page
    assert client.get("/d/new/").status_code == 200
    assert Design.objects.count() == 0


def test_opening_a_template_creates_no_design_and_the_first_change_links_it(client):
    Template.objects.create(slug="shop", title="Shop", summary="s", document_json=jsontext.dumps(DOC))
    assert client.get("/templates/shop/edit/").status_code == 200
    assert Design.objects.count() == 0
    made = create(client, template="shop")
    assert Design.objects.get(slug=made["slug"]).template.slug == "shop"


def test_saving_needs_the_version_it_started_from_and_a_stale_save_gets_theirs_back(client):
    made = create(client)
    slug = made["slug"]
    mine = dict(DOC, title="Mine")
    assert save(client, slug, mine, 1).json()["version"] == 2
    stale = save(client, slug, DOC, 1)
    assert stale.status_code == 409
    assert stale.json()["document"]["title"] == "Mine" and stale.json()["version"] == 2
    forced = save(client, slug, dict(DOC, title="Forced"), 1, force=True)
    assert forced.status_code == 200 and forced.json()["version"] == 3
    assert Design.objects.get(slug=slug).title == "Forced"


def test_the_editor_offers_run_through_the_runs_start_form(client):
    slug = create(client)["slug"]
    page = client.get(f"/d/{slug}/").content.decode()
    form = re.search(r'<form method="post" action="([^"]+)" id="run-form".*?</form>', page, re.S)
    assert form.group(1) == "/runs/start/"
    assert f'name="design" value="{slug}"' in form.group(0)
    assert "data-runs-enabled" in form.group(0) and 'id="run-button"' in form.group(0)


def test_a_draft_saves_with_its_problems_listed(client):
    draft = dict(DOC, nodes=[{"id": "api", "kind": "service", "params": {"workers": 0}}], edges=[])
    made = create(client, draft)
    assert made["problems"] == [{"path": "nodes[0].params.workers",
                                 "message": "api (service): workers must be a whole number of at least 1 and at most "
                                            "10000, not 0",
                                 "detail": "must be >= 1", "node": "api", "edge": None}]


def test_only_the_owner_changes_a_design_and_anyone_with_the_link_views_and_forks_it(client):
    slug = create(client)["slug"]
    stranger = Client()
    page = stranger.get(f"/d/{slug}/").content.decode()
    assert 'id="readonly-banner"' in page
    assert save(stranger, slug, DOC, 1).status_code == 403
    assert stranger.get(f"/d/{slug}/delete").status_code == 403
    assert stranger.post(f"/d/{slug}/delete").status_code == 403
    forked = stranger.post(f"/d/{slug}/fork")
    fork = Design.objects.get(forked_from__slug=slug)
    assert forked.status_code == 302 and forked["Location"] == f"/d/{fork.slug}/"
    assert fork.title == "Shop (fork)" and fork.document["nodes"] == DOC["nodes"]
    assert save(stranger, fork.slug, DOC, 1).status_code == 200
    assert save(client, fork.slug, DOC, 2).status_code == 403


def test_the_owner_deletes_a_design_after_confirming(client):
    slug = create(client)["slug"]
    assert "Delete" in client.get(f"/d/{slug}/delete").content.decode()
    assert client.post(f"/d/{slug}/delete").status_code == 302
    assert not Design.objects.filter(slug=slug).exists()
    assert client.get(f"/d/{slug}/").status_code == 404


def test_signing_up_logs_in_and_claims_the_designs_made_in_this_browser(client):
    slug = create(client)["slug"]
    response = client.post("/signup/", {"username": "carol", "password1": "a-long pass phrase", "password2": "a-long pass phrase"})
    assert response.status_code == 302
    carol = User.objects.get(username="carol")
    assert Design.objects.get(slug=slug).owner == carol
    assert "Shop" in client.get("/designs/").content.decode()
    assert save(client, slug, DOC, 1).status_code == 200


def test_logging_in_claims_the_browsers_designs_and_my_designs_lists_only_mine(client):
    User.objects.create_user("dave", password="a-long pass phrase")
    slug = create(client)["slug"]
    Design.objects.create(owner_token="someone-else", document_json=jsontext.dumps(dict(DOC, title="Theirs")), title="Theirs")
    assert client.post("/login/", {"username": "dave", "password": "a-long pass phrase"}).status_code == 302
    assert Design.objects.get(slug=slug).owner.username == "dave"
    page = client.get("/designs/").content.decode()
    assert "Shop" in page and "Theirs" not in page


def test_anonymous_users_are_told_their_work_lives_in_this_browser(client):
    slug = create(client)["slug"]
    assert "lives in this browser" in client.get(f"/d/{slug}/").content.decode()
    assert "live in this browser" in client.get("/designs/").content.decode()


def test_titles_and_labels_are_escaped_in_pages(client):
    evil = dict(DOC, title="<script>alert(1)</script>")
    slug = create(client, evil)["slug"]
    page = client.get(f"/d/{slug}/").content.decode()
    assert "<script>alert(1)</script>" not in page
    labelled = dict(DOC, nodes=[{"id": "api", "kind": "service", "label": "<img src=x onerror=alert(1)>"}], edges=[])
    html = panel(client, "/editor/panel/node", labelled, node="api")
    assert "<img src=x" not in html


def test_the_node_panel_shows_every_parameter_with_unit_range_and_help(client):
    html = panel(client, "/editor/panel/node", node="api")
    for p in params.node_params("service"):
        assert f'name="p.{p.name}' in html
    assert "Range 1 – 10000." in html  # workers
    assert "Requests one instance serves at once." in html
    assert 'value="8"' in html


def test_setting_workers_to_zero_puts_the_engines_error_at_the_field(client):
    html = panel(client, "/editor/panel/node", node="api", apply="1", id="api", **{"p.workers": "0", "p.replace": "1"})
    assert error_at(html, "f-p-workers") == "must be &gt;= 1"
    assert result(html) == {"node": "api", "value": {"id": "api", "kind": "service", "params": {"workers": 0}}}
    text = panel(client, "/editor/panel/node", node="api", apply="1", id="api", **{"p.workers": "many", "p.replace": "1"})
    assert "must be" in error_at(text, "f-p-workers")
    assert result(text)["value"]["params"]["workers"] == "many"


def test_an_emptied_field_keeps_its_value_and_untouched_defaults_stay_unwritten(client):
    html = panel(client, "/editor/panel/node", node="api", apply="1", id="api",
                 **{"p.workers": "", "p.instances": "2", "p.replace": "1", "p.state": "none"})
    # Emptied workers (8) is an edit in progress, not a value: it stays 8, not the default.
    assert result(html)["value"] == {"id": "api", "kind": "service", "params": {"workers": 8}}
    assert 'value="8"' in html and "data-required" in html
    # A parameter the document does not set stays unset when its field is emptied.
    html = panel(client, "/editor/panel/node", node="api", apply="1", id="api",
                 **{"p.workers": "8", "p.instances": "", "p.replace": "1", "p.state": "none"})
    assert result(html)["value"]["params"] == {"workers": 8}


def test_an_emptied_distribution_or_event_field_keeps_its_value_and_an_optional_one_is_unset(client):
    doc = dict(DOC, nodes=[DOC["nodes"][0], {"id": "api", "kind": "service", "params": {
        "workers": 8, "service_ms": {"dist": "lognormal", "mean": 12, "cv": 0.5}}},
        DOC["nodes"][2]], edges=[DOC["edges"][0], {"from": "api", "to": "db", "timeout_ms": 900}], scenario={"events": [{"at_s": 5, "action": "outage", "node": "db", "duration_s": 10}]})
    html = panel(client, "/editor/panel/node", doc, node="api", apply="1", id="api", **{
        "p.workers": "8", "p.service_ms.dist": "lognormal", "p.service_ms.mean": " ", "p.service_ms.cv": "0.7",
        "p.replace": "1"})
    assert result(html)["value"]["params"]["service_ms"] == {"dist": "lognormal", "mean": 12, "cv": 0.7}
    html = panel(client, "/editor/panel/edge", doc, edge="1", apply="1", **{"p.timeout_ms": "", "p.calls": ""})
    assert result(html)["value"] == {"from": "api", "to": "db"}  # optional, none by default: emptied is none
    html = panel(client, "/editor/panel/scenario", doc, apply="1", **{
        "e.0.at_s": "", "e.0.action": "outage", "e.0.node": "db", "e.0.duration_s": ""})
    assert result(html)["scenario"]["events"] == [{"at_s": 5, "action": "outage", "node": "db", "duration_s": 10}]


def test_distributions_objects_and_nulls_are_read_from_the_form(client):
    html = panel(client, "/editor/panel/node", node="api", apply="1", id="api", **{
        "p.workers": "8", "p.service_ms.dist": "lognormal", "p.service_ms.mean": "12", "p.service_ms.cv": "0.5",
        "p.queue.null": "1", "p.autoscale.on": "1", "p.autoscale.min": "2", "p.autoscale.max": "6",
        "p.autoscale.target_utilization": "0.6", "p.replace": "1"})
    assert result(html)["value"]["params"] == {
        "workers": 8, "service_ms": {"dist": "lognormal", "mean": 12, "cv": 0.5}, "queue": None,
        "autoscale": {"min": 2, "max": 6, "target_utilization": 0.6}}
    assert 'class="error"' not in html


def test_renaming_a_node_renames_it_in_edges_and_refuses_a_taken_or_bad_id(client):
    html = panel(client, "/editor/panel/node", node="api", apply="1", id="backend", **{"p.workers": "8", "p.replace": "1"})
    assert result(html)["value"]["id"] == "backend"
    assert "→ db" in html
    taken = panel(client, "/editor/panel/node", node="api", apply="1", id="db", **{"p.workers": "8", "p.replace": "1"})
    assert "already called" in error_at(taken, "f-id") and result(taken)["value"]["id"] == "api"
    bad = panel(client, "/editor/panel/node", node="api", apply="1", id="Bad Id", **{"p.workers": "8", "p.replace": "1"})
    assert "lowercase" in error_at(bad, "f-id")


def test_the_node_panel_lists_calls_in_order_with_their_problems(client):
    doc = dict(DOC, edges=DOC["edges"] + [{"from": "api", "to": "users"}])
    html = panel(client, "/editor/panel/node", doc, node="api")
    assert html.index("→ db") < html.index("→ users")
    assert "nothing may call a client" in html


def test_the_edge_panel_edits_a_call(client):
    html = panel(client, "/editor/panel/edge", edge="1", apply="1", **{"p.calls": "0.3", "p.mode": "sync", "p.retries": "11"})
    assert result(html) == {"edge": 1, "value": {"from": "api", "to": "db", "calls": 0.3, "retries": 11}}
    assert error_at(html, "f-p-retries") == "must be &lt;= 10"


def test_the_scenario_panel_adds_and_removes_traffic_steps_and_events(client):
    html = panel(client, "/editor/panel/scenario", apply="1", op="add-event", **{"s.duration_s": "120"})
    scenario = result(html)["scenario"]
    assert scenario["duration_s"] == 120
    assert scenario["events"] == [{"at_s": 60, "action": "kill_instance", "node": "api"}]
    doc = dict(DOC, scenario=scenario)
    html = panel(client, "/editor/panel/scenario", doc, apply="1", op="add-traffic", **{
        "s.duration_s": "120", "e.0.at_s": "500", "e.0.action": "kill_instance", "e.0.node": "api"})
    scenario = result(html)["scenario"]
    assert scenario["traffic"] == [{"at_s": 60, "multiplier": 2}]
    assert "120" in error_at(html, "f-e-0-at_s")
    html = panel(client, "/editor/panel/scenario", dict(DOC, scenario=scenario), apply="1", op="del-event-0",
                 **{"s.duration_s": "120", "t.0.at_s": "60", "t.0.multiplier": "3"})
    assert result(html)["scenario"]["events"] == []
    assert result(html)["scenario"]["traffic"] == [{"at_s": 60, "multiplier": 3}]


def test_changing_an_events_action_drops_the_old_actions_fields(client):
    doc = dict(DOC, scenario={"events": [{"at_s": 5, "action": "kill_instance", "node": "api", "count": 2}]})
    html = panel(client, "/editor/panel/scenario", doc, apply="1",
                 **{"e.0.at_s": "5", "e.0.action": "outage", "e.0.node": "db", "e.0.count": "2"})
    assert result(html)["scenario"]["events"] == [{"at_s": 5, "action": "outage", "node": "db"}]
    assert "duration_s" in html  # the outage's own field, now required


def test_a_panel_refuses_a_document_it_cannot_read(client):
    response = client.post("/editor/panel/node", {"document": "{nope", "node": "api"})
    assert response.status_code == 400


def test_validate_lists_problems_with_the_node_they_sit_on(client):
    doc = dict(DOC, nodes=[DOC["nodes"][0], {"id": "api", "kind": "service", "params": {"workers": 0}}, DOC["nodes"][2]])
    response = client.post("/editor/validate", json.dumps({"document": doc}), content_type="application/json")
    assert response.json()["problems"][0]["node"] == "api"
    bad = client.post("/editor/validate", "[" * 3000, content_type="application/json")
    assert bad.status_code == 400
    assert response.json()["estimate"] is None  # not while the document has problems


def test_validate_gives_the_work_estimate_against_the_sites_limit(client, settings):
    settings.RUN_MAX_WORK = 12_345
    response = client.post("/editor/validate", json.dumps({"document": DOC}), content_type="application/json")
    # 100 rps for 60 s (the defaults); each request visits users, api and db.
    assert response.json()["estimate"] == {"requests": 6000, "calls": 18000, "calls_per_request": 3.0,
                                           "limit": 12_345}
    # Over the site's limit: a problem (a run would be refused), and the estimate says by how much.
    assert [p["path"] for p in response.json()["problems"]] == ["scenario"]
    assert "at most 12,345 calls per run" in response.json()["problems"][0]["message"]
    settings.RUN_MAX_WORK = 100_000
    assert client.post("/editor/validate", json.dumps({"document": DOC}),
                       content_type="application/json").json()["problems"] == []


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_export_then_import_gives_the_same_document(client, fmt):
    doc = dict(DOC, title="Café: yes/no", nodes=DOC["nodes"] + [{"id": "cache", "kind": "store", "label": "on"}])
    exported = client.post("/editor/export", {"document": json.dumps(doc), "format": fmt})
    assert exported["Content-Disposition"] == f'attachment; filename="caf-yes-no.{fmt}"'
    upload = SimpleUploadedFile(f"design.{fmt}", exported.content)
    imported = client.post("/editor/import", {"file": upload})
    assert imported.status_code == 200
    assert imported.json()["document"] == doc
    if fmt == "yaml":
        assert yaml.safe_load(exported.content)["nodes"][3]["label"] == "on"


def test_a_file_with_problems_imports_as_a_draft_listing_them(client):
    content = b'{"nodes": [{"id": "api", "kind": "service", "params": {"workers": 0}}]}'
    response = client.post("/editor/import", {"file": SimpleUploadedFile("design.json", content)})
    assert response.status_code == 200
    data = response.json()
    assert data["document"]["nodes"][0]["params"] == {"workers": 0}
    assert data["problems"][0]["path"] == "nodes[0].params.workers" and data["problems"][0]["node"] == "api"
    # What cannot be read at all is still refused, naming why.
    for content, problem in [(b"[1, 2]", "object"), (b"{nodes: [", "")]:
        response = client.post("/editor/import", {"file": SimpleUploadedFile("design.yaml", content)})
        assert response.status_code == 400 and response.json()["problems"], content
        assert problem in json.dumps(response.json())
    clean = client.post("/editor/import", {"file": SimpleUploadedFile("design.json", json.dumps(DOC).encode())})
    assert clean.status_code == 200 and clean.json()["problems"] == []


@pytest.mark.parametrize(
    ("content", "status", "path"),
    [
        (b"nodes: [", 400, "(document)"),
        (b"nodes: &a [*a]", 400, ""),
        (b'{"nodes": [{"id": "x", "kind": "service"}, {"id": "x", "kind": "service"}]}', 400, "nodes[1].id"),
    ],
)
def test_import_refuses_bad_files_naming_each_problem(client, content, status, path):
    response = client.post("/editor/import", {"file": SimpleUploadedFile("design.yaml", content)})
    assert response.status_code == status
    problems = response.json()["problems"]
    assert problems and problems[0]["path"].startswith(path)


def test_the_reference_page_lists_every_kind_and_parameter(client):
    page = client.get("/reference/").content.decode()
    spec = params.spec()
    for kind, rows in spec["nodes"].items():
        assert f'id="kind-{kind}"' in page
        for row in rows:
            assert f'id="{kind}-{row["name"]}"' in page
    for action in spec["actions"]:
        assert f'id="action-{action}"' in page
    assert "Range 1 – 10000" not in page and "1 – 10000" in page


def test_the_account_page_makes_a_token_shows_it_once_and_revokes_it(client):
    user = User.objects.create_user("erin", password="a-long pass phrase")
    client.force_login(user)
    page = client.post("/account/", {"name": "laptop"}).content.decode()
    token = re.search(r'id="new-token">(sdp_[^<]+)<', page).group(1)
    assert token not in client.get("/account/").content.decode()
    row = user.api_tokens.get()
    assert client.get("/api/designs", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
    client.post("/account/tokens/revoke", {"token": row.pk})
    assert client.get("/api/designs", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 401


def test_the_account_page_needs_a_login(client):
    assert client.get("/account/")["Location"].startswith("/login/")


def test_a_templates_variant_opens_in_the_editor_and_forks_with_its_patch(client):
    Template.objects.create(slug="shop", title="Shop", summary="s", document_json=jsontext.dumps(DOC),
                            variants={"big": {"nodes": {"api": {"params": {"workers": 64}}}}},
                            variant_notes={"big": {"title": "More workers", "about": "x"}})
    page = client.get("/templates/shop/edit/?variant=big").content.decode()
    boot = json.loads(re.search(r'<script id="editor-boot" type="application/json">(.*?)</script>', page, re.S).group(1))
    assert boot["document"]["nodes"][1]["params"] == {"workers": 64}
    assert boot["document"]["title"] == "Shop: More workers"
    assert client.get("/templates/shop/edit/?variant=nope").status_code == 404
    forked = client.post("/templates/shop/fork", {"variant": "big"})
    design = Design.objects.get()
    assert forked["Location"] == f"/d/{design.slug}/"
    assert design.document["nodes"][1]["params"] == {"workers": 64} and design.template.slug == "shop"
