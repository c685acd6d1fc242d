"""The CLI's parser loads none of the heavy libraries a command may need: every command, and
`--help`, pays for building it, so the SDK, the database layer, the price list and the
mail and HTTP clients are imported by the commands that use them, when they run (the
tokenizer's tables, too, load on the first count)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

DASHBOARD = Path(__file__).resolve().parents[2] / "dashboard"
#: Imported by the commands that need them, never by the parser every command builds.
NOT_FOR_THE_PARSER = ("openai", "sqlalchemy", "genai_prices", "httpx2", "smtplib")


def test_building_the_parser_imports_none_of_the_heavy_libraries() -> None:
    script = (
        "import json, sys; import cli; cli.build_parser(); "
        f"print(json.dumps(sorted(m for m in {NOT_FOR_THE_PARSER!r} if m in sys.modules)))"
    )
    found = subprocess.run(
        [sys.executable, "-c", script],
        cwd=DASHBOARD,
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(found.stdout) == []
