"""Django settings, read from the environment (see the README's configuration table).

Defaults suit a laptop: SQLite under ``var/``, Redis on localhost. DEBUG is off unless set, and
then SECRET_KEY is required. Every Redis user (Channels, Celery, health checks) shares REDIS_URL.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import dj_database_url
from csp.constants import NONCE, NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

from playground.engine.limits import MAX_IN_FLIGHT
from playground.env import envbool, envint, envlist, envstr, redis_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

DEBUG = envbool("DEBUG", False)


def _secret_key() -> str:
    key = envstr("SECRET_KEY")
    if key:
        return key
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY: required when DEBUG is off")
    # Development only: one key per checkout, kept so sessions survive restarts.
    path = VAR_DIR / "secret_key"
    if not path.exists():
        VAR_DIR.mkdir(exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", ["localhost", "127.0.0.1"])
PORT = envint("PORT", 8000, minimum=1, maximum=65535)

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "django_htmx",
    "django_ratelimit",
    "ninja",
    "playground.designs",
    "playground.runs",
    "playground.lessons",
    "playground.accounts",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",  # before anything that renders a page (the refusals too)
    "playground.limits.BodySizeLimitMiddleware",
    "playground.limits.NulRefusalMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "playground.urls"
ASGI_APPLICATION = "playground.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "playground" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "playground.navigation.nav_links",
            ],
        },
    },
]


def _database() -> dict:
    url = envstr("DATABASE_URL", f"sqlite:///{VAR_DIR / 'playground.sqlite3'}")
    try:
        config = dj_database_url.parse(url)
    except Exception as exc:  # dj_database_url raises several types for a bad URL
        raise ImproperlyConfigured(f"DATABASE_URL={url!r}: {exc}") from None
    if config["ENGINE"] == "django.db.backends.sqlite3":
        Path(config["NAME"]).parent.mkdir(parents=True, exist_ok=True)
        # Cross-process tests (a Celery worker, Daphne) need the test database in a file.
        config["TEST"] = {"NAME": str(Path(config["NAME"]).with_name("test-" + Path(config["NAME"]).name))}
        config["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    return config


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = redis_url("REDIS_URL", "redis://127.0.0.1:6379/0")
REDIS_MAX_CONNECTIONS = envint("REDIS_MAX_CONNECTIONS", 2000, minimum=10)


def redis_settings(url: str) -> dict:
    """Everything that talks to Redis, from one URL (tests call it again with their own)."""
    return {
        "REDIS_URL": url,
        "CHANNEL_LAYERS": {
            "default": {
                "BACKEND": "channels_redis.core.RedisChannelLayer",
                # redis-py pools refuse (not wait) past max_connections (100 by default): a burst
                # of viewers joining at once needs more. redis-py 8 reads with a 5 s timeout by
                # default, the same 5 s channels_redis blocks in BZPOPMIN for a viewer's next
                # message: a quiet socket (a queued run) then died with TimeoutError. Reads wait
                # longer than the block.
                "CONFIG": {"hosts": [{"address": url, "max_connections": REDIS_MAX_CONNECTIONS,
                                      "socket_timeout": 30, "socket_connect_timeout": 5}],
                           "prefix": "playground:asgi"},
            }
        },
        "CELERY_BROKER_URL": url,
        "CELERY_RESULT_BACKEND": url,
        # Shared by every process: the log-in and sign-up attempt counts (accounts/throttle.py).
        "CACHES": {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url,
                               "KEY_PREFIX": "playground:cache"}},
    }


globals().update(redis_settings(REDIS_URL))

# Celery: JSON only; a task is acknowledged after it finishes, and goes back to the queue if its
# worker process dies (runs carry their own lease as well: see ARCHITECTURE.md).
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# The queues (playground/runs/queues.py): batch runs, live runs, sweep cells, housekeeping. A worker
# started without -Q takes all four; the Procfile gives batch, sweeps and celery to the prefork
# worker and live to the thread-pool worker.
CELERY_TASK_QUEUES = [Queue(name) for name in ("batch", "live", "sweeps", "celery")]
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_SOFT_TIME_LIMIT = envint("CELERY_TASK_SOFT_TIME_LIMIT", 15 * 60, minimum=1)
CELERY_TASK_TIME_LIMIT = envint("CELERY_TASK_TIME_LIMIT", 16 * 60, minimum=1)
CELERY_RESULT_EXPIRES = 3600
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# A pool process that has grown past this (KiB) is replaced after its current task: a leak or a
# huge run cannot take the machine's memory with it.
CELERY_WORKER_MAX_MEMORY_PER_CHILD = envint("CELERY_WORKER_MAX_MEMORY_PER_CHILD", 1024 * 1024, minimum=10_000)

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "my-designs"
LOGOUT_REDIRECT_URL = "home"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [
    BASE_DIR / "static",
    # Front-end libraries, installed from the npm registry by `make` (package-lock.json).
    ("npm/cytoscape", BASE_DIR / "node_modules" / "cytoscape" / "dist"),
    ("npm/cytoscape-dagre", BASE_DIR / "node_modules" / "cytoscape-dagre" / "dist"),
    ("npm/uplot", BASE_DIR / "node_modules" / "uplot" / "dist"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG and not envbool("STATIC_FROM_FINDERS", False)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# Development and tests serve static files straight from the finders; production serves the
# collected, hashed files (`manage.py collectstatic`).
WHITENOISE_USE_FINDERS = DEBUG or envbool("STATIC_FROM_FINDERS", False)
WHITENOISE_AUTOREFRESH = WHITENOISE_USE_FINDERS

# Behind a TLS-terminating proxy in production.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = envbool("SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", [])
# security.W021 (SECURE_HSTS_PRELOAD) is silenced on purpose: asking browsers to hard-code HTTPS for
# a domain and all its subdomains is the domain owner's decision, not the application's. Set
# SECURE_HSTS_PRELOAD=true once the owner has decided (README, "Configuration").
SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", False)
# Content-Security-Policy on every response (django-csp; README, "Content-Security-Policy"). Scripts
# only from the site, plus the per-response nonce on the inline import map; no eval (htmx's is off).
# Style attributes are allowed (style-src-attr): templates set computed colours and positions in
# them; <style> elements and style sheets only from the site. 'self' in connect-src covers the
# WebSocket on the same host and port (ws: for http, wss: for https).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF],
        "style-src-attr": [UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]

# Limits on what one client may send (playground/limits.py). A body longer than REQUEST_MAX_BYTES is
# a 413 (a design document is at most 1 MiB). TRUSTED_PROXY_COUNT is how many proxies in front of
# Daphne append to X-Forwarded-For; 0 (the default) believes no such header.
DATA_UPLOAD_MAX_MEMORY_SIZE = envint("REQUEST_MAX_BYTES", 1024 * 1024, minimum=1024)
TRUSTED_PROXY_COUNT = envint("TRUSTED_PROXY_COUNT", 0, minimum=0, maximum=10)
WS_MAX_MESSAGE_BYTES = envint("WS_MAX_MESSAGE_BYTES", 1024, minimum=16)
WS_MAX_MESSAGES = envint("WS_MAX_MESSAGES", 20, minimum=1)
WS_RATE_WINDOW_S = envint("WS_RATE_WINDOW_S", 10, minimum=1)

# Abuse limits (issue 13; README "Configuration", docs/reliability.md "Limits"). Open WebSockets per
# client address, counted in Redis across every Daphne process (playground/sockets.py); a socket
# whose process died stops counting after WS_CONNECTION_TTL_S.
WS_MAX_CONNECTIONS_PER_ADDRESS = envint("WS_MAX_CONNECTIONS_PER_ADDRESS", 100, minimum=1)
WS_CONNECTION_TTL_S = envint("WS_CONNECTION_TTL_S", 60, minimum=3)
# Log-in attempts per client address and per username, sign-ups per address, in each window of
# LOGIN_RATE_WINDOW_S seconds (accounts/throttle.py, django-ratelimit on the Redis cache). Its W001
# ("not officially supported") names only the backends it was written for: Django's own RedisCache
# adds with SET NX and counts with INCRBY, both atomic, which is what it needs.
LOGIN_ATTEMPTS_PER_ADDRESS = envint("LOGIN_ATTEMPTS_PER_ADDRESS", 30, minimum=1)
LOGIN_ATTEMPTS_PER_ACCOUNT = envint("LOGIN_ATTEMPTS_PER_ACCOUNT", 10, minimum=1)
SIGNUPS_PER_ADDRESS = envint("SIGNUPS_PER_ADDRESS", 10, minimum=1)
LOGIN_RATE_WINDOW_S = envint("LOGIN_RATE_WINDOW_S", 900, minimum=1)
SILENCED_SYSTEM_CHECKS = [*SILENCED_SYSTEM_CHECKS, "django_ratelimit.W001"]
# Designs each owner may keep (count, and bytes of document text together), and new designs a minute
# per owner and, for browsers without an account, per client address (designs/quota.py).
DESIGN_MAX_COUNT_ANONYMOUS = envint("DESIGN_MAX_COUNT_ANONYMOUS", 50, minimum=1)
DESIGN_MAX_COUNT_USER = envint("DESIGN_MAX_COUNT_USER", 500, minimum=1)
DESIGN_MAX_BYTES_ANONYMOUS = envint("DESIGN_MAX_BYTES_ANONYMOUS", 10 * 1024 * 1024, minimum=1024)
DESIGN_MAX_BYTES_USER = envint("DESIGN_MAX_BYTES_USER", 50 * 1024 * 1024, minimum=1024)
DESIGN_CREATES_PER_MINUTE = envint("DESIGN_CREATES_PER_MINUTE", 20, minimum=1)
DESIGN_CREATES_PER_MINUTE_PER_ADDRESS = envint("DESIGN_CREATES_PER_MINUTE_PER_ADDRESS", 40, minimum=1)
DESIGN_CREATE_WINDOW_S = 60
# Scenario events (and traffic steps) a document may have for the editor, its panels, validate and import.
EDITOR_MAX_EVENTS = envint("EDITOR_MAX_EVENTS", 100, minimum=1)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": envstr("LOG_LEVEL", "INFO")},
}

# Runs (ARCHITECTURE.md "Limits that keep a public site up"); every one can be set in the environment.
RUN_MAX_EXPECTED_REQUESTS = envint("RUN_MAX_EXPECTED_REQUESTS", 10_000_000, minimum=1)
RUN_MAX_IN_FLIGHT = envint("RUN_MAX_IN_FLIGHT", 1_000_000, minimum=1, maximum=MAX_IN_FLIGHT)
# Work and memory (playground/engine/work.py, playground/runs/guard.py): a run whose worst-case
# estimate is over RUN_MAX_WORK calls is refused; the engine stops one that processes more than
# 4 events per call of it; the runner fails one whose process grew by more than RUN_MAX_MEMORY_MB
# since it started. Live runs are capped site-wide (they hold a live worker's thread).
RUN_MAX_WORK = envint("RUN_MAX_WORK", 100_000_000, minimum=1)
RUN_MAX_MEMORY_MB = envint("RUN_MAX_MEMORY_MB", 1024, minimum=16)
RUN_LIVE_MAX_ACTIVE = envint("RUN_LIVE_MAX_ACTIVE", 20, minimum=1)
# Pictures drawn on demand (charts, topology, previews; playground/runs/picture_views.py) that no
# store holds yet, per client address and on the whole site, a minute. 0 lifts them.
PICTURE_RENDERS_PER_MINUTE = envint("PICTURE_RENDERS_PER_MINUTE", 30, minimum=0)
PICTURE_RENDERS_PER_MINUTE_SITE = envint("PICTURE_RENDERS_PER_MINUTE_SITE", 600, minimum=1)
# An address without an account simulates one batch run or sweep cell at a time (its others wait
# their turn at the back of the queue), so one script cannot hold every worker process. Off in
# development (make run), where the one visitor is you and your sweeps should use every worker.
ANONYMOUS_ONE_AT_A_TIME = envbool("ANONYMOUS_ONE_AT_A_TIME", not DEBUG)
RUN_MAX_ACTIVE_ANONYMOUS = envint("RUN_MAX_ACTIVE_ANONYMOUS", 3, minimum=1)
RUN_MAX_ACTIVE_USER = envint("RUN_MAX_ACTIVE_USER", 10, minimum=1)
RUN_STARTS_PER_MINUTE = envint("RUN_STARTS_PER_MINUTE", 30, minimum=0)
# Anonymous browsers are counted by address too (a client that drops its cookies is a new browser
# at every request); an office behind one address shares these.
RUN_MAX_ACTIVE_PER_ADDRESS = envint("RUN_MAX_ACTIVE_PER_ADDRESS", 10, minimum=1)
RUN_STARTS_PER_MINUTE_PER_ADDRESS = envint("RUN_STARTS_PER_MINUTE_PER_ADDRESS", 60, minimum=1)
RUN_LIVE_MAX_WALL_S = envint("RUN_LIVE_MAX_WALL_S", 15 * 60, minimum=1)
RUN_BATCH_TIME_LIMIT_S = envint("RUN_BATCH_TIME_LIMIT_S", 10 * 60, minimum=1)
RUN_LEASE_TTL_S = envint("RUN_LEASE_TTL_S", 30, minimum=1)
RUN_MAX_ATTEMPTS = envint("RUN_MAX_ATTEMPTS", 3, minimum=1)
RUN_QUEUE_TIMEOUT_S = envint("RUN_QUEUE_TIMEOUT_S", 30 * 60, minimum=1)
RUN_REAP_INTERVAL_S = envint("RUN_REAP_INTERVAL_S", 10, minimum=1)
# A queued run's task is sent again if no worker has started it this long after it was sent.
RUN_REQUEUE_S = envint("RUN_REQUEUE_S", 300, minimum=1)
RUN_FRAME_BATCH = envint("RUN_FRAME_BATCH", 50, minimum=1)
RUN_MAX_FRAMES = envint("RUN_MAX_FRAMES", 3600, minimum=1)
RUN_MAX_CONTROLS = envint("RUN_MAX_CONTROLS", 200, minimum=1)
# Unclaimed anonymous work (no account owns it) that nobody else opened or forked is deleted this
# many hours after its last change, with its Redis keys, by the beat task runs.expire.
ANONYMOUS_RETENTION_H = envint("ANONYMOUS_RETENTION_H", 7 * 24, minimum=1)
EXPIRE_INTERVAL_S = envint("EXPIRE_INTERVAL_S", 3600, minimum=1)
CELERY_BEAT_SCHEDULE = {
    "reap-runs": {"task": "runs.reap", "schedule": float(RUN_REAP_INTERVAL_S)},
    "expire-anonymous-work": {"task": "runs.expire", "schedule": float(EXPIRE_INTERVAL_S)},
}

# Sweeps and replications (many runs of one design, fanned out over Celery workers).
SWEEP_MAX_CELLS = envint("SWEEP_MAX_CELLS", 200, minimum=1)
SWEEP_MAX_ACTIVE_ANONYMOUS = envint("SWEEP_MAX_ACTIVE_ANONYMOUS", 1, minimum=1)
SWEEP_MAX_ACTIVE_USER = envint("SWEEP_MAX_ACTIVE_USER", 3, minimum=1)
SWEEP_STALL_S = envint("SWEEP_STALL_S", 300, minimum=10)
# Sweeps are capped like runs: per address for anonymous owners, and a start rate per owner and
# per address. A sweep keeps at most SWEEP_CELLS_IN_FLIGHT cells queued or running at once, so
# sweeps from several owners take turns.
SWEEP_MAX_ACTIVE_PER_ADDRESS = envint("SWEEP_MAX_ACTIVE_PER_ADDRESS", 3, minimum=1)
SWEEP_STARTS_PER_MINUTE = envint("SWEEP_STARTS_PER_MINUTE", 6, minimum=0)
SWEEP_STARTS_PER_MINUTE_PER_ADDRESS = envint("SWEEP_STARTS_PER_MINUTE_PER_ADDRESS", 12, minimum=1)
SWEEP_CELLS_IN_FLIGHT = envint("SWEEP_CELLS_IN_FLIGHT", 4, minimum=1)
