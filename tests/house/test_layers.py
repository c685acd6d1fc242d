"""The layers of dashboard/ hold: pages -> ui -> core; the sandbox and the CLI beside.

The core and the sandbox import no Streamlit; the sandbox imports none of the client's code (so
a client bug cannot hide behind the same code on both sides); the core's sub-packages form no
circle, and the shared vocabulary at the core's top imports none of them but i18n, the base
every stage says its sentences through, which imports nothing of the core.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

DASHBOARD = Path(__file__).resolve().parents[2] / "dashboard"
CORE = DASHBOARD / "batchdash"
#: The modules at the core's top, which every stage shares.
VOCABULARY = {path.stem for path in CORE.glob("*.py") if path.stem != "__init__"}


def _imports(path: Path) -> set[str]:
    """Every module `path` imports, as written (`batchdash.jobs.service`)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def _modules(folder: Path) -> dict[Path, set[str]]:
    return {path: _imports(path) for path in sorted(folder.rglob("*.py"))}


def _top(name: str) -> str:
    return name.split(".")[0]


def test_the_core_and_the_sandbox_import_no_streamlit() -> None:
    offenders = [
        str(path.relative_to(DASHBOARD))
        for folder in (CORE, DASHBOARD / "sandbox")
        for path, imports in _modules(folder).items()
        if "streamlit" in {_top(name) for name in imports}
    ]
    cli = _imports(DASHBOARD / "cli.py") | _imports(DASHBOARD / "cli_jobs.py")

    assert offenders == []
    assert "streamlit" not in {_top(name) for name in cli}


def test_the_sandbox_imports_nothing_of_the_client() -> None:
    client = {"batchdash", "ui", "app_pages", "cli"}
    offenders = {
        str(path.relative_to(DASHBOARD)): sorted(n for n in imports if _top(n) in client)
        for path, imports in _modules(DASHBOARD / "sandbox").items()
        if {_top(name) for name in imports} & client
    }

    assert offenders == {}


def test_the_core_imports_no_ui_page_or_cli() -> None:
    outside = {"ui", "app_pages", "cli", "sandbox"}
    offenders = [
        str(path.relative_to(DASHBOARD))
        for path, imports in _modules(CORE).items()
        if {_top(name) for name in imports} & outside
    ]

    assert offenders == []


def _stage(path: Path) -> str:
    """The sub-package of a core module, or "vocabulary" for the modules at the top."""
    relative = path.relative_to(CORE)
    return relative.parts[0] if len(relative.parts) > 1 else "vocabulary"


def _stage_of(name: str) -> str | None:
    parts = name.split(".")
    if parts[0] != "batchdash" or len(parts) < 2:
        return None
    return "vocabulary" if parts[1] in VOCABULARY else parts[1]


def stage_graph() -> dict[str, set[str]]:
    """Which core sub-package imports which (the vocabulary counted as one stage)."""
    graph: dict[str, set[str]] = defaultdict(set)
    for path, imports in _modules(CORE).items():
        stage = _stage(path)
        for name in imports:
            other = _stage_of(name)
            if other in (None, stage):
                continue
            if other == "vocabulary" or (CORE / str(other)).is_dir():
                graph[stage].add(str(other))
    return graph


def _circle(graph: dict[str, set[str]]) -> list[str]:
    """One circle of the graph, or [] when there is none."""
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> list[str]:
        if node in path:
            return [*path[path.index(node) :], node]
        if node in done:
            return []
        for nxt in sorted(graph.get(node, ())):
            found = visit(nxt, [*path, node])
            if found:
                return found
        done.add(node)
        return []

    for start in sorted(graph):
        found = visit(start, [])
        if found:
            return found
    return []


def test_the_core_sub_packages_form_no_circle() -> None:
    graph = stage_graph()

    assert _circle(graph) == []
    assert graph["vocabulary"] <= {"i18n"}
    assert graph["i18n"] == set()


def test_the_circle_finder_finds_a_circle() -> None:
    assert _circle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _circle({"a": {"b"}, "b": set()}) == []
