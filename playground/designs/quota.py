"""Each owner's storage quota for designs, and the rate at which new designs may be made.

Terms
-----
owner
    A user (a browser logged in, or an API token's user), or an anonymous browser's owner token
    (``ownership.owner_token``).
quota
    At most ``DESIGN_MAX_COUNT_USER`` (anonymous: ``DESIGN_MAX_COUNT_ANONYMOUS``) designs, whose
    documents take at most ``DESIGN_MAX_BYTES_USER`` (``DESIGN_MAX_BYTES_ANONYMOUS``) bytes together
    (the stored JSON text's length). A new design past the count is a 429, a design (new or saved)
    past the bytes a 413; each names the limit and what to do. A refused save keeps the editor's
    document, and the editor says "Not saved: quota: ..." (``static/js/editor/sync.js``).
create rate
    At most ``DESIGN_CREATES_PER_MINUTE`` new designs a minute per owner, and for anonymous
    browsers ``DESIGN_CREATES_PER_MINUTE_PER_ADDRESS`` over all of them at one client address (a
    client dropping its cookies is a new owner at each request). Counted with django-ratelimit in the
    Redis cache, as log-ins are (``accounts/throttle.py``); past it a 429 with ``Retry-After``.

Every way a design is made passes here: the editor's first save (``/d/create``), its autosaves,
forks of a design, a template or a run, and the JSON API's POST and PUT.
"""

from __future__ import annotations

from django.conf import settings
from django.db.models import Sum
from django.db.models.functions import Length
from django.http import HttpRequest

from playground.accounts import throttle
from playground.designs.models import Design
from playground.designs.ownership import owner_token
from playground.limits import size_text


class StorageRefused(Exception):
    def __init__(self, message: str, status: int, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.retry_after = retry_after


def _create_limits(owner_key: str, anonymous: bool) -> tuple[throttle.Limit, ...]:
    own = throttle.Limit("design-owner", "new designs from you", "DESIGN_CREATES_PER_MINUTE",
                         lambda group, request: owner_key, window_setting="DESIGN_CREATE_WINDOW_S")
    if not anonymous:
        return (own,)
    return own, throttle.Limit("design-address", "new designs without an account from your address",
                               "DESIGN_CREATES_PER_MINUTE_PER_ADDRESS", throttle.address_key,
                               window_setting="DESIGN_CREATE_WINDOW_S")


def check(request: HttpRequest, document_json: str, *, replacing: Design | None = None, user=None) -> None:
    """Raise StorageRefused if the owner may not store ``document_json`` (a new design, or
    ``replacing`` one of theirs); a new design also counts against the create rate."""
    if user is None and request.user.is_authenticated:
        user = request.user
    if user is not None:
        designs = Design.objects.filter(owner=user)
        key, max_count, max_bytes = f"user:{user.pk}", settings.DESIGN_MAX_COUNT_USER, settings.DESIGN_MAX_BYTES_USER
    else:
        token = owner_token(request) or ""
        designs = Design.objects.filter(owner__isnull=True, owner_token=token)
        key, max_count = f"browser:{token}", settings.DESIGN_MAX_COUNT_ANONYMOUS
        max_bytes = settings.DESIGN_MAX_BYTES_ANONYMOUS
    if replacing is None and designs.count() >= max_count:
        raise StorageRefused(f"you have {max_count} designs, the most {'an account' if user else 'a browser without an account'} "
                             "may keep: delete one first", 429)
    others = designs.exclude(pk=replacing.pk) if replacing is not None else designs
    used = others.aggregate(n=Sum(Length("document_json")))["n"] or 0
    if used + len(document_json) > max_bytes:
        raise StorageRefused(f"your designs would take {used + len(document_json):,} bytes; at most "
                             f"{size_text(max_bytes)} may be kept: delete a design or make this one smaller", 413)
    if replacing is None:
        refusal = throttle.take_attempt(request, _create_limits(key, anonymous=user is None))
        if refusal is not None:
            raise StorageRefused(refusal.message, 429, refusal.retry_after)
