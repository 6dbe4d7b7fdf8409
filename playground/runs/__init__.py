"""Runs: simulations in Celery workers, streamed to viewers over WebSockets."""
