"""The project speaks HTTP through httpx2 alone. The SDK peeks at `sys.modules["httpx"]`
on every request, so a module importing the older `httpx` in one thread (a page loading)
while a direct run sends in another made that run fail on the half-imported module."""

from __future__ import annotations

import ast
from pathlib import Path

DASHBOARD = Path(__file__).resolve().parents[2] / "dashboard"


def _imports_httpx(tree: ast.AST) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names = [node.module or ""]
        else:
            continue
        if any(name == "httpx" or name.startswith("httpx.") for name in names):
            return True
    return False


def test_no_module_imports_the_older_httpx() -> None:
    offenders = [
        str(path.relative_to(DASHBOARD))
        for path in sorted(DASHBOARD.rglob("*.py"))
        if ".venv" not in path.parts and _imports_httpx(ast.parse(path.read_text(encoding="utf-8")))
    ]
    assert offenders == []


def test_the_check_finds_such_an_import() -> None:
    assert _imports_httpx(ast.parse("def f():\n    import httpx\n"))
    assert _imports_httpx(ast.parse("from httpx import Client\n"))
    assert not _imports_httpx(ast.parse("import httpx2\nfrom httpx2 import Client\n"))
