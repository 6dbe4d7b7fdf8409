"""The topology editor in headless Chromium, against a real Daphne on the test database."""

from __future__ import annotations

import json
from urllib.parse import parse_qs

import pytest

from playground import jsontext
from playground.designs.models import Design, Template
from playground.runs.models import Run

pytestmark = [pytest.mark.browser, pytest.mark.processes, pytest.mark.django_db(transaction=True)]

TINY = {
    "schema_version": 1,
    "title": "Tiny shop",
    "nodes": [
        {"id": "users", "kind": "client", "params": {"rps": 50}},
        {"id": "api", "kind": "service", "label": "Shop API <b>&</b>"},
    ],
    "edges": [{"from": "users", "to": "api"}],
    "scenario": {"duration_s": 30},
}


def open_editor(page, url):
    page.goto(url)
    page.wait_for_selector("#editor[data-ready=true]")


def wait_saved(page):
    try:
        page.wait_for_selector("#save-state[data-state=saved]", timeout=10000)
    except Exception:
        raise AssertionError("not saved: " + page.locator("#save-state").inner_text()) from None


def editor_doc(page):
    return page.evaluate("document.getElementById('editor').editor.document()")


def click_node(page, node_id, shift=False):
    box = page.locator("#canvas").bounding_box()
    pos = page.evaluate(f"document.getElementById('editor').editor.nodePosition({json.dumps(node_id)})")
    if shift:
        page.keyboard.down("Shift")
    page.mouse.click(box["x"] + pos["x"], box["y"] + pos["y"])
    if shift:
        page.keyboard.up("Shift")


def enter(page, selector, value):
    """Type ``value`` into a field and leave it (its change is sent)."""
    page.fill(selector, value)
    page.press(selector, "Tab")


def select_in_outline(page, node_id):
    page.click(f".outline-item[data-node='{node_id}']")
    page.wait_for_selector(f"#inspector form[data-panel=node] input[name=node][value='{node_id}']", state="attached")


def make_template():
    return Template.objects.create(slug="tiny", title="Tiny shop", summary="A client and a service.",
                                   document_json=jsontext.dumps(TINY))


def test_fork_a_template_add_and_connect_a_service_fix_its_workers_and_find_it_saved(page, daphne_server):
    make_template()
    open_editor(page, daphne_server + "/templates/tiny/edit/")
    assert Design.objects.count() == 0  # opening a template creates nothing

    page.click(".palette-item[data-kind=service]")
    page.wait_for_url("**/d/*/")
    select_in_outline(page, "api")
    page.click("#connect-button")
    click_node(page, "api-2")
    page.wait_for_function("() => document.getElementById('editor').editor.document().edges.length === 2")
    assert editor_doc(page)["edges"][1] == {"from": "api", "to": "api-2"}

    select_in_outline(page, "api-2")
    enter(page, "#f-p-workers", "0")
    error = page.locator("#f-p-workers-error")
    error.wait_for()
    assert "must be >= 1" in error.inner_text()
    assert page.locator("#f-p-workers").get_attribute("aria-invalid") == "true"
    page.wait_for_selector("#problems >> text=nodes[2].params.workers")
    assert page.locator("#run-button").get_attribute("data-valid") == "false"

    enter(page, "#f-p-workers", "4")
    page.wait_for_selector("#f-p-workers-error", state="detached")
    page.wait_for_selector("#problems li.ok")
    assert page.locator("#run-button").get_attribute("data-valid") == "true"
    page.wait_for_selector("#work-estimate:not([hidden])")
    assert "calls at worst" in page.locator("#work-estimate").inner_text()
    wait_saved(page)

    page.reload()
    page.wait_for_selector("#editor[data-ready=true]")
    doc = editor_doc(page)
    assert [n["id"] for n in doc["nodes"]] == ["users", "api", "api-2"]
    assert doc["nodes"][2]["params"] == {"workers": 4}
    assert doc["edges"] == [{"from": "users", "to": "api"}, {"from": "api", "to": "api-2"}]
    select_in_outline(page, "api-2")
    assert page.input_value("#f-p-workers") == "4"
    design = Design.objects.get()
    assert design.template.slug == "tiny"
    assert design.document["nodes"][2]["params"] == {"workers": 4}
    # The label is text, never markup.
    assert page.locator(".outline-item[data-node=api] .name").inner_text() == "Shop API <b>&</b>"
    assert page.console_log.errors == []


