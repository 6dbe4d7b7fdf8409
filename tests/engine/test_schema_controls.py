"""Controls sent to a live run: events without a time, and traffic changes."""

from __future__ import annotations

import pytest

from playground.engine import DocumentError, load, parse_control, validate_control
from playground.engine.document import Event, TrafficStep
from tests.engine.conftest import KITCHEN_SINK


@pytest.fixture(scope="module")
def doc():
    return load(KITCHEN_SINK)


@pytest.mark.parametrize(("control", "expected"), [
    ({"kind": "event", "action": "kill_instance", "node": "api"},
     Event(0.0, "kill_instance", "api", {"count": 1})),
    ({"kind": "event", "action": "rolling_deploy", "node": "api", "batch": 2},
     Event(0.0, "rolling_deploy", "api", {"batch": 2, "interval_s": 30.0, "drain": True,
                                          "release": None})),
    ({"kind": "event", "action": "scale", "node": "api", "instances": 7},
     Event(0.0, "scale", "api", {"instances": 7})),
    ({"kind": "event", "action": "outage", "node": "db", "duration_s": 30},
     Event(0.0, "outage", "db", {"duration_s": 30.0})),
    ({"kind": "event", "action": "slowdown", "node": "psp", "factor": 4, "duration_s": 10},
     Event(0.0, "slowdown", "psp", {"factor": 4.0, "duration_s": 10.0})),
    ({"kind": "event", "action": "flush_cache", "node": "cache"},
     Event(0.0, "flush_cache", "cache", {})),
    ({"kind": "traffic", "multiplier": 3}, TrafficStep(0.0, 3.0, 0.0)),
    ({"kind": "traffic", "multiplier": 0.5, "ramp_s": 20}, TrafficStep(0.0, 0.5, 20.0)),
])
def test_a_valid_control_parses_with_defaults_filled(doc, control, expected):
    assert validate_control(control, doc) == []
    assert parse_control(control, doc) == expected


def test_a_control_may_come_as_json_text(doc):
    assert parse_control('{"kind": "traffic", "multiplier": 2}', doc) == TrafficStep(0.0, 2.0)


@pytest.mark.parametrize(("control", "path", "words"), [
    ([], "", "must be an object"),
    ({"action": "outage"}, "kind", "event or traffic"),
    ({"kind": "weather"}, "kind", "event or traffic"),
    ({"kind": "traffic"}, "multiplier", "required"),
    ({"kind": "traffic", "multiplier": -2}, "multiplier", "must be >= 0"),
    ({"kind": "traffic", "multiplier": True}, "multiplier", "not a boolean"),
    ({"kind": "traffic", "multiplier": 2, "at_s": 5}, "at_s", "applies at the next tick"),
    ({"kind": "traffic", "multiplier": 2, "node": "api"}, "node", "unknown field"),
    ({"kind": "event", "action": "outage", "node": "db", "duration_s": 5, "at_s": 3}, "at_s",
     "applies at the next tick"),
    ({"kind": "event", "action": "explode", "node": "db"}, "action", "one of kill_instance"),
    ({"kind": "event", "action": "outage", "duration_s": 5}, "node", "required"),
    ({"kind": "event", "action": "outage", "node": "nope", "duration_s": 5}, "node",
     "unknown node 'nope'"),
    ({"kind": "event", "action": "kill_instance", "node": "db"}, "node",
     "kill_instance fits a service, not a database"),
    ({"kind": "event", "action": "flush_cache", "node": "api"}, "node",
     "fits a cache store or a cdn"),
    ({"kind": "event", "action": "outage", "node": "web", "duration_s": 5}, "node",
     "not a client"),
    ({"kind": "event", "action": "outage", "node": "db"}, "duration_s", "required"),
    ({"kind": "event", "action": "scale", "node": "api", "instances": 0}, "instances",
     "must be >= 1"),
])
def test_a_bad_control_is_reported_at_its_field(doc, control, path, words):
    problems = validate_control(control, doc)
    assert any(p.path == path and words in p.message for p in problems), \
        [str(p) for p in problems]
    with pytest.raises(DocumentError):
        parse_control(control, doc)
