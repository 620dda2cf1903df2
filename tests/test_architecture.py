"""The layers the code promises (docs/architecture.md): the dispatch core imports no web framework,
the data model imports nothing from the core, and the docs name every module there is."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
WEBAPP = ROOT / "webapp"
WEB_FRAMEWORK = ("flask", "flask_login", "flask_wtf", "flask_sqlalchemy", "flask_migrate", "werkzeug", "wtforms")


def modules(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if "migrations" not in p.parts)


def imported(path: Path) -> set[str]:
    """Every module a file imports, absolute (relative imports resolved against webapp)."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            module = ".".join(filter(None, (base, node.module)))
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


@pytest.mark.parametrize("path", modules(WEBAPP / "dispatch"), ids=lambda p: str(p.relative_to(WEBAPP)))
def test_the_dispatch_core_imports_no_web_framework(path):
    assert not {name for name in imported(path) if name.split(".")[0] in WEB_FRAMEWORK}


def test_the_data_model_imports_nothing_from_the_core_above_it():
    assert not {name for name in imported(WEBAPP / "models.py") if name.startswith("webapp.dispatch")}


def test_the_core_names_every_module_it_has():
    doc = ast.get_docstring(ast.parse((WEBAPP / "dispatch" / "__init__.py").read_text())) or ""
    named = set(re.findall(r"^(\w+)/?\s{2,}", doc, re.M))
    present = {p.stem for p in (WEBAPP / "dispatch").glob("*.py") if p.stem != "__init__"}
    assert named == present | {"alarms"}


def test_the_architecture_page_names_every_module():
    page = (ROOT / "docs" / "architecture.md").read_text()
    missing = [str(p.relative_to(ROOT)) for p in modules(WEBAPP)
               if f"`{p.relative_to(ROOT)}`" not in page and not (p.name == "__init__.py" and p.parent != WEBAPP
                                                                   and f"`{p.parent.relative_to(ROOT)}/`" in page)]
    assert missing == []