def test_undo_brings_back_a_deleted_node_and_redo_deletes_it_again(page, daphne_server):
    # Delete from the keyboard after clicking the node; undo by button, then by keyboard.
    open_editor(page, daphne_server + "/d/new/")
    page.click(".palette-item[data-kind=client]")
    page.click(".palette-item[data-kind=service]")
    page.wait_for_url("**/d/*/")
    page.click(".palette-item[data-kind=database]")
    click_node(page, "api")
    page.wait_for_selector("#inspector input[name=node][value=api]", state="attached")
    page.keyboard.press("Delete")
    page.wait_for_selector(".outline-item[data-node=api]", state="detached")
    page.click("#undo")
    page.wait_for_selector(".outline-item[data-node=api]")
    assert [n["id"] for n in editor_doc(page)["nodes"]] == ["users", "api", "db"]
    page.locator("#canvas").focus()
    page.keyboard.press("Control+Shift+Z")
    page.wait_for_selector(".outline-item[data-node=api]", state="detached")
    page.keyboard.press("Control+Z")
    page.wait_for_selector(".outline-item[data-node=api]")
    page.fill("#design-title", "Renamed </title>")
    page.press("#design-title", "Enter")
    wait_saved(page)
    slug = page.url.rstrip("/").rsplit("/", 1)[-1]
    design = Design.objects.get(slug=slug)
    assert [n["id"] for n in design.document["nodes"]] == ["users", "api", "db"]
    assert design.title == "Renamed </title>" and page.title().startswith("Renamed </title>")
    assert page.console_log.errors == []


def test_another_browser_can_view_and_fork_a_design_but_not_change_it(browser, page, daphne_server):
    open_editor(page, daphne_server + "/d/new/")
    page.click(".palette-item[data-kind=client]")
    page.wait_for_url("**/d/*/")
    wait_saved(page)
    url = page.url
    slug = url.rstrip("/").rsplit("/", 1)[-1]

    other = browser.new_context()
    try:
        guest = other.new_page()
        open_editor(guest, url)
        assert guest.locator("#readonly-banner").is_visible()
        assert guest.locator(".palette-item[data-kind=service]").is_disabled()
        assert [n["id"] for n in editor_doc(guest)["nodes"]] == ["users"]
        select_in_outline(guest, "users")
        assert guest.locator("#f-p-rps").is_disabled()
        status = guest.evaluate(
            """async () => {
                const token = JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRFToken'];
                const doc = document.getElementById('editor').editor.document();
                doc.nodes = [];
                const r = await fetch(location.pathname + 'save', {method: 'POST', headers: {'X-CSRFToken': token,
                    'Content-Type': 'application/json'}, body: JSON.stringify({document: doc, version: 1})});
                return r.status;
            }"""
        )
        assert status == 403
        guest.click("#fork-button")
        guest.wait_for_function(f"() => !location.pathname.includes({json.dumps(slug)})")
        guest.wait_for_selector("#editor[data-ready=true]")
        assert guest.locator("#readonly-banner").count() == 0
        assert not guest.locator(".palette-item[data-kind=service]").is_disabled()
        fork = Design.objects.get(forked_from__slug=slug)
        assert [n["id"] for n in fork.document["nodes"]] == ["users"]
        assert [n["id"] for n in Design.objects.get(slug=slug).document["nodes"]] == ["users"]
    finally:
        other.close()


