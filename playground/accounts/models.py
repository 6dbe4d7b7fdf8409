"""Personal API tokens.

Terms
-----
token
    ``sdp_`` and 43 URL-safe characters (256 random bits), shown once when it is made. Only its
    SHA-256 *digest* is stored: a token has too much entropy to need a slow hash, and a lookup by
    digest is one indexed query.
prefix
    The token's first 8 characters after ``sdp_``, kept so the account page can tell tokens apart.
"""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import models

TOKEN_PREFIX = "sdp_"


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ApiToken(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=8)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @classmethod
    def issue(cls, user, name: str) -> tuple[ApiToken, str]:
        """A new token for ``user``: the row and the token itself, which is not kept."""
        secret = secrets.token_urlsafe(32)
        token = TOKEN_PREFIX + secret
        row = cls.objects.create(user=user, name=name, prefix=secret[:8], digest=digest(token))
        return row, token
