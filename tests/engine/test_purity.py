"""The engine stays pure: no web framework, broker or cache client, and no I/O but the CLI's."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "playground" / "engine"
MODULES = sorted(PACKAGE.glob("*.py"))
NAMES = ["playground.engine" if p.stem == "__init__" else f"playground.engine.{p.stem}"
         for p in MODULES]

FORBIDDEN = {"django", "channels", "channels_redis", "celery", "kombu", "redis", "daphne",
             "twisted", "asgiref"}
#: Modules that talk to the world; only the CLI (__main__) may read a file or write output.
IO_MODULES = {"socket", "subprocess", "urllib", "http", "requests", "sqlite3", "shutil",
              "tempfile", "pathlib"}
IO_CALLS = {"open", "print", "input"}


def test_importing_every_engine_module_imports_no_framework():
    code = (
        "import importlib, json, sys\n"
        f"for name in {NAMES!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    loaded = {name.split(".")[0] for name in json.loads(done.stdout)}
    assert loaded & FORBIDDEN == set()


def imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("path", MODULES, ids=[p.name for p in MODULES])
def test_no_engine_module_names_a_framework(path):
    assert imports(path) & FORBIDDEN == set()


@pytest.mark.parametrize("path", [p for p in MODULES if p.stem != "__main__"],
                         ids=[p.name for p in MODULES if p.stem != "__main__"])
def test_only_the_cli_does_io(path):
    assert imports(path) & IO_MODULES == set()
    calls = {node.func.id for node in ast.walk(ast.parse(path.read_text()))
             if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)}
    assert calls & IO_CALLS == set()


def test_the_scan_sees_every_module():
    assert {"schema.py", "loading.py", "params.py", "document.py", "__main__.py"} <= \
        {p.name for p in MODULES}


def test_loading_documents_does_not_import_the_simulation():
    code = (
        "import json, sys\n"
        "import playground.engine as engine\n"
        "engine.load({'nodes': []})\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('playground'))))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "playground.engine.simulation" not in json.loads(done.stdout)


def test_the_package_names_its_public_api():
    import playground.engine as engine

    for name in ("load", "parse", "validate", "dump", "upgrade", "DocumentError", "Problem",
                 "Limits", "validate_control", "parse_control", "spec"):
        assert callable(getattr(engine, name))
    assert isinstance(engine.ENGINE_VERSION, str | int)
    with pytest.raises(AttributeError):
        engine.no_such_thing  # noqa: B018