def test_two_tabs_editing_one_design_lose_nothing(page, daphne_server):
    open_editor(page, daphne_server + "/d/new/")
    page.click(".palette-item[data-kind=client]")
    page.wait_for_url("**/d/*/")
    wait_saved(page)
    url = page.url
    slug = url.rstrip("/").rsplit("/", 1)[-1]
    second = page.context.new_page()
    open_editor(second, url)

    page.click(".palette-item[data-kind=service]")
    wait_saved(page)
    second.click(".palette-item[data-kind=database]")
    second.wait_for_selector("#conflict-banner:not([hidden])")
    assert second.locator("#save-state").get_attribute("data-state") == "conflict"
    # The losing tab keeps its document in this browser, even across a reload.
    second.reload()
    second.wait_for_selector("#editor[data-ready=true]")
    second.wait_for_selector("#conflict-banner:not([hidden])")
    assert [n["id"] for n in editor_doc(second)["nodes"]] == ["users", "db"]

    second.click("#conflict-fork")
    second.wait_for_function(f"() => !location.pathname.includes({json.dumps(slug)})")
    second.wait_for_selector("#editor[data-ready=true]")
    original = Design.objects.get(slug=slug)
    fork = Design.objects.get(forked_from=original)
    assert [n["id"] for n in original.document["nodes"]] == ["users", "api"]
    assert [n["id"] for n in fork.document["nodes"]] == ["users", "db"]
    assert page.console_log.errors == []


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_export_then_import_gives_the_same_document(page, daphne_server, tmp_path, fmt):
    make_template()
    open_editor(page, daphne_server + "/templates/tiny/edit/")
    before = editor_doc(page)
    with page.expect_download() as download_info:
        page.click(f"#export-{fmt}")
    path = tmp_path / download_info.value.suggested_filename
    download_info.value.save_as(path)
    assert path.name == f"tiny-shop.{fmt}"

    open_editor(page, daphne_server + "/d/new/")
    page.set_input_files("#import-file", str(path))
    page.wait_for_url("**/d/*/")
    wait_saved(page)
    assert editor_doc(page) == before
    slug = page.url.rstrip("/").rsplit("/", 1)[-1]
    assert Design.objects.get(slug=slug).document == before


def test_a_file_with_problems_imports_as_a_draft_with_its_problems_listed(page, daphne_server, tmp_path):
    unreadable = tmp_path / "list.yaml"
    unreadable.write_text("- just\n- a list\n")
    open_editor(page, daphne_server + "/d/new/")
    page.set_input_files("#import-file", str(unreadable))
    page.wait_for_selector("#import-problems:not([hidden])")
    assert page.locator("#import-problems-title").inner_text().startswith("Not imported")
    assert editor_doc(page)["nodes"] == []

    path = tmp_path / "bad.yaml"
    path.write_text("nodes:\n  - id: api\n    kind: service\n    params: {workers: 0}\n")
    page.set_input_files("#import-file", str(path))
    page.wait_for_function("() => document.getElementById('editor').editor.document().nodes.length === 1")
    assert "draft" in page.locator("#import-problems-title").inner_text()
    assert "nodes[0].params.workers" in page.locator("#import-problems-list").inner_text()
    assert editor_doc(page)["nodes"] == [{"id": "api", "kind": "service", "params": {"workers": 0}}]
    page.wait_for_function("() => document.getElementById('problems').textContent.includes('workers')")
    assert page.locator("#run-button").get_attribute("data-valid") == "false"
    page.wait_for_url("**/d/*/")
    wait_saved(page)  # a draft saves, problems and all
    slug = page.url.rstrip("/").rsplit("/", 1)[-1]
    assert Design.objects.get(slug=slug).document["nodes"][0]["params"] == {"workers": 0}


