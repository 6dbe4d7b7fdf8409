"""Designs: ownership by user or browser token, claiming at login, variants as merge patches."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import RequestFactory

from playground.designs.models import Design, new_slug
from playground.designs.ownership import SESSION_KEY, owned_by
from playground.designs.patch import apply_variant, merge_patch


def test_slugs_carry_128_random_bits():
    slugs = {new_slug() for _ in range(1000)}
    assert len(slugs) == 1000
    assert all(len(s) == 22 for s in slugs)


def test_merge_patch_follows_rfc_7396():
    target = {"a": "b", "c": {"d": "e", "f": "g"}}
    assert merge_patch(target, {"a": "z", "c": {"f": None}}) == {"a": "z", "c": {"d": "e"}}
    assert merge_patch({"a": [1, 2]}, {"a": [3]}) == {"a": [3]}
    assert merge_patch(target, {"a": None}) == {"c": {"d": "e", "f": "g"}}


def test_variant_patches_nodes_by_id():
    doc = {
        "nodes": [{"id": "lb", "kind": "load_balancer"}, {"id": "api", "kind": "service", "params": {"state": "local"}},
                  {"id": "redis", "kind": "store"}],
        "edges": [{"from": "lb", "to": "api"}, {"from": "api", "to": "redis"}],
    }
    out = apply_variant(doc, {"nodes": {"api": {"params": {"state": "external"}}, "redis": None}})
    assert out["nodes"][1]["params"] == {"state": "external"}
    assert [n["id"] for n in out["nodes"]] == ["lb", "api"]
    assert out["edges"] == [{"from": "lb", "to": "api"}]
    assert doc["nodes"][1]["params"] == {"state": "local"}  # the template's own document is untouched


@pytest.mark.django_db
def test_login_claims_the_browsers_anonymous_designs(client):
    client.get("/")  # a session
    session = client.session
    session[SESSION_KEY] = "browser-token"
    session.save()
    mine = Design.objects.create(document_json="{}", owner_token="browser-token")
    other = Design.objects.create(document_json="{}", owner_token="someone-else")
    user = User.objects.create_user("ada", password="pw-for-tests-1")
    client.force_login(user)
    mine.refresh_from_db()
    other.refresh_from_db()
    assert mine.owner == user and mine.owner_token == ""
    assert other.owner is None
    assert client.session[SESSION_KEY] == "browser-token"  # survives the session key cycling


@pytest.mark.django_db
def test_only_the_owner_is_the_owner():
    rf = RequestFactory()
    design = Design.objects.create(document_json="{}", owner_token="t1")

    def request_with(token):
        request = rf.get("/")
        request.session = {SESSION_KEY: token} if token else {}
        request.user = type("Anon", (), {"is_authenticated": False, "pk": None})()
        return request

    assert design.is_owned_by(request_with("t1"))
    assert not design.is_owned_by(request_with("t2"))
    assert not design.is_owned_by(request_with(None))
    assert list(owned_by(Design.objects.all(), request_with("t1"))) == [design]
    assert list(owned_by(Design.objects.all(), request_with(None))) == []
