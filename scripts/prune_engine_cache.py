"""Remove the compiled core's numba caches of earlier versions of the engine.

numba caches the core in a directory named by a digest of the constants compiled into it
(``playground/engine/__pycache__/core-<digest>``, or under ``NUMBA_CACHE_DIR``: see
``jitcore._cache_dir``), so each edit of those constants leaves the previous directory behind,
25 MB or more each (a development checkout had 150-180 MB of them). ``make engine-core`` runs
this after compiling: it removes every ``core-*`` directory beside the current one. It lives
outside the engine package, which does no file I/O of this kind (tests/engine/test_purity.py).

    .venv/bin/python scripts/prune_engine_cache.py
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def stale(current: Path) -> list[Path]:
    """The cache directories of other versions of the core beside ``current``."""
    return sorted(p for p in current.parent.glob("core-*") if p.is_dir() and p != current)


def main() -> None:
    import numba

    from playground.engine import jitcore  # noqa: F401  (it points numba at the current cache)

    current = Path(numba.config.CACHE_DIR)
    for path in stale(current):
        shutil.rmtree(path, ignore_errors=True)
        print(f"removed the compiled core's cache of another version: {path.name}")


if __name__ == "__main__":
    main()