def test_connecting_two_nodes_again_selects_their_call_instead_of_adding_one(page, daphne_server):
    make_template()
    open_editor(page, daphne_server + "/templates/tiny/edit/")
    select_in_outline(page, "users")
    page.click("#connect-button")
    click_node(page, "api")
    page.wait_for_selector("#inspector form[data-panel=edge] input[name=edge][value='0']", state="attached")
    assert page.locator("#canvas-hint").inner_text() == "users already calls Shop API <b>&</b>: edit that call instead."
    assert len(editor_doc(page)["edges"]) == 1
    # The same from the node panel's "Add a call to".
    select_in_outline(page, "users")
    page.select_option("#add-call-target", "api")
    page.click("[data-action=add-call]")
    page.wait_for_selector("#inspector form[data-panel=edge] input[name=edge][value='0']", state="attached")
    assert "already calls" in page.locator("#canvas-hint").inner_text()
    # The other way round is another call.
    select_in_outline(page, "api")
    page.click("#connect-button")
    click_node(page, "users")
    page.wait_for_function("() => document.getElementById('editor').editor.document().edges.length === 2")
    assert editor_doc(page)["edges"] == [{"from": "users", "to": "api"}, {"from": "api", "to": "users"}]
    assert page.console_log.errors == []


def test_an_emptied_field_keeps_its_value_until_a_new_one_is_typed(page, daphne_server):
    make_template()
    open_editor(page, daphne_server + "/templates/tiny/edit/")
    select_in_outline(page, "users")
    assert page.input_value("#f-p-rps") == "50"
    page.fill("#f-p-rps", "")
    note = page.locator("#inspector .pending-required")
    note.wait_for()
    assert note.inner_text() == "required: type a value (it stays 50 until then)"
    page.press("#f-p-rps", "Tab")
    settled(page)
    assert panels(page)["sent"] == 1  # the load only: the empty field was not sent
    assert editor_doc(page)["nodes"][0]["params"] == {"rps": 50}
    assert page.input_value("#f-p-rps") == ""
    page.fill("#f-p-rps", "80")
    assert note.count() == 0
    page.press("#f-p-rps", "Tab")
    page.wait_for_function("() => document.getElementById('editor').editor.document().nodes[0].params.rps === 80")
    settled(page)
    assert page.input_value("#f-p-rps") == "80"
    assert page.console_log.errors == []


def test_run_from_the_editor_uses_the_scenarios_seed_unless_asked_for_a_new_one(page, daphne_server):
    Template.objects.create(slug="seeded", title="Seeded", summary="s",
                            document_json=jsontext.dumps(dict(TINY, scenario={"duration_s": 30, "seed": 7})))
    make_template()
    open_editor(page, daphne_server + "/templates/tiny/edit/")
    assert page.input_value("#run-seed") == "fresh"  # the scenario sets no seed

    open_editor(page, daphne_server + "/templates/seeded/edit/")
    assert page.input_value("#run-pace") == "batch-1"
    assert page.input_value("#run-seed") == "scenario"
    assert page.locator("#run-seed option[value=scenario]").inner_text() == "seed: from the scenario (7)"
    page.wait_for_selector("#run-button:not([disabled])")
    page.click("#run-button")
    page.wait_for_url("**/r/*/")
    run = Run.objects.get()
    assert (run.seed, run.mode) == (7, "batch")

    open_editor(page, daphne_server + "/templates/seeded/edit/")
    page.select_option("#run-seed", "fresh")
    page.wait_for_selector("#run-button:not([disabled])")
    page.click("#run-button")
    page.wait_for_url(lambda url: "/r/" in url and run.slug not in url)
    fresh = Run.objects.exclude(pk=run.pk).get()
    assert fresh.seed != 7
    assert page.console_log.errors == []


