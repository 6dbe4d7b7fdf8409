"""The ASGI application Daphne serves: Django's HTTP views and the WebSocket consumers, one process.

A WebSocket passes the same-origin check (scheme, host and port; ``playground/sockets.py``), then
the cap on open sockets per client address, and carries the session's user.
"""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "playground.settings")
django_asgi_app = get_asgi_application()  # Before importing consumers: it sets Django up.

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from playground.routing import websocket_urlpatterns  # noqa: E402
from playground.sockets import ConnectionCap, SameOriginValidator  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": SameOriginValidator(ConnectionCap(AuthMiddlewareStack(URLRouter(websocket_urlpatterns)))),
    }
)
