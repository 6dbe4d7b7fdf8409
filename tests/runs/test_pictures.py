"""Pictures of runs (issue 17): the topology as SVG and PNG (coloured by load at ?t=), the run
page's charts as PNG, the animated GIF made by a real worker, link previews on run, sweep,
template and design pages, Compare's image, and the 4xx that bad requests get."""

from __future__ import annotations

import io
import json
import re
import time
import xml.etree.ElementTree as ET

import pytest
from django.test import Client
from PIL import Image

from playground.designs.models import Design, Template
from playground.runs import gif, pictures, service, stream
from playground.runs.models import Run, RunImage, Sweep
from playground.runs.runner import Runner
from tests.processes import start_celery_worker
from tests.runs.designs import web_fleet

pytestmark = pytest.mark.django_db

OWNER = service.Owner(key="addr:pictures", address="pictures")


@pytest.fixture(autouse=True)
def cleanup_keys():
    yield
    for run in Run.objects.all():
        stream.delete_keys(run.slug)


def outage_design(duration_s: float = 40) -> dict:
    """Quiet, then instances killed, traffic x3 for 5 s, and the balancer down for 8 s: the fleet saturates,
    the latency line has a gap."""
    document = web_fleet(rps=1200, instances=3, duration_s=duration_s)
    document["title"] = "Fleet with an outage"
    document["nodes"][2]["label"] = "API fleet"
    document["scenario"]["events"] = [
        {"at_s": 10, "action": "kill_instance", "node": "api"},
        {"at_s": 11, "action": "kill_instance", "node": "api"},
        {"at_s": 20, "action": "outage", "node": "lb", "duration_s": 8},
    ]
    document["scenario"]["traffic"] = [{"at_s": 12, "multiplier": 3, "ramp_s": 0}, {"at_s": 17, "multiplier": 1, "ramp_s": 0}]
    document["layout"] = {"users": {"x": 80, "y": 60}, "lb": {"x": 280, "y": 60}, "api": {"x": 480, "y": 60},
                          "db": {"x": 480, "y": 180}}
    return document


def finished(document: dict, seed: int = 3) -> Run:
    run, _ = service.create_run(document, owner=OWNER, seed=seed)
    assert Runner(run.pk).execute() == "done"
    run.refresh_from_db()
    return run


@pytest.fixture
def run() -> Run:
    return finished(outage_design())


def png_size(body: bytes) -> tuple[int, int]:
    image = Image.open(io.BytesIO(body))
    image.load()
    assert image.format == "PNG"
    return image.size


# --- charts -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(pictures.CHARTS))
def test_every_chart_is_a_png_of_its_stated_size(client, run, name):
    response = client.get(f"/r/{run.slug}/chart/{name}.png")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert png_size(response.content) == pictures.CHART_SIZE
    assert "public" in response["Cache-Control"]


def test_a_chart_at_another_size_and_sizes_out_of_bounds(client, run):
    response = client.get(f"/r/{run.slug}/chart/latency.png?w=800&h=400")
    assert response.status_code == 200 and png_size(response.content) == (800, 400)
    for query in ("w=10", "h=99999", "w=abc", "w=-5"):
        bad = client.get(f"/r/{run.slug}/chart/latency.png?{query}")
        assert bad.status_code == 400, query
        assert bad.json()["error"].startswith(query[0] + ":")


def test_an_unknown_chart_is_a_404_naming_the_choices(client, run):
    response = client.get(f"/r/{run.slug}/chart/pie.png")
    assert response.status_code == 404
    body = response.json()
    assert "'pie'" in body["error"] and body["charts"] == list(pictures.CHARTS)
    assert all(name in body["error"] for name in pictures.CHARTS)
    assert client.get("/r/nosuchrunnosuchrun/chart/latency.png").status_code == 404


def test_a_finished_runs_chart_is_made_once_and_kept(client, run):
    first = client.get(f"/r/{run.slug}/chart/errors.png").content
    kept = RunImage.objects.get(run=run, kind="chart:errors")
    assert bytes(kept.content) == first
    assert client.get(f"/r/{run.slug}/chart/errors.png").content == first


