"""System Design Playground: a Django site around a pure simulation engine (``playground.engine``).

This package's ``__init__`` imports nothing, so that ``playground.engine`` stays free of Django,
Channels, Celery and Redis. Tasks bind to the Celery app explicitly (``from playground.celery
import app``) instead of through the usual import here.
"""