def test_template_pages_and_the_editor_start_in_batch_mode(page, daphne_server):
    make_template()
    page.goto(daphne_server + "/templates/tiny/")
    modes = page.locator("form.run-form select[name=mode]")
    assert modes.count() >= 1
    assert {modes.nth(i).input_value() for i in range(modes.count())} == {"batch"}
    open_editor(page, daphne_server + "/templates/tiny/edit/")
    assert page.input_value("#run-pace") == "batch-1"
    assert page.locator("#run-form input[name=mode]").input_value() == "batch"


def test_a_reversed_call_is_drawn_apart_from_its_twin(page, daphne_server):
    doc = {"title": "Twins", "nodes": [{"id": "users", "kind": "client"}, {"id": "api", "kind": "service"},
                                       {"id": "db", "kind": "database"}],
           "edges": [{"from": "users", "to": "api"}, {"from": "api", "to": "db"}, {"from": "db", "to": "api"}]}
    Template.objects.create(slug="twins", title="Twins", summary="s", document_json=jsontext.dumps(doc))
    open_editor(page, daphne_server + "/templates/twins/edit/")
    there, back = (page.evaluate(f"document.getElementById('editor').editor.edgeMidpoint({i})") for i in (1, 2))
    assert abs(there["x"] - back["x"]) + abs(there["y"] - back["y"]) > 40, (there, back)


def test_editor_and_reference_load_their_modules_without_console_errors(page, daphne_server):
    open_editor(page, daphne_server + "/d/new/")
    page.wait_for_load_state("networkidle")
    assert page.evaluate("typeof document.getElementById('editor').editor.document") == "function"
    page.click("#tab-scenario")
    page.wait_for_selector("#inspector form[data-panel=scenario]")
    page.goto(daphne_server + "/reference/")
    assert page.locator("#kind-service").is_visible()
    assert page.console_log.errors == []


def test_an_idle_tab_takes_up_the_other_tabs_save_when_it_is_focused(page, daphne_server):
    open_editor(page, daphne_server + "/d/new/")
    page.click(".palette-item[data-kind=client]")
    page.wait_for_url("**/d/*/")
    wait_saved(page)
    second = page.context.new_page()
    open_editor(second, page.url)
    page.click(".palette-item[data-kind=service]")
    wait_saved(page)
    # Headless Chromium sends no focus events between tabs; send the one a person's click would.
    second.evaluate("window.dispatchEvent(new Event('focus'))")
    second.wait_for_selector(".outline-item[data-node=api]")
    second.click(".palette-item[data-kind=database]")
    wait_saved(second)
    slug = page.url.rstrip("/").rsplit("/", 1)[-1]
    assert [n["id"] for n in Design.objects.get(slug=slug).document["nodes"]] == ["users", "api", "db"]


def test_calls_are_reordered_in_the_panel_and_events_added_in_the_scenario(page, daphne_server):
    doc = {"title": "Order", "nodes": [{"id": "users", "kind": "client"}, {"id": "api", "kind": "service"},
                                       {"id": "redis", "kind": "store"}, {"id": "db", "kind": "database"}],
           "edges": [{"from": "users", "to": "api"}, {"from": "api", "to": "redis"}, {"from": "api", "to": "db"}]}
    Template.objects.create(slug="order", title="Order", summary="s", document_json=jsontext.dumps(doc))
    open_editor(page, daphne_server + "/templates/order/edit/")
    select_in_outline(page, "api")
    page.click("button[aria-label='Move the call to db up']")
    page.wait_for_url("**/d/*/")
    assert editor_doc(page)["edges"][1:] == [{"from": "api", "to": "db"}, {"from": "api", "to": "redis"}]
    calls = page.locator(".call-list li button.linklike")
    calls.first.wait_for()
    assert calls.all_inner_texts() == ["→ db", "→ redis"]

    page.click("#tab-scenario")
    page.click("button[value=add-event]")
    page.wait_for_function("() => (document.getElementById('editor').editor.document().scenario || {}).events?.length === 1")
    settled(page)
    assert editor_doc(page)["scenario"]["events"] == [{"at_s": 30, "action": "kill_instance", "node": "api"}]
    page.select_option("#e-0-action", "outage")
    settled(page)  # the post that carries the choice, answered and shown
    assert page.input_value("#e-0-action") == "outage"
    page.locator("#f-e-0-duration_s").wait_for()  # the outage's own field, with its error until set
    assert "required" in page.locator("#f-e-0-duration_s-error").inner_text()
    enter(page, "#f-e-0-duration_s", "10")
    page.wait_for_selector("#problems li.ok")
    wait_saved(page)
    slug = page.url.rstrip("/").rsplit("/", 1)[-1]
    assert Design.objects.get(slug=slug).document["scenario"]["events"] == [
        {"at_s": 30, "action": "outage", "node": "api", "duration_s": 10}]
    assert page.console_log.errors == []


