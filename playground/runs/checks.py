"""A template run's expectations, checked against the run itself.

An expectation about this run alone (its template and variant) is met or not from its summary. One
that compares this run with another (``minus``) is checked when a finished run of the other side
exists with the same seed and engine version; until then it says which run it waits for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from playground.designs import expectations as ex
from playground.designs.patch import apply_variant
from playground.engine import DocumentError, dump, load
from playground.runs import chaos, metrics
from playground.runs.models import Run


@dataclass(frozen=True)
class Check:
    says: str
    state: str  # "met", "not met", "waiting" (the run has not finished), "needs" (another run)
    detail: str
    needs: ex.RunRef | None = None


def _ref_of(run: Run) -> ex.RunRef:
    return ex.RunRef(run.template.slug, run.variant)


def _summary_for(ref: ex.RunRef, run: Run) -> dict[str, Any] | None:
    if ref == _ref_of(run):
        return run.summary
    other = (
        Run.objects.filter(template__slug=ref.template, variant=ref.variant, seed=run.seed,
                           engine_version=run.engine_version, status=Run.Status.DONE)
        .order_by("created_at")
        .first()
    )
    return other.summary if other else None


def own_changes(run: Run) -> str:
    """The user's own chaos in this run, in words ("" if none): the live controls it received,
    and scenario events or traffic steps its document adds to the template's (controls carried
    by Run again). A promise is about the template as designed, so these explain a miss."""
    document = run.document
    parts = [chaos.controls_text(run.applied_events, document)] if run.applied_events else []
    if run.template is not None:
        variants = run.template.variants or {}
        try:
            base_doc = run.template.document
            if run.variant in variants:
                base_doc = apply_variant(base_doc, variants[run.variant])
            base = dump(load(base_doc))
        except (DocumentError, ValueError):
            base = None
        if base is not None:
            parts.extend(chaos.scenario_additions(document, base))
    return ", ".join(p for p in parts if p)


def describe(expectation: ex.Expectation, actual: float) -> str:
    """"p99 latency (summary.latency_ms.p99) = 113.7 ms; expected < 200": the catalogue's label and
    formatting where it knows the metric, the path as the detail."""
    m = metrics.for_path(expectation.metric_text)
    subject = expectation.metric_text if m is None else f"{m.label} ({expectation.metric_text})"
    if expectation.minus is not None:
        subject = f"{subject} of {expectation.run.label} minus {expectation.minus.label}"
    shown = f"{actual:g}" if m is None or m.kind == "share" else m.format(actual)
    return f"{subject} = {shown}; expected {expectation.op} {ex._value_text(expectation.value)}"


def checks_for(run: Run) -> list[Check]:
    if run.template is None:
        return []
    mine = _ref_of(run)
    changes = None
    out: list[Check] = []
    for index, raw in enumerate(run.template.expectations or []):
        try:
            expectation = ex.parse(raw, run.template.slug, f"expectations[{index}]")
        except ex.ExpectationError:
            continue
        if mine not in (expectation.run, expectation.minus):
            continue
        if run.summary is None:
            out.append(Check(expectation.says, "waiting", "checked when the run ends"))
            continue
        missing = next((ref for ref in (expectation.run, expectation.minus)
                        if ref is not None and _summary_for(ref, run) is None), None)
        if missing is not None:
            out.append(Check(expectation.says, "needs", f"compares with a run of {missing.label} on seed {run.seed}",
                             needs=missing))
            continue
        try:
            outcome = ex.check(expectation, lambda ref: _summary_for(ref, run), run.seed)
        except KeyError as exc:
            out.append(Check(expectation.says, "not met", f"the summary has no {exc.args[0]}"))
            continue
        detail = describe(expectation, outcome.actual)
        m = metrics.for_path(expectation.metric_text)
        failed = metrics.error_share(run.summary)
        if m is not None and m.kind == "latency" and m.path.startswith("latency_ms.") and failed is not None:
            # The engine's latency covers successful requests only: say how many failed beside it.
            detail += (f" (latency of successes only; {metrics.get('errors').format(failed)} of this run's "
                       "requests failed)")
        if not outcome.holds:
            if changes is None:
                changes = own_changes(run)
            if changes:
                detail = (f"your live controls ({changes}) changed this run; the promise is about the template "
                          f"as designed. {detail}")
        out.append(Check(expectation.says, "met" if outcome.holds else "not met", detail))
    return out
