"""The expectations interpreter allows exactly two forms and evaluates them without eval."""

from __future__ import annotations

import pytest

from playground.designs import expectations as ex

SUMMARY = {"users": {"logged_out": 0, "logins": 40}, "latency_ms": {"p50": 12.5}, "errors": {"timeout": 3},
           "flag": True, "nodes": {"db": {"arrivals": 100}}}
OTHER = {"users": {"logged_out": 9, "logins": 50}, "latency_ms": {"p50": 11.0}, "errors": {"timeout": 0},
         "flag": False, "nodes": {"db": {"arrivals": 40}}}


def summaries(ref: ex.RunRef) -> dict:
    return SUMMARY if ref.variant == "" else OTHER


def test_a_value_expectation_compares_one_runs_metric_with_a_number():
    e = ex.parse({"run": "base", "metric": "summary.users.logged_out", "op": "==", "value": 0, "says": "none"}, "t")
    assert ex.check(e, summaries, 1).holds
    e = ex.parse({"run": "slow", "metric": "summary.users.logged_out", "op": "==", "value": 0, "says": "none"}, "t")
    outcome = ex.check(e, summaries, 1)
    assert not outcome.holds and outcome.actual == 9 and "FAILS" in str(outcome)


def test_a_difference_expectation_subtracts_the_second_run():
    e = ex.parse({"run": "base", "minus": "slow", "metric": "summary.latency_ms.p50", "op": "between",
                  "value": [0.5, 2], "says": "about a millisecond"}, "t")
    outcome = ex.check(e, summaries, 2)
    assert outcome.holds and outcome.actual == pytest.approx(1.5)


@pytest.mark.parametrize("op,value,holds", [
    ("==", 40, True), ("!=", 40, False), ("<", 41, True), ("<=", 40, True), (">", 40, False), (">=", 40, True),
    ("between", [40, 40], True), ("between", [41, 50], False),
])
def test_each_comparison_means_what_it_says(op, value, holds):
    e = ex.parse({"run": "base", "metric": "summary.users.logins", "op": op, "value": value, "says": "x"}, "t")
    assert ex.check(e, summaries, 1).holds is holds


def test_a_run_may_name_another_templates_variant_or_base():
    e = ex.parse({"run": "a:base", "minus": "b:jwt", "metric": "summary.errors.timeout", "op": "<", "value": 0,
                  "says": "x"}, "t")
    assert e.run == ex.RunRef("a", "") and e.minus == ex.RunRef("b", "jwt")
    assert ex.runs_of([e]) == [ex.RunRef("a", ""), ex.RunRef("b", "jwt")]


@pytest.mark.parametrize("raw,field", [
    ("summary.users.logged_out == 0", "expectation"),
    ({"run": "base", "metric": "summary.users.logged_out", "op": "==", "value": 0}, "expectation.says"),
    ({"run": "base", "metric": "summary.x", "op": "==", "value": 0, "says": "x", "code": "1"}, "expectation.code"),
    ({"run": "base", "metric": "__import__('os').system('x')", "op": "==", "value": 0, "says": "x"},
     "expectation.metric"),
    ({"run": "base", "metric": "users.logged_out", "op": "==", "value": 0, "says": "x"}, "expectation.metric"),
    ({"run": "base", "metric": "summary.users[0]", "op": "==", "value": 0, "says": "x"}, "expectation.metric"),
    ({"run": "base", "metric": "summary.a", "op": "~=", "value": 0, "says": "x"}, "expectation.op"),
    ({"run": "base", "metric": "summary.a", "op": "==", "value": "0", "says": "x"}, "expectation.value"),
    ({"run": "base", "metric": "summary.a", "op": "==", "value": True, "says": "x"}, "expectation.value"),
    ({"run": "base", "metric": "summary.a", "op": "==", "value": float("nan"), "says": "x"}, "expectation.value"),
    ({"run": "base", "metric": "summary.a", "op": "between", "value": 3, "says": "x"}, "expectation.value"),
    ({"run": "base", "metric": "summary.a", "op": "between", "value": [3, 1], "says": "x"}, "expectation.value"),
    ({"run": "Base!", "metric": "summary.a", "op": "==", "value": 0, "says": "x"}, "expectation.run"),
    ({"run": "a:b:c", "metric": "summary.a", "op": "==", "value": 0, "says": "x"}, "expectation.run"),
    ({"run": "base", "minus": "base", "metric": "summary.a", "op": "==", "value": 0, "says": "x"},
     "expectation.minus"),
    ({"run": "base", "metric": "summary.a", "op": "==", "value": 0, "says": ""}, "expectation.says"),
])
def test_anything_but_the_two_forms_is_refused_naming_the_field(raw, field):
    with pytest.raises(ex.ExpectationError) as caught:
        ex.parse(raw, "t")
    assert caught.value.path == field


def test_a_metric_that_is_missing_or_not_a_number_is_an_error_not_a_pass():
    for metric in ("summary.users.nobody", "summary.users", "summary.flag"):
        e = ex.parse({"run": "base", "metric": metric, "op": ">=", "value": 0, "says": "x"}, "t")
        with pytest.raises(KeyError):
            ex.check(e, summaries, 1)