def test_the_document_model_keeps_call_order_and_renames_everywhere(page, daphne_server):
    page.goto(daphne_server + "/reference/")
    out = page.evaluate(
        """async () => {
            const m = await import('/static/js/editor/model.js');
            const doc = m.normalize({nodes: [], scenario: {events: []}});
            const a = m.addNode(doc, 'service', {x: 1.4, y: 2.6});
            const b = m.addNode(doc, 'service');
            const c = m.addNode(doc, 'database');
            m.addEdge(doc, a, b); m.addEdge(doc, b, c); m.addEdge(doc, a, c);
            const selfLoop = m.addEdge(doc, a, a);
            const moved = m.moveEdge(doc, 2, -1);
            const order = doc.edges.map(e => e.from + '>' + e.to);
            doc.scenario.events.push({at_s: 1, action: 'outage', node: c, duration_s: 1});
            m.replaceNode(doc, c, {id: 'store', kind: 'database'});
            const renamed = JSON.parse(JSON.stringify(doc));
            m.removeNode(doc, 'store');
            return {ids: [a, b, c], selfLoop, moved, order, renamed, left: doc};
        }"""
    )
    assert out["ids"] == ["api", "api-2", "db"]
    assert out["selfLoop"] == -1
    assert out["moved"] == 0
    assert out["order"] == ["api>db", "api-2>db", "api>api-2"]
    assert out["renamed"]["edges"][0] == {"from": "api", "to": "store"}
    assert out["renamed"]["scenario"]["events"][0]["node"] == "store"
    assert out["renamed"]["layout"] == {"api": {"x": 1, "y": 3}}
    assert out["left"]["edges"] == [{"from": "api", "to": "api-2"}]
    assert out["left"]["scenario"]["events"] == []


LATE = {"title": "Late", "nodes": [{"id": "users", "kind": "client"}, {"id": "api", "kind": "service"}],
        "edges": [{"from": "users", "to": "api"}],
        "scenario": {"duration_s": 60, "events": [{"at_s": 30, "action": "kill_instance", "node": "api"}]}}


def hold_first(page, pattern, wanted):
    """Hold back the first request to ``pattern`` whose form fields satisfy ``wanted``; the list
    it returns gets the held route, to ``continue_()`` when the test says."""
    held = []

    def handle(route):
        if not held and wanted(parse_qs(route.request.post_data or "")):
            held.append(route)
        else:
            route.continue_()

    page.route(pattern, handle)
    return held


def hold_first_panel_request(page, applying):
    """Hold back the first scenario panel request that applies the form (``applying``) or only loads it."""
    return hold_first(page, "**/editor/panel/scenario", lambda form: ("apply" in form) == applying)


def settled(page):
    """Wait until the panel ordering protocol has nothing in flight or waiting."""
    page.wait_for_function("() => document.getElementById('inspector').dataset.pending === '0'")


def release(page, held):
    """Let the held request through and return once the page has dealt with its answer (and with
    whatever waited for it)."""
    held[0].continue_()
    settled(page)


def panels(page):
    return page.evaluate("document.getElementById('editor').editor.panels()")


