"""The first page an analyst sees loads none of the heavy libraries.

`streamlit run` serves the New job page first; with no table yet it draws the uploader and
stops. The entry script's imports and the page's imports before that stop must not pull in
pandas, pyarrow, the SDK, the tokenizer, SQLAlchemy or the price list: they take seconds to
import on a busy machine, and are imported once a table or a request needs them.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

DASHBOARD = Path(__file__).resolve().parents[2] / "dashboard"
ENTRY = DASHBOARD / "streamlit_app.py"
FIRST_PAGE = DASHBOARD / "app_pages" / "new_job.py"
HEAVY = ("pandas", "pyarrow", "numpy", "openai", "tiktoken", "sqlalchemy", "genai_prices")


def _modules_before_first_stop(path: Path) -> list[str]:
    """The modules `path` imports at its top level before its first `st.stop()`."""
    found: list[str] = []
    for node in ast.parse(path.read_text()).body:
        if any(
            isinstance(call, ast.Call) and ast.unparse(call.func) == "st.stop"
            for call in ast.walk(node)
        ):
            break
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.append(node.module)
            found += [f"{node.module}.{alias.name}" for alias in node.names]
    return found


def _newly_imported(modules: list[str]) -> list[str]:
    """The HEAVY packages importing `modules` loads beyond what Streamlit's server loads."""
    code = f"""
import importlib, json, sys
import streamlit, streamlit.web.server.server
before = set(sys.modules)
for name in {modules!r}:
    try:
        importlib.import_module(name)
    except ModuleNotFoundError:
        pass  # a name imported from a module, not a module
print(json.dumps(sorted(
    name for name in set(sys.modules) - before if name.split(".")[0] in {HEAVY!r}
)))
"""
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=DASHBOARD,
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(DASHBOARD), "PATH": "/usr/bin:/bin"},
    )
    loaded: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return sorted({name.split(".")[0] for name in loaded})


def test_the_first_page_imports_none_of_the_heavy_libraries() -> None:
    modules = _modules_before_first_stop(ENTRY) + _modules_before_first_stop(FIRST_PAGE)

    assert "ui.source" in modules  # the uploader is drawn before the stop
    assert _newly_imported(modules) == []


def test_the_check_sees_a_heavy_import() -> None:
    # The same check over the modules the page imports once there is a table finds them.
    assert set(_newly_imported(["ui.preflight", "ui.trial"])) >= {
        "pandas",
        "pyarrow",
        "openai",
    }
