"""The template library teaches true things: every file is valid, and every expectation a
template states holds when the engine runs it, on each of three seeds."""

from __future__ import annotations

from functools import cache

import pytest

from playground.designs import expectations as ex
from playground.designs.library import read_library
from playground.engine import run

ENTRIES = {e.slug: e for e in read_library()}


@cache
def summary_of(ref: ex.RunRef, seed: int) -> dict:
    return run(ENTRIES[ref.template].document_of(ref.variant), seed=seed)["summary"]


def test_the_library_holds_the_four_companies_and_the_lesson_examples():
    companies = {e.company for e in ENTRIES.values()}
    assert {"Netflix", "Stripe", "Vercel", "Airbnb"} <= companies
    assert {"netflix", "stripe", "vercel", "airbnb-before", "airbnb-after", "memory-sessions", "file-uploads",
            "sticky-sessions", "rolling-deploy", "cache-aside"} <= set(ENTRIES)


@pytest.mark.parametrize("slug", sorted(ENTRIES))
def test_every_node_of_every_run_has_a_position_in_the_layout(slug):
    entry = ENTRIES[slug]
    for variant in ["", *entry.variants]:
        document = entry.document_of(variant)
        assert {n["id"] for n in document["nodes"]} <= set(document["layout"])


@pytest.mark.parametrize("slug", sorted(ENTRIES))
def test_every_template_states_expectations_about_its_base_and_each_variant(slug):
    entry = ENTRIES[slug]
    assert entry.parsed
    read = {e.run.variant for e in entry.parsed if e.run.template == slug}
    read |= {e.minus.variant for e in entry.parsed if e.minus and e.minus.template == slug}
    assert set(entry.variants) <= read


@pytest.mark.parametrize("slug", sorted(ENTRIES))
def test_every_expectation_holds_on_each_of_three_seeds(slug):
    failures = []
    for expectation in ENTRIES[slug].parsed:
        for seed in ex.SEEDS:
            outcome = ex.check(expectation, lambda ref, seed=seed: summary_of(ref, seed), seed)
            if not outcome.holds:
                failures.append(f"{expectation.says}\n    {outcome}")
    assert not failures, "\n".join(failures)
