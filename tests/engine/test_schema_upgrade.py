"""Upgrading stored documents to the current schema_version."""

from __future__ import annotations

import copy

import pytest

from playground.engine import SCHEMA_VERSION, DocumentError, load, upgrade, validate
from playground.engine import schema as schema_module


@pytest.fixture
def version_zero(monkeypatch):
    """A fake version 0 whose nodes were called "boxes", and its upgrade step to version 1."""

    def zero_to_one(doc):
        doc["nodes"] = doc.pop("boxes")
        return doc

    monkeypatch.setitem(schema_module.UPGRADES, 0, zero_to_one)


def test_a_document_without_schema_version_is_version_1(example):
    example.pop("schema_version")
    assert upgrade(example) is example
    assert load(example).schema_version == SCHEMA_VERSION


def test_a_current_document_is_returned_as_it_is(example):
    assert upgrade(example) is example


def test_a_registered_step_upgrades_an_old_document(example, version_zero):
    old = copy.deepcopy(example)
    old["boxes"] = old.pop("nodes")
    old["schema_version"] = 0
    before = copy.deepcopy(old)
    new = upgrade(old)
    assert new["schema_version"] == 1
    assert new["nodes"] == example["nodes"]
    assert old == before, "upgrade must not modify its input"
    assert load(old) == load(example)
    assert validate(old) == []


def test_without_a_step_an_old_version_is_a_problem(example):
    example["schema_version"] = 0
    with pytest.raises(DocumentError) as raised:
        upgrade(example)
    assert [str(p) for p in raised.value.problems] == ["schema_version: 0 is not a known version"]


def test_a_newer_version_is_a_clear_problem(example):
    example["schema_version"] = SCHEMA_VERSION + 1
    with pytest.raises(DocumentError) as raised:
        upgrade(example)
    message = str(raised.value)
    assert message.startswith("schema_version: version 2 is newer than this engine knows (1)")
    assert [p.path for p in validate(example)] == ["schema_version"]


@pytest.mark.parametrize("obj", [[], "text", {"schema_version": "1"}])
def test_upgrade_leaves_what_it_cannot_read_to_validation(obj):
    assert upgrade(obj) is obj


def test_a_gap_in_the_upgrade_steps_is_a_problem_not_a_crash(example, monkeypatch):
    monkeypatch.setitem(schema_module.UPGRADES, -1, lambda doc: doc)
    example["schema_version"] = -1
    with pytest.raises(DocumentError) as raised:
        upgrade(example)
    assert str(raised.value) == "schema_version: no upgrade from version 0"


def test_steps_run_in_order_from_the_stored_version(example, monkeypatch):
    ran = []
    monkeypatch.setitem(schema_module.UPGRADES, -1, lambda doc: ran.append(-1) or doc)
    monkeypatch.setitem(schema_module.UPGRADES, 0, lambda doc: ran.append(0) or doc)
    example["schema_version"] = -1
    assert upgrade(example)["schema_version"] == 1
    assert ran == [-1, 0]
