"""The invariants of docs/ARCHITECTURE.md, checked on the source: which package may import which
library, and that imports run one way (ui → engine → storage).

Imports are read with ``ast`` (also those inside functions), so a lazy import cannot hide.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("engine", "storage", "ui")


def modules() -> dict[str, set[str]]:
    """Every module of the three packages → the top-level-qualified names it imports."""
    found: dict[str, set[str]] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT).with_suffix("")
            name = ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)
            imported: set[str] = set()
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    imported.update(alias.name for alias in node.names)
                elif isinstance(node, ast.ImportFrom):
                    base = node.module or ""
                    if node.level:              # relative: resolve against this module's package
                        here = name.split(".") if rel.name == "__init__" else name.split(".")[:-1]
                        base = ".".join(here[:len(here) - node.level + 1] + ([base] if base else []))
                    imported.add(base)
                    imported.update(f"{base}.{alias.name}" for alias in node.names)
            found[name] = imported
    return found


MODULES = modules()


def importers(*libraries: str) -> set[str]:
    return {name for name, imported in MODULES.items()
            if any(i == lib or i.startswith(lib + ".") for i in imported for lib in libraries)}


def test_the_scan_sees_the_tree():
    # A scan that found nothing would pass every check below.
    assert "engine.rules.durable_backend" in MODULES and "ui.app" in MODULES
    assert len(MODULES) > 60


def test_only_durable_backend_imports_durable_rules():
    assert importers("durable_rules", "durable_rules_engine", "durable") == {"engine.rules.durable_backend"}


def test_only_storage_imports_database_libraries():
    outside = {m for m in importers("tinydb", "sqlite3", "psycopg", "psycopg_pool") if not m.startswith("storage")}
    assert not outside, f"database libraries imported outside storage/: {sorted(outside)}"


def test_only_ui_imports_streamlit():
    outside = {m for m in importers("streamlit") if not m.startswith("ui")}
    assert not outside, f"streamlit imported outside ui/: {sorted(outside)}"


def test_imports_never_run_back_up_the_layers():
    # storage may use the project's one root error module, nothing else of the engine.
    up = {m for m in importers("engine") if m.startswith("storage")
          if any(i.startswith("engine") and not i.startswith("engine.errors") for i in MODULES[m])}
    assert not up, f"storage imports engine beyond engine.errors: {sorted(up)}"
    assert not {m for m in importers("ui") if not m.startswith("ui")}, "engine/ or storage/ imports ui/"


def test_pages_reach_storage_only_through_the_scoped_repository():
    pages = {m for m in importers("storage") if m.startswith("ui.views")}
    assert not pages, f"pages that import storage/ directly: {sorted(pages)}"


def test_ui_auth_and_state_have_no_cycle():
    assert "ui.state" in MODULES["ui.auth"]             # auth builds on state …
    assert "ui.auth" not in MODULES["ui.state"]         # … and never the other way round


@pytest.mark.parametrize("package", ["engine.pack", "engine.rules", "engine.casework", "engine.changes",
                                     "engine.training"])
def test_each_engine_package_says_what_it_owns(package):
    init = ROOT / Path(*package.split(".")) / "__init__.py"
    doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
    assert doc and len(doc) > 40, f"{package}/__init__.py needs a docstring saying what it owns"
    module = __import__(package, fromlist=["__all__"])
    assert module.__all__, f"{package} exports nothing"
    for name in module.__all__:
        assert getattr(module, name, None) is not None