def test_pictures_drawn_on_demand_are_bounded_per_address_and_stored_ones_are_not(client, run, settings):
    """Sizes and running runs give endless pictures that are not stored: each drawing counts
    against the address's budget; a stored picture is served whatever the budget."""
    settings.PICTURE_RENDERS_PER_MINUTE = 2
    r = stream.client()
    try:
        assert client.get(f"/r/{run.slug}/chart/errors.png").status_code == 200  # drawn, then kept
        assert client.get(f"/r/{run.slug}/chart/errors.png?w=500&h=400").status_code == 200
        refused = client.get(f"/r/{run.slug}/chart/errors.png?w=501&h=400")
        assert refused.status_code == 429 and 1 <= int(refused["Retry-After"]) <= 60
        assert "at most 2 pictures may be drawn a minute" in refused.json()["error"]
        assert client.get(f"/r/{run.slug}/chart/errors.png").status_code == 200  # kept: no drawing
        assert client.get(f"/r/{run.slug}/chart/errors.png?w=500&h=400").status_code == 200  # cached
        other = Client(REMOTE_ADDR="10.1.2.3")
        assert other.get(f"/r/{run.slug}/chart/latency.png?w=501&h=400").status_code == 200
    finally:
        for key in r.scan_iter("ratelimit:pictures:*"):
            r.delete(key)


def test_the_latency_line_has_a_gap_across_the_outage(run):
    frames = service.frames_after(run)
    ts, columns = pictures.series(pictures.CHARTS["latency"], run.document, frames)
    p99 = dict(columns[2][0].label and [(t, v) for t, v in zip(ts, columns[2][1], strict=True)])
    assert any(v != v for t, v in p99.items() if 22 <= t <= 27)  # NaN: no request finished
    assert all(v == v for t, v in p99.items() if t <= 9)


def test_event_markers_are_grouped_so_labels_never_overlap():
    events = [{"t": 10, "action": "kill_instance"}, {"t": 11, "action": "kill_instance"},
              {"t": 12, "action": "outage"}, {"t": 30, "action": "outage_end"}]
    groups = pictures.group_markers(events, lambda t: t * 10, lambda text: 7 * len(text), 600)
    assert [g["text"] for g in groups] == ["3 events", "back"]
    for a, b in zip(groups, groups[1:], strict=False):
        assert a["left"] + a["w"] + pictures.MARKER_GAP_PX <= b["left"]


def test_a_running_runs_chart_is_drawn_but_never_kept(client):
    run, _ = service.create_run(outage_design(), owner=OWNER, seed=3)
    response = client.get(f"/r/{run.slug}/chart/throughput.png")
    assert response.status_code == 200 and png_size(response.content) == pictures.CHART_SIZE
    assert response["Cache-Control"] == "no-store"
    assert not RunImage.objects.filter(run=run).exists()


# --- topology ----------------------------------------------------------------------------------------
def test_the_topology_svg_is_well_formed_and_names_every_node(client, run):
    response = client.get(f"/r/{run.slug}/topology.svg")
    assert response.status_code == 200 and response["Content-Type"] == "image/svg+xml"
    root = ET.fromstring(response.content)
    texts = " ".join("".join(el.itertext()) for el in root.iter() if el.tag.endswith("text"))
    for node in run.document["nodes"]:
        assert (node.get("label") or node["id"]) in texts
    for kind in ("Client", "Load balancer", "Service ×3", "Database"):
        assert kind in texts


def test_the_topology_png_decodes_with_the_size_its_layout_gives(client, run):
    response = client.get(f"/r/{run.slug}/topology.png")
    assert response.status_code == 200
    w, h, _ = pictures.topology_size(run.document)
    assert png_size(response.content) == (w, h)


def _fill(svg: bytes, node: str) -> str:
    root = ET.fromstring(svg)
    for el in root.iter():
        if el.get("id") == f"node-{node}":
            path = next(iter(el)) if len(el) else el
            style = path.get("style", "") + ";" + (path.get("fill") or "")
            match = re.search(r"fill:\s*(#[0-9a-f]{6})", style)
            return match.group(1) if match else style
    raise AssertionError(f"no node {node} in the SVG")


