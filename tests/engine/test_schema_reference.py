"""The contract lives in the repository: docs/schema.md names every parameter of the table
(params.py) with its default and its range, every action and every error cause; and the parts of
it that describe the table (node kinds, edges, scenario, traffic steps, events and their actions,
distributions, live controls) name no parameter the table lacks.

How the reference writes a parameter: its name in backticks (or quoted, inside an object in
backticks), then its default in square brackets and its range in parentheses, either of them
absent where there is none: `` `rps` [100] (0-1e6) ``, ``"cooldown_s" [300]``,
`` `tick_s` [1] (0-86400, not 0; ...) ``.

default
    a number; ``true``/``false``; every choice of an enum, the default first (``["sync" /
    "async"]``); a JSON list (``[["timeout"]]``); ``none``, ``null`` or ``off`` for no value. A
    required field has no default written.
range
    ``lo-hi``, then ``, not lo`` when ``lo`` itself is excluded. A number the reference gives no
    range for is >= 0 and at most 1e9 (it says so once), so that range is the only one that may go
    unwritten.
nullable
    ``null`` (or ``none``, ``off``) in the default or the range.

The extensions of issue 16 (breakers, budgets, deploy strategies), described at the end of the
reference ahead of the table, are outside the regions checked for names the table lacks.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import pytest

from playground.engine import params as table
from playground.engine.document import ERROR_CAUSES
from playground.engine.params import Param
from tests.engine.conftest import SCHEMA_MD

_NUM = r"\d+(?:\.\d+)?(?:e\d+)?"
_RANGE = re.compile(rf"\s*({_NUM})\s*-\s*({_NUM})(?![\w.])((?:\s*,\s*not\s+{_NUM}(?![\w.]))*)")
_NOT = re.compile(rf"not\s+({_NUM})")
_PAIRS = {"[": "]", "(": ")", "{": "}"}


def _closing(text: str, at: int) -> int:
    """The index just past the bracket that closes the one at ``text[at]``; -1 if none does."""
    depth = 0
    for i in range(at, len(text)):
        if text[i] == text[at]:
            depth += 1
        elif text[i] == _PAIRS[text[at]]:
            depth -= 1
            if depth == 0:
                return i + 1
    return -1


def _span(text: str, start: str, end: str | None = None) -> str:
    """The text from ``start`` (included) to ``end`` (excluded) or the end."""
    at = text.index(start)
    stop = text.find(end, at + len(start)) if end else -1
    return text[at:stop] if stop >= 0 else text[at:]


def _braced(text: str, marker: str) -> str:
    """The ``{...}`` object that ``marker`` starts or is followed by (a space in ``marker``
    matches any line break or run of spaces)."""
    found = re.search(r"\s+".join(re.escape(w) for w in marker.split(" ")), text)
    assert found, f"{marker!r} is not in the reference"
    at = text.index("{", found.start())
    return text[at:_closing(text, at)]


@dataclass(frozen=True)
class Mention:
    """A parameter named in the reference: the text of its default and of its parentheses."""

    name: str
    default: str | None
    paren: str | None

    @property
    def range(self) -> tuple[float, float, bool, bool] | None:
        """``(lo, hi, lo excluded, hi excluded)`` as written, or None."""
        m = _RANGE.match(self.paren or "")
        if m is None:
            return None
        lo, hi = float(m.group(1)), float(m.group(2))
        nots = {float(x) for x in _NOT.findall(m.group(3))}
        return lo, hi, lo in nots, hi in nots


def mentions(region: str) -> list[Mention]:
    """Every `name` or "name" in ``region``, with the brackets that follow it."""
    out = []
    for m in re.finditer(r'[`"]([a-z][a-z0-9_]*)[`"]', region):
        at = m.end()
        parts: dict[str, str | None] = {"[": None, "(": None}
        for opener in "[(":
            while at < len(region) and region[at].isspace():
                at += 1
            if at < len(region) and region[at] == opener:
                end = _closing(region, at)
                if end < 0:
                    break
                parts[opener] = " ".join(region[at + 1:end - 1].split())
                at = end
        out.append(Mention(m.group(1), parts["["], parts["("]))
    return out


def annotated(region: str) -> list[Mention]:
    """The mentions that give a default or a range."""
    return [m for m in mentions(region) if m.default is not None or m.range is not None]


# ---------------------------------------------------------------------------- the regions


def kind_rows(doc: str) -> dict[str, str]:
    """Each row of the node-kinds table: kind -> its parameters column."""
    table = _span(doc, "## Node kinds", "\n\n")
    rows = {}
    for line in table.splitlines():
        m = re.match(r"\| `([a-z_]+)` \|[^|]*\|(.*)\|\s*$", line)
        if m:
            rows[m.group(1)] = m.group(2)
    return rows


def regions(doc: str) -> dict[str, str]:
    """Where the reference describes each part of the table, by section name."""
    out = {f"node.{kind}": column for kind, column in kind_rows(doc).items()}
    out["edge"] = _span(doc, "Edge parameters:", "\n\n")
    scenario = _span(doc, "## Scenario", "\n## ")
    out["scenario"] = _span(scenario, "## Scenario", "`traffic`:")
    out["traffic"] = _braced(scenario, "`traffic`: steps")
    out["event"] = _braced(scenario, "`events`:")
    out["control.traffic"] = _braced(scenario, '{"kind": "traffic"')
    out["control.event"] = _braced(scenario, '{"kind": "event"')
    ops = _span(doc, "## Instance life and operations", "\n## ")
    for action in table.ACTION_PARAMS:
        part = _span(ops, f"`{action}`")
        others = [part.find(f"`{a}`", 1) for a in table.ACTION_PARAMS if a != action]
        stops = [i for i in [*others, part.find("\n- ")] if i > 0]
        out[f"action.{action}"] = part[:min(stops)] if stops else part
    units = _span(doc, "Units:", "\n\n")
    for kind in table.DIST_KINDS:
        out[f"dist.{kind}"] = _braced(units, f'{{"dist": "{kind}"')
    return out


def nested(region: str, parent: str) -> str:
    """The default of ``parent`` in ``region`` (where an object's fields are described)."""
    found = [m for m in mentions(region) if m.name == parent and m.default]
    assert found, f"{parent} has no [default] describing its fields"
    return found[0].default or ""


# ---------------------------------------------------------------------------- what to find


def expected_range(p: Param) -> tuple[float, float, bool, bool] | None:
    """The range the reference must write for ``p`` (None: the implicit >= 0, at most 1e9)."""
    if p.type not in ("int", "number", "dist"):
        return None
    got = (float(p.min or 0), float(p.max if p.max is not None else table.BIG), p.min_exclusive,
           p.max_exclusive)
    return None if got == (0.0, table.BIG, False, False) else got


def default_problem(p: Param, text: str | None) -> str | None:
    """What is wrong with ``text`` as the written default of ``p``; None if it is right."""
    if p.required:
        return None if text is None else f"a required field has no default, not [{text}]"
    if text is None:
        return "no [default] written"
    if p.default is None:
        ok = re.match(r"(none|null|off)\b", text) is not None
    elif p.type == "bool":
        ok = text == json.dumps(p.default)
    elif p.type == "enum":
        ok = text == " / ".join(json.dumps(c) for c in p.choices) and p.default == p.choices[0]
    elif p.type == "causes":
        ok = text == json.dumps(list(p.default))
    elif p.type in ("int", "number", "dist"):
        ok = re.fullmatch(_NUM, text) is not None and float(text) == float(p.default)
    else:
        ok = text == json.dumps(p.default)
    return None if ok else f"default [{text}], the table's is {p.default!r}"


def param_problems(p: Param, region: str) -> list[str]:
    """What the reference gets wrong about ``p`` in ``region``; [] if nothing."""
    found = [m for m in mentions(region) if m.name == p.name]
    if not found:
        return [f"{p.name}: not named"]
    written = next((m for m in found if m.default is not None or m.range is not None), found[0])
    problems = []
    wrong = default_problem(p, written.default)
    if wrong:
        problems.append(f"{p.name}: {wrong}")
    want = expected_range(p)
    if written.range != want:
        problems.append(f"{p.name}: range {written.paren!r} read as {written.range}, the "
                        f"table's is {want}")
    if p.nullable and not any(re.search(r"\b(none|null|off)\b", t or "")
                              for t in (written.default, written.paren)):
        problems.append(f"{p.name}: null is a value, and the reference does not say so")
    return problems


def parts() -> list[tuple[str, str, tuple[Param, ...]]]:
    """Every part of the table: (id, region name, its params)."""
    out: list[tuple[str, str, tuple[Param, ...]]] = []
    for kind, params in table.NODE_PARAMS.items():
        out.append((f"node.{kind}", f"node.{kind}", params))
        for p in params:
            if p.fields:
                out.append((f"node.{kind}.{p.name}", f"node.{kind}>{p.name}", p.fields))
    out += [("edge", "edge", table.EDGE_PARAMS), ("scenario", "scenario", table.SCENARIO_PARAMS),
            ("traffic", "traffic", table.TRAFFIC_PARAMS), ("event", "event", table.EVENT_PARAMS),
            ("control.traffic", "control.traffic", table.TRAFFIC_CONTROL_PARAMS),
            ("control.event", "control.event", table.EVENT_PARAMS[1:])]
    out += [(f"action.{a}", f"action.{a}", ps) for a, ps in table.ACTION_PARAMS.items()]
    out += [(f"dist.{d}", f"dist.{d}", ps) for d, ps in table.DIST_FIELDS.items()]
    return out


def region_of(doc: str, name: str) -> str:
    found = regions(doc)
    if ">" in name:
        where, parent = name.split(">")
        return nested(found[where], parent)
    return found[name]


def reference_problems(doc: str) -> list[str]:
    """Everything the reference ``doc`` gets wrong against the table; [] if nothing."""
    problems = []
    found = regions(doc)
    if set(kind_rows(doc)) != set(table.KINDS):
        problems.append(f"node kinds: the reference has {sorted(kind_rows(doc))}")
    for ident, where, params in parts():
        if where.split(">")[0] not in found:
            problems.append(f"{ident}: no place in the reference")
            continue
        region = region_of(doc, where)
        for p in params:
            problems += [f"{ident}.{x}" for x in param_problems(p, region)]
        if ">" in where:
            continue
        known = {p.name for p in params} | {f.name for p in params for f in p.fields}
        extra = {m.name for m in annotated(region)} - known
        if where.startswith("node."):
            # The fields of a nested object are annotated inside its parent's default.
            extra -= {f.name for p in params for f in p.fields}
        problems += [f"{ident}: the reference describes {name!r}, which the table lacks"
                     for name in sorted(extra)]
    causes = _span(doc, "Error causes:", "\n\n")
    if re.findall(r"`([a-z_]+)`", causes) != list(ERROR_CAUSES):
        problems.append(f"error causes: the reference lists {re.findall(r'`([a-z_]+)`', causes)}")
    return problems


# ---------------------------------------------------------------------------- the tests

DOC = SCHEMA_MD.read_text()


@pytest.mark.parametrize(("ident", "where", "params"), parts(), ids=[t[0] for t in parts()])
def test_the_reference_names_every_parameter_with_its_default_and_range(ident, where, params):
    assert where.split(">")[0] in regions(DOC), f"docs/schema.md has no place for {ident}"
    region = region_of(DOC, where)
    problems = [x for p in params for x in param_problems(p, region)]
    assert not problems, f"docs/schema.md, {ident}: " + "; ".join(problems)


def test_the_reference_describes_nothing_the_table_lacks_and_every_kind_action_and_cause():
    assert reference_problems(DOC) == []
    assert {k.split(".")[1] for k in regions(DOC) if k.startswith("action.")} == set(table.ACTION_PARAMS)
    assert table.EVENT_PARAMS[1].choices == tuple(table.ACTION_PARAMS)


def test_every_action_and_distribution_has_its_place():
    found = regions(DOC)
    for action in table.ACTION_PARAMS:
        assert found[f"action.{action}"].startswith(f"`{action}`")
    for kind in table.DIST_KINDS:
        assert found[f"dist.{kind}"].startswith(f'{{"dist": "{kind}"')


@pytest.mark.parametrize(("change", "named"), [
    (("`rps` [100] (0-1e6), ", ""), "node.client.rps: not named"),
    (("`rps` [100]", "`rps` [200]"), "node.client.rps: default [200]"),
    (("`rps` [100] (0-1e6)", "`rps` [100] (0-1e5)"), "node.client.rps: range"),
    (("`users` [1000] (1-1e7)", "`users` [1000]"), "node.client.users: range"),
    (('"eval_s" [60] (0-1e9, not 0)', '"eval_s" [60] (0-1e9)'), "node.service.autoscale.eval_s"),
    (('["round_robin" / "random"', '["random" / "round_robin"'), "node.load_balancer.algorithm"),
    (("`queue` [64] (0-1e6, null: unbounded)", "`queue` [64] (0-1e6)"), "node.service.queue"),
    (("`count` [1] (1-1000)", "`count` [2] (1-1000)"), "action.kill_instance.count"),
    (('"k" (1-1000)', '"k" (1-100)'), "dist.erlang.k"),
    (('"ramp_s" [0] (0-86400)}`, `events`', '"ramp_s" [0]}`, `events`'), "traffic.ramp_s"),
    (("`retries` [0]\n(0-10;", "`retries` [1]\n(0-10;"), "edge.retries"),
    (("`seed` [0] (0-9007199254740991,", "`seed` [0] ("), "scenario.seed"),
    (("`keep_warm_s` [300],", "`keep_warm_s` [300], `warm_pool` [2],"), "'warm_pool'"),
    (("`upload_failed`, `error`,", "`upload_failed`,"), "error causes"),
    (("| `external` |", "| `externe` |"), "node kinds"),
])
def test_a_removed_row_or_a_changed_default_or_range_is_caught(change, named):
    old, new = change
    assert DOC.count(old) == 1, old
    problems = reference_problems(DOC.replace(old, new))
    assert any(named in x for x in problems), problems
