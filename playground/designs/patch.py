"""JSON merge patch (RFC 7396): how a template's variant changes its document.

A patch object's keys replace the target's, ``null`` deletes a key, and nested objects merge.
Lists are replaced whole, so a variant that changes one node restates the ``nodes`` list; to
keep variants short, ``nodes`` and ``edges`` may also be patched by id: a patch whose ``nodes``
is an *object* maps node ids to a merge patch of that node (``null`` removes it, an unknown id
adds it).
"""

from __future__ import annotations

import copy
from typing import Any


def merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def apply_variant(document: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """Apply a variant's patch, with ``nodes`` patched by id when the patch gives an object."""
    patch = dict(patch)
    nodes_patch = patch.pop("nodes", None) if isinstance(patch.get("nodes"), dict) else None
    result = merge_patch(document, patch)
    if nodes_patch is not None:
        nodes = [copy.deepcopy(n) for n in result.get("nodes", [])]
        by_id = {n.get("id"): i for i, n in enumerate(nodes) if isinstance(n, dict)}
        removed = set()
        for node_id, node_patch in nodes_patch.items():
            if node_id in by_id:
                if node_patch is None:
                    removed.add(node_id)
                else:
                    nodes[by_id[node_id]] = merge_patch(nodes[by_id[node_id]], node_patch)
            elif node_patch is not None:
                nodes.append(merge_patch({"id": node_id}, node_patch))
        result["nodes"] = [n for n in nodes if not (isinstance(n, dict) and n.get("id") in removed)]
        if removed:
            result["edges"] = [
                e for e in result.get("edges", []) if e.get("from") not in removed and e.get("to") not in removed
            ]
    return result