def test_t_colours_the_nodes_by_load_quiet_and_overloaded_differ(client, run):
    frames = service.frames_after(run)
    calm = min(frames[:9], key=lambda f: f["nodes"]["api"]["utilization"])
    hot = max(frames, key=lambda f: f["nodes"]["api"]["utilization"])
    assert calm["nodes"]["api"]["utilization"] < 0.8 < 0.95 < hot["nodes"]["api"]["utilization"]
    quiet = client.get(f"/r/{run.slug}/topology.svg?t={calm['t']}")
    busy = client.get(f"/r/{run.slug}/topology.svg?t={hot['t'] - 0.5}")  # inside the hot frame's tick
    assert quiet.status_code == busy.status_code == 200
    assert _fill(quiet.content, "api") != _fill(busy.content, "api")
    assert _fill(busy.content, "api") == pictures.load_colour(hot["nodes"]["api"]["utilization"])
    assert b"busy" in busy.content and f"load at t = {pictures.format_t(hot['t'])}".encode() in busy.content
    down = client.get(f"/r/{run.slug}/topology.svg?t=24").content  # the balancer is out
    assert _fill(down, "lb") == pictures.DOWN_FILL and b"down" in down
    png_quiet = client.get(f"/r/{run.slug}/topology.png?t={calm['t']}").content
    png_busy = client.get(f"/r/{run.slug}/topology.png?t={hot['t']}").content
    assert png_quiet != png_busy


@pytest.mark.parametrize("t", ["-1", "41", "soon", "nan", "inf"])
def test_t_out_of_range_or_not_a_number_is_a_400_naming_it(client, run, t):
    response = client.get(f"/r/{run.slug}/topology.png?t={t}")
    assert response.status_code == 400
    assert response.json()["error"].startswith("t: must be a number of seconds from 0 to 40")


def test_an_unknown_topology_format_is_not_found(client, run):
    assert client.get(f"/r/{run.slug}/topology.jpg").status_code == 404


# --- the GIF ------------------------------------------------------------------------------------------
def test_gif_sampling_is_at_most_120_frames_first_and_last_included():
    assert gif.sample(40) == list(range(40))
    picked = gif.sample(3600)
    assert len(picked) == gif.MAX_IMAGES == 120 and picked[0] == 0 and picked[-1] == 3599
    assert gif.sample(121)[-1] == 120 and len(gif.sample(121)) == 120


def test_the_gif_has_one_image_per_sampled_frame_and_is_under_5_mb():
    run = finished(outage_design(duration_s=300))
    frames = service.frames_after(run)
    data = gif.render(run, frames)
    image = Image.open(io.BytesIO(data))
    assert image.format == "GIF" and image.size == gif.SIZE
    assert image.n_frames == len(gif.sample(len(frames))) == 120
    assert len(data) < gif.MAX_BYTES
    assert image.info["duration"] == gif.FRAME_MS  # 120 x 100 ms = 12 s


def test_a_running_runs_gif_is_a_409_naming_why(client):
    run, _ = service.create_run(outage_design(), owner=OWNER, seed=3)
    Run.objects.filter(pk=run.pk).update(status=Run.Status.RUNNING)
    response = client.get(f"/r/{run.slug}/run.gif")
    assert response.status_code == 409
    assert response.json()["message"] == "the run is still running: its GIF can be made once it ends"


def test_the_gif_is_202_with_retry_after_until_a_worker_made_it(client, run, django_capture_on_commit_callbacks,
                                                                monkeypatch):
    sent = []
    monkeypatch.setattr(gif.app, "send_task", lambda *a, **k: sent.append((a, k)))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.get(f"/r/{run.slug}/run.gif")
    assert response.status_code == 202 and int(response["Retry-After"]) > 0
    assert "being made" in response.json()["message"]
    assert sent == [(("runs.render_gif", (run.pk,)), {"queue": "batch", "soft_time_limit": gif.TIME_LIMIT_S,
                                                      "time_limit": gif.TIME_LIMIT_S + 30})]
    with django_capture_on_commit_callbacks(execute=True):
        assert client.get(f"/r/{run.slug}/run.gif").status_code == 202
    assert len(sent) == 1  # asked once
    assert gif.render_and_store(run.pk) == "ready"
    response = client.get(f"/r/{run.slug}/run.gif")
    assert response.status_code == 200 and response["Content-Type"] == "image/gif"


