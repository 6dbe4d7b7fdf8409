"""System Design Playground: a Django site around a pure simulation engine (``playground.engine``).

This package's ``__init__`` imports nothing of the site's, so that ``playground.engine`` stays
free of Django, Channels, Celery and Redis. Tasks bind to the Celery app explicitly (``from
playground.celery import app``) instead of through the usual import here.

It sets one thing for every process of the site (web, worker, scripts), before numpy loads:
OpenBLAS starts no threads of its own. The engine makes no BLAS call, and each process runs one
simulation per core; yet at import numpy's OpenBLAS starts a thread per core that spins before
it sleeps, which took 0.05-0.15 s of CPU from a process's start to its first frame
(docs/performance.md). A value set in the environment is kept.
"""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
