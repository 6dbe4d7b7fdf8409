"""What every WebSocket passes before a consumer sees it, and the close codes the site sends.

Terms
-----
close codes
    autobahn (under Daphne) lets an application close a socket only with 1000 or 3000-4999; any
    other code is logged as "invalid close code" and the client gets 1011 instead. The site's own
    codes are in the 4000 range, each named here (and in docs/reliability.md):

    ====  ===========================================================================
    4008  too many messages: more than ``WS_MAX_MESSAGES`` in ``WS_RATE_WINDOW_S`` seconds
    4009  message too big: over ``WS_MAX_MESSAGE_BYTES``, or a binary message
    4400  bad query: ``?after=`` is not a whole number from 0 to 2**31-1
    4404  no such run
    4429  too many connections from the client's address (``WS_MAX_CONNECTIONS_PER_ADDRESS``)
    ====  ===========================================================================

    A socket refused with a code is accepted and closed at once, so the client reads the code
    (a handshake refusal only gives an HTTP status). A foreign origin is refused at the handshake
    (HTTP 403): no page of the site opened it.
same origin
    The Origin header equals the site's own ``scheme://host:port`` as the request reached it: the
    Host header (which must be in ALLOWED_HOSTS), and the scheme ``https`` when the socket is
    ``wss`` or when SECURE_PROXY_SSL_HEADER's header says so (the rule Django's ``is_secure()``
    follows for HTTP), else ``http``; default ports are filled in before comparing. Any origin in
    CSRF_TRUSTED_ORIGINS is accepted as well.
connection slot
    Each open socket holds a member of the Redis sorted set ``ws:conns:<address>``, scored by the
    time it lapses (now + ``WS_CONNECTION_TTL_S``) and refreshed every third of that while the
    socket is open, so the count is shared by every Daphne process, and a socket whose process
    died without a disconnect stops counting within ``WS_CONNECTION_TTL_S``. One Lua script drops
    lapsed members, checks the count and adds the new one, so concurrent connects cannot pass the
    cap together. If Redis does not answer, the socket is let through (the consumers need Redis
    anyway and will say so); the cap is not worth an outage of its own.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import weakref
from urllib.parse import urlsplit

import redis.asyncio as aioredis
from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host

from playground.limits import forwarded_address

log = logging.getLogger(__name__)

CLOSE_TOO_MANY_MESSAGES = 4008
CLOSE_MESSAGE_TOO_BIG = 4009
CLOSE_BAD_QUERY = 4400
CLOSE_NO_SUCH_RUN = 4404
CLOSE_TOO_MANY_CONNECTIONS = 4429

DEFAULT_PORTS = {"http": 80, "https": 443}


def header(scope, name: bytes) -> str:
    """The value of a request header (the last, if repeated), '' when absent."""
    value = ""
    for key, raw in scope.get("headers", []):
        if key.lower() == name:
            value = raw.decode("latin1")
    return value


def scope_address(scope) -> str:
    """The client address of a socket, by the same rule as ``limits.client_address``."""
    client = scope.get("client") or ("", 0)
    return forwarded_address(client[0] or "", header(scope, b"x-forwarded-for"), settings.TRUSTED_PROXY_COUNT)


def _origin_tuple(scheme: str, host: str, port: int | None) -> tuple[str, str, int]:
    return scheme, host.lower().rstrip("."), port or DEFAULT_PORTS.get(scheme, 0)


def parse_origin(text: str) -> tuple[str, str, int] | None:
    try:
        parts = urlsplit(text.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    return _origin_tuple(parts.scheme, parts.hostname, port)


def site_origin(scope) -> tuple[str, str, int] | None:
    """The site's own origin as this socket reached it (see *same origin*); None for a Host the
    site does not answer to."""
    host = header(scope, b"host")
    domain, port = split_domain_port(host)
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        return None
    secure = scope.get("scheme") == "wss"
    proxy_header = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    if proxy_header:
        name, value = proxy_header
        wanted = name.removeprefix("HTTP_").replace("_", "-").lower().encode()
        forwarded = header(scope, wanted)
        if forwarded:
            secure = forwarded.split(",", 1)[0].strip() == value
    try:
        number = int(port) if port else None
    except ValueError:
        return None
    return _origin_tuple("https" if secure else "http", domain, number)


def same_origin(scope) -> bool:
    origin = parse_origin(header(scope, b"origin"))
    if origin is None:
        return False
    if origin == site_origin(scope):
        return True
    return origin in {parse_origin(o) for o in settings.CSRF_TRUSTED_ORIGINS}


class SameOriginValidator:
    """Refuses (HTTP 403 at the handshake) a socket whose Origin is not the site's own."""

    def __init__(self, application) -> None:
        self.application = application

    async def __call__(self, scope, receive, send):
        if same_origin(scope):
            return await self.application(scope, receive, send)
        return await WebsocketDenier()(scope, receive, send)


# --- connections per address ----------------------------------------------------------------------

# KEYS[1] the address's set; ARGV: member, ttl (s), cap. Returns 1 when the slot is taken, else 0.
_TAKE_SLOT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then
  return 0
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[2])) + 1)
return 1
"""

# Refresh a slot only if it is still there (XX): a lapsed slot is not revived.
_KEEP_SLOT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local kept = redis.call('ZADD', KEYS[1], 'XX', 'CH', now + tonumber(ARGV[2]), ARGV[1])
redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[2])) + 1)
return kept
"""

_clients: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _redis() -> aioredis.Redis:
    """One asyncio client per event loop (tests run each in a loop of its own)."""
    loop = asyncio.get_running_loop()
    client = _clients.get(loop)
    if client is None:
        client = aioredis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
        _clients[loop] = client
    return client


def slots_key(address: str) -> str:
    return f"ws:conns:{address}"


async def take_slot(address: str, member: str) -> bool:
    """True if the address may open one more socket (and it now counts); see *connection slot*."""
    try:
        return bool(await _redis().eval(_TAKE_SLOT, 1, slots_key(address), member,
                                        settings.WS_CONNECTION_TTL_S, settings.WS_MAX_CONNECTIONS_PER_ADDRESS))
    except (aioredis.RedisError, OSError) as exc:
        log.warning("WebSocket connection cap not checked, Redis did not answer: %s", exc)
        return True


async def _keep_slot(address: str, member: str) -> None:
    while True:
        await asyncio.sleep(settings.WS_CONNECTION_TTL_S / 3)
        try:
            await _redis().eval(_KEEP_SLOT, 1, slots_key(address), member, settings.WS_CONNECTION_TTL_S)
        except (aioredis.RedisError, OSError):
            continue


async def release_slot(address: str, member: str) -> None:
    try:
        await _redis().zrem(slots_key(address), member)
    except (aioredis.RedisError, OSError):
        pass  # the slot lapses by itself


async def close_with(code: int, receive, send) -> None:
    """Accept the handshake and close at once with ``code``, so the client reads it."""
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.close", "code": code})


class ConnectionCap:
    """Closes a socket 4429 when its address already holds WS_MAX_CONNECTIONS_PER_ADDRESS open
    ones, across every Daphne process (see *connection slot*)."""

    def __init__(self, application) -> None:
        self.application = application

    async def __call__(self, scope, receive, send):
        address = scope_address(scope)
        member = secrets.token_hex(8)
        if not await take_slot(address, member):
            return await close_with(CLOSE_TOO_MANY_CONNECTIONS, receive, send)
        keeper = asyncio.create_task(_keep_slot(address, member))
        try:
            return await self.application(scope, receive, send)
        finally:
            keeper.cancel()
            await asyncio.shield(release_slot(address, member))
