"""manage.py loadtemplates: idempotent, updates changed files, and names the file and field of a
bad one before writing anything."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from playground.designs.library import LIBRARY_DIR
from playground.designs.models import Template

pytestmark = pytest.mark.django_db


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    for name in ("memory-sessions.yaml", "stripe.yaml"):
        shutil.copy(LIBRARY_DIR / name, tmp_path / name)
    return tmp_path


def load(folder: Path) -> None:
    call_command("loadtemplates", "--dir", str(folder), verbosity=0)


def test_loading_twice_creates_each_template_once(folder):
    load(folder)
    first = {t.slug: (t.pk, t.updated_at) for t in Template.objects.all()}
    load(folder)
    assert {t.slug: (t.pk, t.updated_at) for t in Template.objects.all()} == first
    assert sorted(first) == ["memory-sessions", "stripe"]


def test_a_changed_file_updates_its_template_in_place(folder):
    load(folder)
    pk = Template.objects.get(slug="stripe").pk
    path = folder / "stripe.yaml"
    path.write_text(path.read_text().replace("title: \"Stripe: payments, retries and idempotency keys\"",
                                             "title: \"Stripe: payments, safely retried\""))
    load(folder)
    template = Template.objects.get(slug="stripe")
    assert (template.pk, template.title) == (pk, "Stripe: payments, safely retried")
    assert Template.objects.count() == 2


def test_the_loaded_template_carries_its_variants_notes_and_expectations(folder):
    load(folder)
    template = Template.objects.get(slug="stripe")
    assert template.company == "Stripe"
    assert template.variants["keys-in-memory"]["nodes"]["keys"] is None
    assert template.variant_notes["no-keys"]["title"] == "No idempotency keys"
    assert template.expectations[0]["metric"] == "summary.charges.duplicate"
    assert template.document["layout"]["api"] == {"x": 460, "y": 120}


def bad(folder: Path, old: str, new: str) -> str:
    path = folder / "memory-sessions.yaml"
    path.write_text(path.read_text().replace(old, new, 1))
    with pytest.raises(CommandError) as caught:
        load(folder)
    assert Template.objects.count() == 0  # Nothing is written when any file is bad.
    return str(caught.value)


@pytest.mark.parametrize("old,new,message", [
    ("instances: 4, workers: 16", "instances: 0, workers: 16",
     "memory-sessions.yaml: document.nodes[2].params.instances: must be >= 1"),
    ("{instances: 2}", "{instances: -2}",
     "memory-sessions.yaml: variants.two-instances.patch.nodes[2].params.instances: must be >= 1"),
    ("    db: {x: 660, y: 200}\n", "",
     "memory-sessions.yaml: document.nodes[3]: 'db' has no position in document.layout"),
    ('op: "==", value: 0,', 'op: "=~", value: 0,', "memory-sessions.yaml: expectations[2].op: must be one of"),
    ("{run: sticky,", "{run: no-such-variant,",
     "memory-sessions.yaml: expectations[4].run: no variant named 'no-such-variant'"),
    ("{run: sticky,", '{run: "nope:base",', "memory-sessions.yaml: expectations[4].run: no template 'nope'"),
    ("  slug: memory-sessions", "  slug: other", "memory-sessions.yaml: meta.slug: must match the file name"),
    ("  concepts: [sessions, stateless services, load balancing]", "  concepts: []",
     "memory-sessions.yaml: meta.concepts: must be a list of text"),
    ("expectations:\n", "expectation:\n", "memory-sessions.yaml: expectation: is not a field of a template file"),
    ("  title: Sessions in memory behind round robin\n", "  title: [oops\n", "memory-sessions.yaml: "),
])
def test_a_bad_file_fails_naming_its_file_and_field(folder, old, new, message):
    assert message in bad(folder, old, new)


def test_the_real_library_loads_as_make_run_loads_it():
    call_command("loadtemplates", verbosity=0)
    assert Template.objects.count() == len(list(LIBRARY_DIR.glob("*.yaml")))
