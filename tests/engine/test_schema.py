"""Loading, defaults and the round trip of valid documents."""

from __future__ import annotations

import json

import pytest

from playground.engine import Document, dump, load, validate
from playground.engine.document import Dist
from tests.engine.conftest import EXAMPLE, schema_md_examples


@pytest.mark.parametrize("obj", schema_md_examples())
def test_every_schema_md_example_validates_and_round_trips(obj):
    assert validate(obj) == []
    doc = load(obj)
    assert load(dump(doc)) == doc
    assert load(json.dumps(dump(doc))) == doc


def test_the_kept_example_is_schema_md_s_example():
    assert EXAMPLE in schema_md_examples() or len(schema_md_examples()) == 1


def test_load_fills_every_default(example):
    doc = load(example)
    assert isinstance(doc, Document)
    api = doc.node("api")
    assert api.params["queue"] == 64
    assert api.params["service_ms"] == Dist("exp", 12.0)
    assert api.params["autoscale"] is None
    assert doc.node("guests").params["retry_on"] == ("timeout",)
    assert doc.node("db").params["queue"] is None
    assert doc.edges[3].calls == 0.3
    assert doc.edges[0].latency_ms == Dist("exp", 0.0)
    assert doc.scenario.events[0].args == {"count": 1}
    assert doc.scenario.seed == 7