def test_a_gif_that_could_not_be_made_says_why(client, run, monkeypatch):
    def boom(*args):
        raise MemoryError("out of memory")
    monkeypatch.setattr(gif, "render", boom)
    monkeypatch.setattr(gif.app, "send_task", lambda *a, **k: None)
    assert gif.render_and_store(run.pk) == "failed"
    response = client.get(f"/r/{run.slug}/run.gif")
    assert response.status_code == 503
    assert "the GIF could not be made: out of memory" in response.json()["message"]


@pytest.mark.processes
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_makes_the_gif_and_the_url_then_answers_200(tmp_path):
    run = finished(outage_design())
    worker = start_celery_worker(tmp_path / "worker.log", queues="batch")
    try:
        client = Client()
        first = client.get(f"/r/{run.slug}/run.gif")
        assert first.status_code == 202
        deadline = time.monotonic() + 90
        while True:
            response = client.get(f"/r/{run.slug}/run.gif")
            if response.status_code != 202:
                break
            assert time.monotonic() < deadline, worker.log()[-3000:]
            time.sleep(0.5)
        log = worker.log()
    finally:
        worker.stop()
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == "image/gif"
    assert "runs.render_gif" in log
    stored = RunImage.objects.get(run=run, kind="gif")
    assert stored.status == "ready" and bytes(stored.content) == response.content
    image = Image.open(io.BytesIO(response.content))
    assert image.n_frames == len(gif.sample(run.frames_saved)) == 40


# --- link previews --------------------------------------------------------------------------------------
def _meta(page: str) -> dict[str, str]:
    return dict(re.findall(r'<meta (?:property|name)="([a-z:_]+)" content="([^"]*)"', page))


def _check_preview(client, page_url: str) -> dict[str, str]:
    page = client.get(page_url)
    assert page.status_code == 200
    meta = _meta(page.content.decode())
    for tag in ("og:title", "og:description", "og:image", "og:url", "og:type", "twitter:card", "twitter:image"):
        assert meta.get(tag), tag
    assert meta["twitter:card"] == "summary_large_image"
    assert meta["og:image"].startswith("http://testserver/") and meta["og:url"] == f"http://testserver{page_url}"
    image = client.get(meta["og:image"].removeprefix("http://testserver"))
    assert image.status_code == 200 and png_size(image.content) == pictures.PREVIEW_SIZE
    return meta


def test_the_run_page_has_preview_tags_with_the_headline_numbers(client, run):
    meta = _check_preview(client, f"/r/{run.slug}/")
    assert meta["og:title"] == "Fleet with an outage"
    assert "p99 latency" in meta["og:description"] and "errors" in meta["og:description"]


def test_template_design_and_sweep_pages_have_preview_tags(client):
    document = outage_design()
    Template.objects.create(slug="fleet", title="Fleet", summary="A fleet of three", document_json=json.dumps(document))
    assert _check_preview(client, "/templates/fleet/")["og:description"] == "A fleet of three"
    design = Design.objects.create(title="My fleet", document_json=json.dumps(document))
    assert _check_preview(client, f"/d/{design.slug}/")["og:title"] == "Fleet with an outage"  # the editor's title
    sweep = Sweep.objects.create(title="How many instances", document_json=json.dumps(document), engine_version="x",
                                 status=Sweep.Status.QUEUED, cells_total=4)
    meta = _check_preview(client, f"/s/{sweep.slug}/")
    assert "0 of 4 cells done" in meta["og:description"]


# --- compare -----------------------------------------------------------------------------------------------
def test_the_compare_image_puts_two_runs_side_by_side(client, run):
    other = finished(outage_design(), seed=4)
    response = client.get(f"/compare/image.png?a={run.slug}&b=http://x/r/{other.slug}/")
    assert response.status_code == 200 and png_size(response.content) == (1600, 900)
    assert client.get(f"/compare/image.png?a={run.slug}&b=nosuchrunnosuchrun1").status_code == 404
    assert client.get(f"/compare/image.png?a={run.slug}").status_code == 400
