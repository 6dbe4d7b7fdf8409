"""The simulation engine: the design document (SCHEMA.md) and the simulation that runs it.

Pure Python (and numpy): no Django, Channels, Celery or Redis, and no I/O outside ``__main__``.

Terms
-----
document
    A design and its scenario, as JSON data or as a ``Document`` (see ``document.py``).
load / dump
    Text or data to a validated ``Document`` with defaults filled, and back to canonical data.
Simulation, run, ENGINE_VERSION
    The simulation (``simulation.py``) and its version (``version.py``), imported on first use so
    that loading documents never pays for the simulation.
"""

from __future__ import annotations

import importlib
from typing import Any

from playground.engine.document import SCHEMA_VERSION, Document
from playground.engine.limits import Limits
from playground.engine.loading import parse
from playground.engine.params import spec
from playground.engine.problems import DocumentError, Problem
from playground.engine.schema import (
    dump,
    load,
    parse_control,
    upgrade,
    validate,
    validate_control,
)
from playground.engine.work import WorkBudgetExceeded, estimate_document

__all__ = [
    "ENGINE_VERSION",
    "SCHEMA_VERSION",
    "Document",
    "DocumentError",
    "Limits",
    "Problem",
    "Simulation",
    "dump",
    "load",
    "parse",
    "parse_control",
    "run",
    "spec",
    "upgrade",
    "validate",
    "validate_control",
    "WorkBudgetExceeded",
    "estimate_document",
]

_LAZY = {"Simulation": "simulation", "run": "simulation", "ENGINE_VERSION": "version"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module = importlib.import_module(f"playground.engine.{_LAZY[name]}")
        return getattr(module, name)
    raise AttributeError(f"module 'playground.engine' has no attribute {name!r}")
