"""Templates from the library and users' designs.

Terms
-----
Template
    One architecture template, loaded from ``templates_lib/`` (``manage.py loadtemplates``): its
    story, its design document, named *variants* (JSON merge patches of the document) and the
    *expectations* a run of it must meet.
Design
    A user's design document, owned (see ``ownership``), reachable by a public slug. ``version``
    counts saves, so two tabs can tell when the other saved first.
slug
    The public identifier: 22 URL-safe characters, 128 random bits. Integer keys never appear in a
    URL.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.db import models

from playground import jsontext
from playground.designs.ownership import Owned


def new_slug() -> str:
    return secrets.token_urlsafe(16)


class Template(models.Model):
    slug = models.SlugField(max_length=64, unique=True)
    title = models.CharField(max_length=200)
    company = models.CharField(max_length=100, blank=True, default="")
    concepts = models.JSONField(default=list)
    summary = models.CharField(max_length=300)
    story = models.TextField(blank=True, default="")
    steps = models.JSONField(default=list)
    document_json = models.TextField()
    variants = models.JSONField(default=dict)
    #: Per variant: ``{"title", "about"}`` (``variants`` itself holds only the patches).
    variant_notes = models.JSONField(default=dict, blank=True)
    expectations = models.JSONField(default=list)
    position = models.IntegerField(default=0)
    source_sha256 = models.CharField(max_length=64, default="")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "slug"]

    def __str__(self) -> str:
        return self.title

    @property
    def document(self) -> dict[str, Any]:
        return jsontext.loads(self.document_json)


class Design(Owned):
    slug = models.CharField(max_length=32, unique=True, default=new_slug, editable=False)
    title = models.CharField(max_length=200, blank=True, default="")
    document_json = models.TextField()
    version = models.PositiveIntegerField(default=1)
    forked_from = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="forks")
    template = models.ForeignKey(Template, null=True, blank=True, on_delete=models.SET_NULL, related_name="designs")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    #: When someone other than its owner first opened or forked it: shared work is kept even when
    #: unclaimed (see ``playground.runs.retention``).
    shared_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-updated_at"]

    def __str__(self) -> str:
        return self.title or self.slug

    @property
    def document(self) -> dict[str, Any]:
        return jsontext.loads(self.document_json)

    @document.setter
    def document(self, value: dict[str, Any]) -> None:
        self.document_json = jsontext.dumps(value)
