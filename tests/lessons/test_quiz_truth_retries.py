"""Each answer of the quiz of "Retries, timeouts and overload" is what the engine shows: the
question's template and variant, run here on seed 1, give the figures its explanation cites."""

from __future__ import annotations

import pytest

from playground.engine import run
from tests.lessons.quiz_checks import document, summary, truth_tests

LESSON = "retries-timeouts-overload"


def check_stays_down():
    s = summary("retry-storm")
    assert s["ok"] == 0 and s["requests"] > 110_000  # The 140 s after the slowdown: nothing succeeds.
    assert s["attempts"] == 2 * s["requests"]  # Every request timed out and was retried once.
    assert s["attempts"] / 140 > 1_600 > 1_000  # Offered attempts a second against the capacity.


def check_sustaining_effect():
    assert summary("retry-storm", "no-retries")["throughput_rps"] > 650  # Recovers: 685 a second.
    assert summary("retry-storm")["throughput_rps"] == 0


def check_fastest_cure():
    requests = summary("retry-storm")["requests"]
    for cure in ("lifo", "deadline-shedding"):
        s = summary("retry-storm", cure)
        assert s["throughput_rps"] > 825 and s["ok"] > 0.99 * requests, cure  # 830 a second: all.
    assert 300 < summary("retry-storm", "retry-budget")["throughput_rps"] < 450  # 362: slowly.
    # A longer backoff (1 s instead of 100 ms) delays the retries but does not make them fewer.
    slower = document("retry-storm")
    next(n for n in slower["nodes"] if n["id"] == "users")["params"]["backoff_ms"] = 1000
    assert run(slower, seed=1)["summary"]["ok"] == 0


def check_three_layers():
    s = summary("retry-amplification")
    calls = {node: s["nodes"][node]["arrivals"] / s["requests"] for node in ("gateway", "orders", "db")}
    assert 3.9 < calls["gateway"] <= 4 and 15.5 < calls["orders"] <= 16 and 63 < calls["db"] <= 64


def check_retry_budget():
    budgets, top = summary("retry-amplification", "budgets"), summary("retry-amplification", "top-only")
    assert budgets["nodes"]["db"]["arrivals"] / budgets["requests"] < 2  # 1.7
    assert 3.9 < top["nodes"]["db"]["arrivals"] / top["requests"] <= 4
    # Five retries at the database layer alone give six calls per request.
    bottom = document("retry-amplification", "top-only")
    for edge in bottom["edges"]:
        edge["retries"] = 5 if edge["to"] == "db" else 0
    s = run(bottom, seed=1)["summary"]
    assert s["nodes"]["db"]["arrivals"] / s["requests"] > 5.9


def check_slow_dependency():
    s = summary("timeout-cascade")
    assert s["ok"] / s["requests"] < 0.15  # 13%, though 80% never call the provider.
    assert s["errors"]["overload"] > 0.8 * s["requests"]  # Refused by a full queue.


def check_bulkhead():
    bulkhead, timeout = summary("timeout-cascade", "bulkhead"), summary("timeout-cascade", "timeout")
    for s in (bulkhead, timeout):
        assert 9_700 < s["ok"] < 10_100
    assert bulkhead["latency_ms"]["p99"] < 50 and timeout["latency_ms"]["p99"] > 150  # 37 ms, 169 ms.


def check_past_the_knee():
    base, shedding = summary("load-shedding"), summary("load-shedding", "shedding")
    assert base["throughput_rps"] < 150 and base["nodes"]["api"]["utilization"] > 0.99  # 110 a second.
    assert shedding["throughput_rps"] > 740 and shedding["errors"]["shed"] > 0  # 760 a second.


def check_breaker():
    s = summary("retry-storm", "circuit-breaker")
    assert s["throughput_rps"] > 780 and s["ok"] > 0.94 * s["requests"]  # 792 a second, 95%.
    assert 4_000 < s["errors"]["circuit_open"] < 7_000  # 5,352 failed at once.
    out = run(document("retry-storm", "circuit-breaker"), seed=1, frames=True)
    changes = [(e["action"], round(e["t"])) for f in out["frames"] for e in f["events"]
               if e["action"].startswith("breaker_")]
    assert changes == [("breaker_open", 35), ("breaker_half_open", 40), ("breaker_open", 41),
                       ("breaker_half_open", 46), ("breaker_closed", 46)]


def check_sinkhole():
    base, rr = summary("sinkholing"), summary("sinkholing", "round-robin")
    assert base["errors"]["error"] > 0.99 * base["requests"]  # 40,137 of 40,147.
    assert rr["errors"]["error"] / rr["requests"] == pytest.approx(0.25, abs=0.01)  # 10,037.


def check_canary_gate():
    canary = summary("bad-release", "canary")
    rolling, blue_green = summary("bad-release"), summary("bad-release", "blue-green")
    assert canary["errors"]["error"] < 300 < 9_000 < rolling["errors"]["error"] < blue_green["errors"]["error"]
    out = run(document("bad-release", "canary"), seed=1, frames=True)
    assert [e["action"] for f in out["frames"] for e in f["events"]
            if e["action"].startswith("canary_")] == ["canary_started", "canary_failed"]


test_every_question_has_a_check, test_the_answer_is_what_the_engine_shows = truth_tests(LESSON, globals())
