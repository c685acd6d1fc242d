"""Times every script run of a Streamlit server, for bench/load_two_servers.py.

The bench puts this folder first on the servers' PYTHONPATH and names a file in
BATCHDASH_RUN_LOG; Python imports `sitecustomize` at start-up, and each script run then appends
one JSON line to that file: whether it ran the whole page or a fragment, of which page, its
wall-clock seconds inside the server (waits for the interpreter and the database included) and
the CPU seconds of its thread.
Nothing is patched when the variable is unset.
"""

from __future__ import annotations

import json
import os
import threading
import time
from typing import Any

_LOG = os.environ.get("BATCHDASH_RUN_LOG")


def _install(log: str) -> None:
    from streamlit.runtime.scriptrunner import script_runner

    original = script_runner.ScriptRunner._run_script
    lock = threading.Lock()

    def timed(self: Any, rerun_data: Any) -> None:
        kind = "fragment" if rerun_data.fragment_id_queue else "page"
        wall, cpu = time.perf_counter(), time.thread_time()
        try:
            original(self, rerun_data)
        finally:
            line = {
                "kind": kind,
                "page": _page_name(self),
                "seconds": time.perf_counter() - wall,
                "cpu_seconds": time.thread_time() - cpu,
                "ended_at": time.time(),
            }
            with lock, open(log, "a", encoding="utf-8") as out:
                out.write(json.dumps(line) + "\n")

    script_runner.ScriptRunner._run_script = timed  # type: ignore[method-assign]


def _page_name(runner: Any) -> str:
    """The page the run drew ("Jobs", "New job"...), from the runner's page registry."""
    try:
        manager = runner._pages_manager
        page = manager.get_pages().get(manager.current_page_script_hash, {})
        return str(page.get("page_name") or "")
    except Exception:  # a private API of Streamlit: the bench reports "" rather than fail
        return ""


if _LOG:
    _install(_LOG)
