"""docs/architecture.md maps every module, and only the concern packages hold views."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MAP = (ROOT / "docs" / "architecture.md").read_text()


def _modules() -> list[Path]:
    """Return the modules of ``wizard`` and ``jobs``, less package files that hold only a docstring."""
    found = []
    for path in sorted([*(ROOT / "wizard").rglob("*.py"), *(ROOT / "jobs").rglob("*.py")]):
        tree = ast.parse(path.read_text())
        body = [node for node in tree.body
                if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))]
        if path.name == "__init__.py" and not body and path.parent.name != "wizard":
            continue
        found.append(path)
    return found


def test_every_module_is_on_the_map() -> None:
    missing = [str(path.relative_to(ROOT)) for path in _modules() if f"`{path.relative_to(ROOT)}`" not in MAP]

    assert missing == []


def test_only_the_concern_packages_hold_views() -> None:
    holders = sorted(str(path.relative_to(ROOT)) for path in _modules()
                     if "Blueprint(" in path.read_text() or ".route(" in path.read_text())

    assert holders and all(path.count("/") >= 2 for path in holders), holders
