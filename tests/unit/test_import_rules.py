"""The import rules docs/architecture.md states for the sync and the jobs, read from the source (every
``import``, including those inside functions)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def imports_of(path: Path) -> set[str]:
    """Return every module ``path`` imports, at any depth of the file."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _module(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def test_only_wizard_tasks_imports_jobs() -> None:
    offenders = {_module(path): sorted(m for m in imports_of(path) if m == "jobs" or m.startswith("jobs."))
                 for path in (ROOT / "wizard").rglob("*.py")}
    offenders = {module: found for module, found in offenders.items() if found and module != "wizard.tasks"}

    assert offenders == {}
    assert imports_of(ROOT / "wizard" / "tasks.py") & {"jobs.queue"} == {"jobs.queue"}


def test_the_ledger_imports_no_jobs_no_redis_and_no_amazon_client() -> None:
    found = imports_of(ROOT / "wizard" / "sync" / "ledger.py")

    assert not {m for m in found if m.split(".")[0] in {"jobs", "redis", "rq", "requests"}}
    assert not {m for m in found if m.startswith(("wizard.amazon", "wizard.tasks", "flask"))}


def test_only_jobs_queue_imports_rq_in_the_application() -> None:
    files = [*(ROOT / "wizard").rglob("*.py"), *(ROOT / "jobs").rglob("*.py")]
    users = sorted(_module(path) for path in files
                   if any(m == "rq" or m.startswith("rq.") for m in imports_of(path)))

    assert users == ["jobs.queue"]
