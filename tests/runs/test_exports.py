"""A run's frames as CSV and JSON, a sweep's points as CSV, and oEmbed (issue 17): the rows are
the frames, the header names the units, the bodies stream, bad requests are 4xx."""

from __future__ import annotations

import csv
import io
import json

import pytest
from asgiref.sync import async_to_sync
from django.test import Client

from playground import jsontext
from playground.engine import Simulation, load
from playground.runs import exports
from playground.runs.models import FrameBatch, Run
from tests.runs.designs import web_fleet

pytestmark = pytest.mark.django_db


def finished_run(doc: dict | None = None, title: str = "Web fleet: à la carte") -> tuple[Run, list[dict]]:
    """A run simulated here and stored as a worker stores it, in batches of frames."""
    doc = doc or web_fleet(duration_s=12)
    doc["title"] = title
    loaded = load(doc)
    sim = Simulation(loaded, 5)
    frames = list(sim)
    run = Run.objects.create(title=title, document_json=jsontext.dumps(loaded.to_dict()), document_sha256="x",
                             seed=5, engine_version="test", status="done", frames_total=len(frames),
                             frames_saved=len(frames), summary_json=jsontext.dumps(sim.summary()))
    for k in range(0, len(frames), 5):
        batch = frames[k:k + 5]
        FrameBatch.objects.create(run=run, first_seq=batch[0]["seq"], last_seq=batch[-1]["seq"],
                                  frames_json=jsontext.dumps(batch))
    return run, frames


def body(response) -> str:
    """A streamed body as Daphne reads it: an asynchronous iterator (so it is never collected
    whole in memory before it is sent)."""
    assert response.is_async

    async def collect() -> bytes:
        return b"".join([chunk async for chunk in response.streaming_content])

    return async_to_sync(collect)().decode()


def with_outage() -> dict:
    doc = web_fleet(duration_s=12)
    doc["scenario"]["events"] = [{"at_s": 4, "action": "outage", "node": "api", "duration_s": 4},
                                 {"at_s": 9, "action": "kill_instance", "node": "api"}]
    return doc


def test_the_csv_rows_are_the_frames_and_the_header_names_the_units(client: Client):
    run, frames = finished_run(with_outage())
    response = client.get(f"/r/{run.slug}/frames.csv")
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="web-fleet-la-carte.csv"'
    rows = list(csv.reader(io.StringIO(body(response))))
    header, data = rows[0], rows[1:]
    assert header[:5] == ["seq", "t (s)", "offered_rps (req/s)", "ok_rps (req/s)", "attempts_rps (req/s)"]
    assert "latency_ms.p99 (ms)" in header and "cost_per_hour ($/h)" in header
    assert "nodes.api.utilization (share)" in header and "nodes.db.errors.unavailable (req/s)" in header
    assert len(data) == len(frames) == 12
    col = {name: i for i, name in enumerate(header)}
    for line, frame in zip(data, frames, strict=True):
        assert int(line[col["seq"]]) == frame["seq"]
        assert float(line[col["ok_rps (req/s)"]]) == frame["ok_rps"]
        assert float(line[col["nodes.api.rps (req/s)"]]) == frame["nodes"]["api"]["rps"]
        p99 = frame["latency_ms"]["p99"]
        assert line[col["latency_ms.p99 (ms)"]] == ("" if p99 is None else str(p99))
        assert float(line[col["errors.unavailable (req/s)"]]) == frame["errors"].get("unavailable", 0)
    # The outage's ticks have no latency (nothing finished): empty cells, not zeros; events in words.
    outage = [line for line in data if "outage api" in line[col["events"]]]
    assert outage and any(line[col["latency_ms.p99 (ms)"]] == "" for line in data)
    assert any("kill_instance api" in line[col["events"]] for line in data)


def test_the_json_table_has_the_same_rows_with_nulls(client: Client):
    run, frames = finished_run(with_outage())
    response = client.get(f"/r/{run.slug}/frames.json")
    assert response.status_code == 200 and response.streaming
    table = json.loads(body(response))
    assert table["run"]["id"] == run.slug and table["run"]["url"].endswith(f"/r/{run.slug}/")
    names = [c["name"] for c in table["columns"]]
    assert {"name": "latency_ms.p99", "unit": "ms"} in table["columns"]
    assert len(table["rows"]) == len(frames)
    assert [r[names.index("seq")] for r in table["rows"]] == [f["seq"] for f in frames]
    p99 = names.index("latency_ms.p99")
    assert [r[p99] for r in table["rows"]] == [f["latency_ms"]["p99"] for f in frames]
    assert None in [r[p99] for r in table["rows"]]


