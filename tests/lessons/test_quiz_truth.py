"""Each answer of the quiz of "Stateless service design" is what the engine shows: the question's
template, run here, says the same."""

from __future__ import annotations

from playground.designs.patch import merge_patch
from playground.engine import run
from tests.lessons.quiz_checks import ENTRIES, document, errors, summary, truth_tests

LESSON = "stateless-services"


def check_random_logouts():
    s = summary("memory-sessions")
    assert 0.38 < s["errors"]["session_lost"] / s["requests"] < 0.47  # p/(1+p) = 3/7
    assert s["errors"]["overload"] == s["errors"]["unavailable"] == 0  # Nothing overloaded or down.


def check_stateless_uploads():
    s = summary("file-uploads")
    assert s["uploads"]["failed"] > 0.9 * s["uploads"]["started"]
    assert summary("file-uploads", "object-storage")["uploads"]["failed"] == 0
    # The sticky option only hides the problem until an instance is replaced.
    sticky = document("file-uploads", "sticky")
    sticky = merge_patch(sticky, {"scenario": {"events": [{"at_s": 30, "action": "kill_instance", "node": "uploads"}]}})
    assert run(sticky, seed=1)["summary"]["uploads"]["failed"] > 0


def check_sticky_limits():
    users = ENTRIES["sticky-sessions"].document["nodes"][0]["params"]["users"]
    assert 0.15 * users < summary("sticky-sessions")["users"]["logged_out"] < 0.35 * users
    assert summary("sticky-sessions", "no-crash")["users"]["logged_out"] == 0


def check_keys_in_memory():
    assert summary("stripe", "keys-in-memory")["charges"]["duplicate"] > 0
    assert summary("stripe")["charges"]["duplicate"] == 0


def check_redis_cost():
    extra = summary("airbnb-after")["latency_ms"]["mean"] - summary("airbnb-after", "jwt")["latency_ms"]["mean"]
    assert 0.5 <= extra <= 2
    assert summary("airbnb-after")["users"]["logged_out"] == 0


def check_stateless_deploy():
    s = summary("rolling-deploy")
    assert errors(s) == 0 and s["users"]["logged_out"] == 0
    assert summary("rolling-deploy", "no-drain")["errors"]["unavailable"] > 0


def check_jwt_tradeoff():
    jwt = summary("airbnb-after", "jwt")
    assert jwt["users"]["logged_out"] == 0
    assert jwt["latency_ms"]["mean"] < summary("airbnb-after")["latency_ms"]["mean"]


def check_serverless_spike():
    s, fleet = summary("vercel"), summary("vercel", "fixed-fleet")
    assert s["latency_ms"]["max"] > 250 > fleet["latency_ms"]["max"]
    assert s["users"]["logged_out"] == 0 and errors(s) == 0
    assert s["cost"]["total"] < fleet["cost"]["total"]


test_every_question_has_a_check, test_the_answer_is_what_the_engine_shows = truth_tests(LESSON, globals())