def wait_held(page, held):
    for _ in range(500):
        if held:
            return
        page.wait_for_timeout(10)
    raise AssertionError("the panel request to hold was never sent")


def open_late_scenario(page, daphne_server):
    Template.objects.create(slug="late", title="Late", summary="s", document_json=jsontext.dumps(LATE))
    open_editor(page, daphne_server + "/templates/late/edit/")
    page.click("#tab-scenario")
    page.wait_for_selector("#e-0-action")


def late_scenario_with_a_post_held(page, daphne_server):
    """The scenario panel open, its duration changed to 90 and that post held back."""
    open_late_scenario(page, daphne_server)
    held = hold_first_panel_request(page, applying=True)
    enter(page, "#f-s-duration_s", "90")
    wait_held(page, held)
    return held


def test_a_panel_reload_answered_after_a_change_does_not_revert_it(page, daphne_server):
    open_late_scenario(page, daphne_server)
    held = hold_first_panel_request(page, applying=False)
    page.click("#tab-scenario")  # the open panel loads again; its answer is held back
    wait_held(page, held)
    page.select_option("#e-0-action", "outage")
    page.locator("#f-e-0-duration_s").wait_for()
    release(page, held)  # the reload's answer, rendered from the document before the change
    assert page.input_value("#e-0-action") == "outage"
    assert page.locator("#f-e-0-duration_s").count() == 1
    assert panels(page)["dropped"] >= 1
    enter(page, "#f-e-0-duration_s", "10")
    page.wait_for_selector("#problems li.ok")
    wait_saved(page)
    expected = [{"at_s": 30, "action": "outage", "node": "api", "duration_s": 10}]
    assert editor_doc(page)["scenario"]["events"] == expected
    slug = page.url.rstrip("/").rsplit("/", 1)[-1]
    assert Design.objects.get(slug=slug).document["scenario"]["events"] == expected
    assert page.console_log.errors == []


def test_a_field_changed_while_the_forms_last_change_is_in_flight_is_kept(page, daphne_server):
    held = late_scenario_with_a_post_held(page, daphne_server)
    enter(page, "#f-s-warmup_s", "5")
    release(page, held)  # the first change's answer: the form without the second change
    assert panels(page)["dropped"] >= 1  # it was not shown; the second change's answer was
    page.wait_for_function("() => document.getElementById('editor').editor.document().scenario.warmup_s === 5")
    assert page.input_value("#f-s-warmup_s") == "5"
    assert page.input_value("#f-s-duration_s") == "90"
    wait_saved(page)
    slug = page.url.rstrip("/").rsplit("/", 1)[-1]
    scenario = Design.objects.get(slug=slug).document["scenario"]
    assert (scenario["duration_s"], scenario["warmup_s"]) == (90, 5)
    assert page.console_log.errors == []


def test_typing_in_a_field_then_clicking_another_node_keeps_the_value_and_shows_that_node(
        page, daphne_server):
    make_template()
    open_editor(page, daphne_server + "/templates/tiny/edit/")
    click_node(page, "api")
    page.wait_for_selector("#inspector form[data-panel=node] input[name=node][value='api']",
                           state="attached")
    page.fill("#f-p-workers", "7")  # typed, the field not yet left
    click_node(page, "users")
    page.wait_for_selector("#inspector form[data-panel=node] input[name=node][value='users']",
                           state="attached", timeout=10000)
    page.wait_for_function(
        "() => document.getElementById('editor').editor.document().nodes[1].params.workers === 7")
    page.wait_for_url("**/d/*/")
    wait_saved(page)