def test_a_long_run_streams_page_by_page(client: Client, monkeypatch):
    monkeypatch.setattr(exports, "PAGE", 4)
    run, frames = finished_run(web_fleet(duration_s=30))
    rows = list(csv.reader(io.StringIO(body(client.get(f"/r/{run.slug}/frames.csv")))))[1:]
    assert [int(r[0]) for r in rows] == list(range(1, 31))


def test_an_unknown_run_is_a_404(client: Client):
    assert client.get("/r/nope/frames.csv").status_code == 404
    assert client.get("/r/nope/frames.json").status_code == 404


def test_oembed_describes_a_run_as_a_rich_embed(client: Client):
    run, _ = finished_run()
    url = f"http://testserver/r/{run.slug}/"
    answer = client.get("/oembed", {"url": url, "format": "json"})
    assert answer.status_code == 200
    data = answer.json()
    assert data["version"] == "1.0" and data["type"] == "rich"
    assert data["title"] == "Web fleet: à la carte" and data["provider_name"] == "System Design Playground"
    assert isinstance(data["width"], int) and isinstance(data["height"], int)
    assert f'src="http://testserver/r/{run.slug}/embed/"' in data["html"]
    assert data["html"].startswith("<iframe ") and data["html"].endswith("</iframe>")
    small = client.get("/oembed", {"url": url, "maxwidth": "400", "maxheight": "320"}).json()
    assert (small["width"], small["height"]) == (400, 320)


@pytest.mark.parametrize("params,status", [
    ({}, 400),
    ({"url": "http://testserver/r/nope/"}, 404),
    ({"url": "http://elsewhere.example/r/x/"}, 404),
    ({"url": "http://testserver/templates/"}, 404),
    ({"url": "RUN", "format": "xml"}, 501),
    ({"url": "RUN", "maxwidth": "12"}, 400),
    ({"url": "RUN", "maxwidth": "wide"}, 400),
])
def test_oembed_refuses_what_it_cannot_describe(client: Client, params, status):
    run, _ = finished_run()
    params = {k: (f"http://testserver/r/{run.slug}/" if v == "RUN" else v) for k, v in params.items()}
    answer = client.get("/oembed", params)
    assert answer.status_code == status
    assert answer.json()["error"]


def test_a_sweeps_points_download_as_csv_with_means_and_intervals(client: Client):
    from playground.runs import lifecycle, sweep_service
    from playground.runs.models import Sweep, SweepCell

    sweep, _ = sweep_service.create_sweep(
        web_fleet(duration_s=5), owner=lifecycle.Owner(key="addr:csv", address="csv"),
        axes=[{"path": "nodes.api.params.instances", "values": [2, 3]}], target="p99 < 500", seeds=2)
    assert client.get(f"/s/{sweep.slug}/points.csv").status_code == 409  # no result yet
    for cell in SweepCell.objects.filter(sweep=sweep):
        sweep_service.simulate_cell(cell.pk)
    sweep = Sweep.objects.get(pk=sweep.pk)
    response = client.get(f"/s/{sweep.slug}/points.csv")
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="web-fleet.csv"'
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:4] == ["point", "nodes.api.params.instances", "seeds", "failed seeds"]
    assert "p99 mean" in rows[0] and "p99 ci95 half-width" in rows[0] and rows[0][-1] == "meets target"
    points = sweep.result["points"]
    assert [float(r[1]) for r in rows[1:]] == [2.0, 3.0]
    p99 = rows[0].index("p99 mean")
    assert [float(r[p99]) for r in rows[1:]] == [p["metrics"]["p99"]["mean"] for p in points]
    assert {r[-1] for r in rows[1:]} <= {"yes", "no"}


def test_the_embed_may_be_framed_and_no_other_page_may(client: Client):
    run, _ = finished_run()
    embed = client.get(f"/r/{run.slug}/embed/")
    assert embed.status_code == 200
    assert "X-Frame-Options" not in embed
    assert "frame-ancestors *" in embed["Content-Security-Policy"]
    html = embed.content.decode()
    assert 'id="player"' in html and 'id="topology"' in html and 'data-chart="latency"' in html
    assert 'class="site-header"' not in html  # no site header in an embed
    assert f'href="http://testserver/r/{run.slug}/"' in html
    for path in (f"/r/{run.slug}/", "/", "/runs/", "/lessons/"):
        page = client.get(path)
        assert page["X-Frame-Options"] == "DENY", path
        assert "frame-ancestors 'none'" in page["Content-Security-Policy"], path
