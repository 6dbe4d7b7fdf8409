"""Retention: unclaimed anonymous designs and runs expire unless shared or forked; the beat task
deletes them with their frames and Redis keys."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from playground.designs.models import Design
from playground.runs import stream
from playground.runs.models import FrameBatch, Run
from playground.runs.retention import expire
from tests.runs.designs import web_fleet

pytestmark = pytest.mark.django_db


def age(obj, hours: float) -> None:
    then = timezone.now() - timedelta(hours=hours)
    if isinstance(obj, Run):
        Run.objects.filter(pk=obj.pk).update(created_at=then, finished_at=then)
    else:
        Design.objects.filter(pk=obj.pk).update(updated_at=then)


def make_run(**fields) -> Run:
    run = Run.objects.create(document_json=json.dumps(web_fleet()), document_sha256="x", seed=1,
                             engine_version="1", status=Run.Status.DONE, **fields)
    FrameBatch.objects.create(run=run, first_seq=1, last_seq=1, frames_json="[]")
    stream.client().xadd(stream.frames_key(run.slug), {"f": "{}"}, id="1-0")
    return run


def test_the_expiry_task_is_on_the_beat_schedule():
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"runs.expire", "runs.reap"} <= tasks


def test_unclaimed_unshared_work_expires_and_everything_else_stays(django_user_model, settings):
    settings.ANONYMOUS_RETENTION_H = 24
    user = django_user_model.objects.create_user("kept", password="pw-123456789")
    old = settings.ANONYMOUS_RETENTION_H + 1
    gone_run = make_run(owner_token="anon")
    gone_api_run = make_run()  # a cookieless client's
    young_run = make_run(owner_token="anon")
    shared_run = make_run(owner_token="anon", shared_at=timezone.now())
    claimed_run = make_run(owner=user)
    running = make_run(owner_token="anon")
    Run.objects.filter(pk=running.pk).update(status=Run.Status.RUNNING)
    for run in (gone_run, gone_api_run, shared_run, claimed_run, running):
        age(run, old)
    age(young_run, 1)
    gone_design = Design.objects.create(owner_token="anon", document_json="{}")
    forked = Design.objects.create(owner_token="anon", document_json="{}")
    fork = Design.objects.create(owner=user, document_json="{}", forked_from=forked)
    shared_design = Design.objects.create(owner_token="anon", document_json="{}", shared_at=timezone.now())
    claimed_design = Design.objects.create(owner=user, document_json="{}")
    for design in (gone_design, forked, shared_design, claimed_design, fork):
        age(design, old)
    assert expire() == {"runs": 2, "designs": 1}
    assert set(Run.objects.values_list("pk", flat=True)) == {young_run.pk, shared_run.pk, claimed_run.pk, running.pk}
    assert set(Design.objects.values_list("pk", flat=True)) == {forked.pk, fork.pk, shared_design.pk,
                                                                claimed_design.pk}
    assert not FrameBatch.objects.filter(run_id__in=[gone_run.pk, gone_api_run.pk]).exists()
    r = stream.client()
    assert not r.exists(stream.frames_key(gone_run.slug))
    assert r.exists(stream.frames_key(young_run.slug))
    for run in Run.objects.all():
        stream.delete_keys(run.slug)


def test_opening_someone_elses_run_or_design_marks_it_shared_but_the_owner_does_not():
    owner, other = Client(), Client()
    created = owner.post("/d/create", json.dumps({"document": web_fleet()}), content_type="application/json")
    design = Design.objects.get(slug=created.json()["slug"])
    assert owner.post("/runs/start/", {"design": design.slug}).status_code == 302
    run = Run.objects.get()
    assert owner.get(f"/r/{run.slug}/").status_code == 200
    assert owner.get(f"/d/{design.slug}/").status_code == 200
    run.refresh_from_db()
    design.refresh_from_db()
    assert run.shared_at is None and design.shared_at is None
    assert other.get(f"/r/{run.slug}/").status_code == 200
    assert other.get(f"/d/{design.slug}/").status_code == 200
    run.refresh_from_db()
    design.refresh_from_db()
    assert run.shared_at is not None and design.shared_at is not None
    stream.delete_keys(run.slug)


def test_forking_someone_elses_run_or_design_keeps_it():
    owner, other = Client(), Client()
    created = owner.post("/d/create", json.dumps({"document": web_fleet()}), content_type="application/json")
    design = Design.objects.get(slug=created.json()["slug"])
    owner.post("/runs/start/", {"design": design.slug})
    run = Run.objects.get()
    assert other.post(f"/d/{design.slug}/fork").status_code == 302
    assert other.post(f"/r/{run.slug}/fork/").status_code == 302
    run.refresh_from_db()
    design.refresh_from_db()
    assert run.shared_at is not None and design.shared_at is not None
    stream.delete_keys(run.slug)
