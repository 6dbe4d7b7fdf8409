"""Who owns a design or a run, and who may change it.

Terms
-----
owner
    A signed-in user, or an anonymous browser identified by its *owner token*: 32 random bytes kept
    in the browser's session data. The token survives the session key cycling at login, and login
    or sign-up *claims* the browser's work for the user.
Owned
    The abstract model every owned object inherits: ``owner`` (a user) or ``owner_token``.

Anyone with a link may view and fork; only the owner changes (the views answer 403 otherwise).
"""

from __future__ import annotations

import secrets

from django.apps import apps
from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.db import models
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils import timezone

SESSION_KEY = "playground_owner_token"


def owner_token(request: HttpRequest, *, create: bool = True) -> str | None:
    """The browser's owner token, made on first use when ``create``."""
    token = request.session.get(SESSION_KEY)
    if token is None and create:
        token = secrets.token_urlsafe(32)
        request.session[SESSION_KEY] = token
    return token


class Owned(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    owner_token = models.CharField(max_length=64, blank=True, default="", db_index=True)

    class Meta:
        abstract = True

    def set_owner(self, request: HttpRequest) -> None:
        if request.user.is_authenticated:
            self.owner = request.user
            self.owner_token = ""
        else:
            self.owner = None
            self.owner_token = owner_token(request) or ""

    def is_owned_by(self, request: HttpRequest) -> bool:
        if self.owner_id is not None:
            return request.user.is_authenticated and request.user.pk == self.owner_id
        token = owner_token(request, create=False)
        return bool(token) and secrets.compare_digest(token, self.owner_token)


def note_shared(obj: Owned, request: HttpRequest) -> None:
    """Record that someone other than the owner opened or forked ``obj`` (its ``shared_at``), so
    unclaimed work that was shared is kept (``playground.runs.retention``)."""
    if obj.shared_at is None and not obj.is_owned_by(request):
        obj.shared_at = timezone.now()
        type(obj).objects.filter(pk=obj.pk, shared_at__isnull=True).update(shared_at=obj.shared_at)


def owned_by(queryset: models.QuerySet, request: HttpRequest) -> models.QuerySet:
    """The objects of ``queryset`` the requester owns."""
    if request.user.is_authenticated:
        return queryset.filter(owner=request.user)
    token = owner_token(request, create=False)
    if not token:
        return queryset.none()
    return queryset.filter(owner__isnull=True, owner_token=token)


def claim(user, token: str) -> int:
    """Give every object owned by ``token`` to ``user``; returns how many moved."""
    moved = 0
    for model in apps.get_models():
        if issubclass(model, Owned):
            moved += model.objects.filter(owner__isnull=True, owner_token=token).update(owner=user, owner_token="")
    return moved


@receiver(user_logged_in)
def _claim_on_login(sender, request, user, **kwargs) -> None:
    if request is not None:
        token = owner_token(request, create=False)
        if token:
            claim(user, token)
