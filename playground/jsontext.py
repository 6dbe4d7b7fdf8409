"""Canonical JSON text: how documents, frames and summaries are stored and compared.

Sorted keys, compact separators, no NaN or infinity. PostgreSQL's jsonb would reorder keys and
lose the exact bytes a replay must reproduce, so the models keep text.
"""

from __future__ import annotations

import json
from typing import Any


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False, ensure_ascii=False)


def loads(text: str) -> Any:
    return json.loads(text)