def test_a_panel_answer_for_an_older_selection_never_replaces_the_newer_one(page, daphne_server):
    make_template()
    open_editor(page, daphne_server + "/templates/tiny/edit/")
    held = hold_first(page, "**/editor/panel/node", lambda form: form.get("node") == ["users"])
    click_node(page, "users")
    wait_held(page, held)
    select_in_outline(page, "api")  # the newer choice, answered first
    release(page, held)
    assert page.locator("#inspector form[data-panel=node] input[name=node]").get_attribute("value") == "api"
    assert panels(page)["dropped"] == 1
    assert page.locator(".outline-item[data-node=api]").get_attribute("aria-pressed") == "true"
    assert page.console_log.errors == []


def test_a_form_answer_for_an_older_choice_never_replaces_the_newer_one(page, daphne_server):
    open_late_scenario(page, daphne_server)
    held = hold_first(page, "**/editor/panel/scenario", lambda form: form.get("e.0.action") == ["outage"])
    page.select_option("#e-0-action", "outage")
    wait_held(page, held)
    page.select_option("#e-0-action", "slowdown")  # waits: one post of a panel at a time
    assert panels(page)["pending"] == 2
    release(page, held)  # the outage's answer arrives after the newer choice: dropped
    assert page.input_value("#e-0-action") == "slowdown"
    page.locator("#f-e-0-factor").wait_for(state="attached")
    assert page.locator("#f-e-0-duration_s").count() == 1  # the slowdown's own duration
    assert panels(page)["dropped"] >= 1
    enter(page, "#f-e-0-factor", "3")
    settled(page)
    enter(page, "#f-e-0-duration_s", "5")
    settled(page)
    assert editor_doc(page)["scenario"]["events"] == [
        {"at_s": 30, "action": "slowdown", "node": "api", "factor": 3, "duration_s": 5}]
    assert page.console_log.errors == []


def test_a_panel_load_waits_for_the_forms_post_and_shows_its_change(page, daphne_server):
    # The load goes after the post it waited for, with the document that holds the post's change.
    held = late_scenario_with_a_post_held(page, daphne_server)
    page.click("#tab-scenario")  # a load of the same panel, while its post is in flight
    assert panels(page)["pending"] == 2
    sent = panels(page)["sent"]
    release(page, held)
    assert panels(page)["sent"] == sent + 1  # the load went once the post was answered
    assert page.input_value("#f-s-duration_s") == "90"
    assert editor_doc(page)["scenario"]["duration_s"] == 90
    assert page.console_log.errors == []


def test_the_panels_offer_the_resilience_parameters_and_a_breaker_is_set_field_by_field(page, daphne_server):
    make_template()
    open_editor(page, daphne_server + "/templates/tiny/edit/")
    select_in_outline(page, "api")
    for name in ("queue_policy", "max_queue_wait_ms", "rate_limit", "cores"):
        assert page.locator(f"#f-p-{name}").count() == 1, name
    select_in_outline(page, "users")
    assert page.locator("#f-p-retry_budget").count() == 1
    # The call's panel: backoff, a retry budget, a breaker and a bulkhead, from the table.
    page.select_option("#add-call-target", "api")
    page.click("[data-action=add-call]")
    page.wait_for_selector("#inspector form[data-panel=edge] input[name=edge][value='0']", state="attached")
    for name in ("backoff_ms", "retry_budget", "circuit_breaker", "max_concurrent"):
        assert page.locator(f"#f-p-{name}").count() == 1, name
    page.check("#f-p-circuit_breaker")
    page.locator("#f-p-circuit_breaker-open_s").wait_for()
    enter(page, "#f-p-circuit_breaker-open_s", "0.05")
    error = page.locator("#f-p-circuit_breaker-error")  # a nested field's problem, on its object
    error.wait_for()
    assert "open_s" in error.inner_text() and ">= 0.1" in error.inner_text()
    enter(page, "#f-p-circuit_breaker-open_s", "2")
    page.wait_for_selector("#f-p-circuit_breaker-error", state="detached")
    wait_saved(page)
    edge = editor_doc(page)["edges"][0]
    assert edge["circuit_breaker"]["open_s"] == 2
    assert page.console_log.errors == []
