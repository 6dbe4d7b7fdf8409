"""``python manage.py loadtemplates``: check every file in ``templates_lib/`` and load it.

Every file is read and checked first (a bad one stops the command, naming its file and field,
before anything is written). Loading is idempotent: a template is found by its slug, updated when
its file changed (by content hash), left alone when it did not, and created when new. Templates
whose file is gone are removed only with ``--prune``.
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from playground import jsontext
from playground.designs.library import LIBRARY_DIR, LibraryError, read_library
from playground.designs.models import Template


class Command(BaseCommand):
    help = "Check and load the template library (templates_lib/) into the database."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--dir", default=str(LIBRARY_DIR), help="the library folder")
        parser.add_argument("--prune", action="store_true", help="remove templates whose file is gone")

    def handle(self, *args, **options) -> None:
        directory = Path(options["dir"])
        if not directory.is_dir():
            raise CommandError(f"{directory}: not a folder")
        try:
            entries = read_library(directory)
        except LibraryError as exc:
            raise CommandError(str(exc)) from None
        created = updated = unchanged = 0
        with transaction.atomic():
            for entry in entries:
                fields = {
                    "title": entry.title, "company": entry.company, "concepts": entry.concepts,
                    "summary": entry.summary, "story": entry.story, "steps": entry.steps,
                    "document_json": jsontext.dumps(entry.document), "variants": entry.variants,
                    "variant_notes": entry.variant_notes, "expectations": entry.expectations,
                    "position": entry.position, "source_sha256": entry.sha256,
                }
                template = Template.objects.filter(slug=entry.slug).first()
                if template is None:
                    Template.objects.create(slug=entry.slug, **fields)
                    created += 1
                elif template.source_sha256 != entry.sha256 or template.position != entry.position:
                    for name, value in fields.items():
                        setattr(template, name, value)
                    template.save()
                    updated += 1
                else:
                    unchanged += 1
            pruned = 0
            if options["prune"]:
                pruned, _ = Template.objects.exclude(slug__in=[e.slug for e in entries]).delete()
        self.stdout.write(f"templates: {created} created, {updated} updated, {unchanged} unchanged"
                          + (f", {pruned} removed" if options["prune"] else ""))
