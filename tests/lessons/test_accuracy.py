"""How accurate is the simulator? The page runs the engine on the spot beside the closed forms."""

from __future__ import annotations

import time

import pytest

from playground.engine import theory
from playground.lessons import accuracy as acc


def test_the_page_runs_the_chosen_model_and_shows_theory_and_engine(client):
    html = client.get("/accuracy/", {"model": "mmc", "rho": "0.7", "workers": "3"}).content.decode()
    assert "M/M/c with c = 3, ρ = 0.7" in html
    expected = theory.mmc(0.7 * 3 / 0.01, 0.01, 3).Wq * 1000
    assert f"{expected:.3f} ms" in html
    assert "What the engine models" in html and "What it does not" in html


def test_htmx_asks_for_the_result_alone(client):
    html = client.get("/accuracy/", {"model": "md1", "rho": "0.5"}, headers={"HX-Request": "true"}).content.decode()
    assert "<html" not in html and "M/D/1" in html


def test_numbers_out_of_range_are_kept_in_range_and_said_so(client):
    html = client.get("/accuracy/", {"model": "mm1", "rho": "7", "workers": "x"}).content.decode()
    assert "rho: kept within" in html and "workers: not a number" in html
    assert "ρ = 0.95" in html


@pytest.mark.parametrize("choice", [acc.Choice("mm1", 0.5), acc.Choice("mmc", 0.7, 8), acc.Choice("md1", 0.6),
                                    acc.Choice("mmck", 1.2, 2, 3)])
def test_the_engine_agrees_with_the_theory_at_moderate_load(choice):
    result = acc.compare(choice)
    rows = {row["name"]: row for row in result["rows"]}
    assert rows["Utilization"]["engine"] == pytest.approx(rows["Utilization"]["theory"], rel=0.03)
    wait = rows["Mean wait in queue (Wq)"]
    assert abs(wait["engine"] - wait["theory"]) <= max(4 * wait["se"], 0.1 * wait["theory"])
    if choice.model == "mmck":
        refused = rows["Share of arrivals refused"]
        assert refused["engine"] == pytest.approx(refused["theory"], abs=0.02)


def test_the_largest_choice_runs_in_about_a_second():
    started = time.perf_counter()
    acc.compare(acc.Choice("mmc", 0.95, acc.MAX_WORKERS))
    assert time.perf_counter() - started < 3
