"""The template library: one YAML file per template in ``templates_lib/``, read and checked.

Terms
-----
entry
    One file read and checked: its ``meta`` (slug, title, company, concepts, summary, story,
    steps, position), its ``document`` (SCHEMA.md, with a ``layout`` position for every node), its
    ``variants`` (``name: {title, about, patch}``, the patch a JSON merge patch, see ``patch.py``)
    and its ``expectations`` (see ``expectations.py``).
LibraryError
    A file that cannot be used, with the file's name and the field: ``stripe.yaml: variants.
    keys-in-memory.patch: nodes[2].params.state: must be one of ...``.

Reading a file never runs the engine; ``documents`` gives the document of a run reference, and
``summaries`` runs them.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playground.designs import expectations as ex
from playground.designs.patch import apply_variant
from playground.engine import DocumentError, parse, validate

LIBRARY_DIR = Path(__file__).resolve().parent.parent.parent / "templates_lib"
TOP_FIELDS = ("meta", "document", "variants", "expectations")
META_FIELDS = ("slug", "title", "company", "concepts", "summary", "story", "steps", "position")
VARIANT_FIELDS = ("title", "about", "patch")
_SLUG = re.compile(r"^[a-z][a-z0-9-]{0,63}$")
_VARIANT = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")


class LibraryError(ValueError):
    def __init__(self, file: str, field: str, message: str) -> None:
        self.file = file
        self.field = field
        self.message = message
        super().__init__(f"{file}: {field}: {message}")


@dataclass
class Entry:
    file: str
    sha256: str
    slug: str
    title: str
    company: str
    concepts: list[str]
    summary: str
    story: str
    steps: list[str]
    position: int
    document: dict[str, Any]
    variants: dict[str, dict[str, Any]]
    variant_notes: dict[str, dict[str, str]]
    expectations: list[dict[str, Any]]
    parsed: list[ex.Expectation] = field(default_factory=list)

    def document_of(self, variant: str) -> dict[str, Any]:
        return apply_variant(self.document, self.variants[variant]) if variant else self.document


def _text(raw: Any, file: str, where: str, limit: int, required: bool = True) -> str:
    if raw is None and not required:
        return ""
    if not isinstance(raw, str) or (required and not raw.strip()):
        raise LibraryError(file, where, "must be text")
    if len(raw) > limit:
        raise LibraryError(file, where, f"must be at most {limit} characters")
    return raw.strip()


def _texts(raw: Any, file: str, where: str, limit: int) -> list[str]:
    if not isinstance(raw, list) or not raw:
        raise LibraryError(file, where, "must be a list of text")
    return [_text(item, file, f"{where}[{i}]", limit) for i, item in enumerate(raw)]


def _check_document(document: Any, file: str, where: str) -> None:
    problems = validate(document)
    if problems:
        first = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise LibraryError(file, f"{where}.{first.path}" if first.path else where, first.message + more)


def read_entry(path: Path) -> Entry:
    """Read and check one library file (never runs the engine)."""
    file = path.name
    raw_bytes = path.read_bytes()
    try:
        data = parse(raw_bytes, "yaml")
    except DocumentError as exc:
        problem = exc.problems[0]
        raise LibraryError(file, problem.path or "(file)", problem.message) from None
    if not isinstance(data, dict):
        raise LibraryError(file, "(file)", "must be a mapping with meta, document, variants and expectations")
    for key in data:
        if key not in TOP_FIELDS:
            raise LibraryError(file, str(key), "is not a field of a template file")
    for key in ("meta", "document"):
        if key not in data:
            raise LibraryError(file, key, "is required")
    meta = data["meta"]
    if not isinstance(meta, dict):
        raise LibraryError(file, "meta", "must be a mapping")
    for key in meta:
        if key not in META_FIELDS:
            raise LibraryError(file, f"meta.{key}", "is not a field of meta")
    slug = meta.get("slug")
    if not isinstance(slug, str) or not _SLUG.match(slug):
        raise LibraryError(file, "meta.slug", "must be lowercase letters, digits and dashes")
    if path.stem != slug:
        raise LibraryError(file, "meta.slug", f"must match the file name ({path.stem})")
    concepts = _texts(meta.get("concepts"), file, "meta.concepts", 40)
    position = meta.get("position", 100)
    if isinstance(position, bool) or not isinstance(position, int):
        raise LibraryError(file, "meta.position", "must be a whole number")

    document = data["document"]
    if not isinstance(document, dict):
        raise LibraryError(file, "document", "must be a design document (SCHEMA.md)")
    _check_document(document, file, "document")
    layout = document.get("layout") or {}
    for i, node in enumerate(document["nodes"]):
        if node["id"] not in layout:
            raise LibraryError(file, f"document.nodes[{i}]", f"{node['id']!r} has no position in document.layout")

    variants_raw = data.get("variants") or {}
    if not isinstance(variants_raw, dict):
        raise LibraryError(file, "variants", "must map variant names to {title, about, patch}")
    variants: dict[str, dict[str, Any]] = {}
    notes: dict[str, dict[str, str]] = {}
    for name, spec in variants_raw.items():
        where = f"variants.{name}"
        if not isinstance(name, str) or not _VARIANT.match(name) or name == "base":
            raise LibraryError(file, where, "a variant's name is lowercase letters, digits, - and _ (not base)")
        if not isinstance(spec, dict):
            raise LibraryError(file, where, "must be a mapping with title, about and patch")
        for key in spec:
            if key not in VARIANT_FIELDS:
                raise LibraryError(file, f"{where}.{key}", "is not a field of a variant")
        if not isinstance(spec.get("patch"), dict):
            raise LibraryError(file, f"{where}.patch", "must be a merge patch (a mapping)")
        patched = apply_variant(document, spec["patch"])
        _check_document(patched, file, f"{where}.patch")
        patched_layout = patched.get("layout") or {}
        for node in patched["nodes"]:
            if node["id"] not in patched_layout:
                raise LibraryError(file, f"{where}.patch.layout", f"{node['id']!r} has no position")
        variants[name] = spec["patch"]
        notes[name] = {"title": _text(spec.get("title"), file, f"{where}.title", 100),
                       "about": _text(spec.get("about"), file, f"{where}.about", 600)}

    exp_raw = data.get("expectations") or []
    if not isinstance(exp_raw, list):
        raise LibraryError(file, "expectations", "must be a list")
    parsed = []
    for i, item in enumerate(exp_raw):
        try:
            e = ex.parse(item, slug, f"expectations[{i}]")
        except ex.ExpectationError as exc:
            raise LibraryError(file, exc.path, exc.message) from None
        for which, ref in (("run", e.run), ("minus", e.minus)):
            if ref is not None and ref.template == slug and ref.variant and ref.variant not in variants:
                raise LibraryError(file, f"expectations[{i}].{which}", f"no variant named {ref.variant!r}")
        parsed.append(e)

    return Entry(
        file=file,
        sha256=hashlib.sha256(raw_bytes).hexdigest(),
        slug=slug,
        title=_text(meta.get("title"), file, "meta.title", 200),
        company=_text(meta.get("company"), file, "meta.company", 100, required=False),
        concepts=concepts,
        summary=_text(meta.get("summary"), file, "meta.summary", 300),
        story=_text(meta.get("story"), file, "meta.story", 20000),
        steps=_texts(meta.get("steps"), file, "meta.steps", 600),
        position=position,
        document=document,
        variants=variants,
        variant_notes=notes,
        expectations=exp_raw,
        parsed=parsed,
    )


def read_library(directory: Path = LIBRARY_DIR) -> list[Entry]:
    """Every ``*.yaml`` file in ``directory``, checked, with cross-template run references too."""
    entries = [read_entry(p) for p in sorted(directory.glob("*.yaml"))]
    by_slug: dict[str, Entry] = {}
    for entry in entries:
        if entry.slug in by_slug:
            raise LibraryError(entry.file, "meta.slug", f"{entry.slug!r} is also {by_slug[entry.slug].file}'s")
        by_slug[entry.slug] = entry
    for entry in entries:
        for i, e in enumerate(entry.parsed):
            for which, ref in (("run", e.run), ("minus", e.minus)):
                if ref is None or ref.template == entry.slug:
                    continue
                other = by_slug.get(ref.template)
                if other is None:
                    raise LibraryError(entry.file, f"expectations[{i}].{which}", f"no template {ref.template!r}")
                if ref.variant and ref.variant not in other.variants:
                    raise LibraryError(entry.file, f"expectations[{i}].{which}",
                                       f"{ref.template!r} has no variant {ref.variant!r}")
    return sorted(entries, key=lambda e: (e.position, e.slug))


def document_of(ref: ex.RunRef, entries: Mapping[str, Entry]) -> dict[str, Any]:
    return entries[ref.template].document_of(ref.variant)
