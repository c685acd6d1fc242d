"""A whole session with a real-looking API key leaves the key nowhere but in memory.

The key is typed into Settings, tested, used to try three rows, to submit a job, to follow it
to the end and to download every file of the Results page and the New job page; the command
line then downloads the job with the same key in its environment. Afterwards the data
directory, the registry (every table, every blob unpacked), the API server's own directory,
the exported files, every log record of every logger (down to DEBUG) and the console output
are searched for the key, whole or in part, in UTF-8 and UTF-16. The scanner is shown to find a
key planted in each kind of place, so a clean scan means something.
"""

from __future__ import annotations

import io
import logging
import secrets
import string
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest
import sqlalchemy
from streamlit.testing.v1 import AppTest

from batchdash.registry.blobs import compress_lines, frame_to_blob
from batchdash.registry.store import Registry
from batchdash.settings import default_db_url, owner_scope
from cli import main as cli_main
from sandbox.server import running_sandbox
from tests.app.conftest import JOBS, NEW_JOB, RESULTS, SETTINGS, MakeApp, joined, rerun_until
from tests.app.files import REVIEWS_CSV
from tests.app.job_pages import record_downloads
from tests.app.test_new_job_bad_inputs import upload
from tests.security.key_scan import (
    LogCapture,
    table_count,
    where_found,
    where_found_in_database,
)
from ui import state

_KEY_ALPHABET = string.ascii_letters + string.digits + "_-"


def real_looking_key() -> str:
    """A project key shaped like OpenAI's: `sk-proj-` and 156 URL-safe characters."""
    return "sk-proj-" + "".join(secrets.choice(_KEY_ALPHABET) for _ in range(156))


@pytest.fixture
def logs() -> Iterator[LogCapture]:
    capture = LogCapture()
    capture.attach()
    yield capture
    capture.detach()


@pytest.fixture
def downloads(monkeypatch: pytest.MonkeyPatch) -> dict[str, Callable[[], Any]]:
    """The callables of every download button drawn (a click runs them), by file name."""
    return record_downloads(monkeypatch)


def _page(at: AppTest, page: str) -> AppTest:
    at.switch_page(page).run()
    assert not at.exception
    return at


def _shown(at: AppTest) -> str:
    """Everything the page sends to the browser but the key's own masked field."""
    return "\n".join(
        str(element.proto)
        for element in [*at.main, *at.sidebar]
        if getattr(element, "key", None) != state.API_KEY
    )


def _finish_job(at: AppTest, registry: Registry, scope: str, job_id: str) -> None:
    """Rerun the Jobs page until the job has finished."""
    at.switch_page(JOBS)
    rerun_until(at, lambda: registry.get_job(job_id, scope).state == "finished")


def test_a_whole_session_leaves_the_key_nowhere(
    make_app: MakeApp,
    registry_url: str,
    data_dir: Path,
    tmp_path: Path,
    logs: LogCapture,
    downloads: dict[str, Callable[[], Any]],
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key = real_looking_key()
    api_dir = tmp_path / "api"
    exports = tmp_path / "exports"
    exports.mkdir()
    with running_sandbox(api_dir) as api_url:
        at = make_app(BATCHDASH_DB_URL=registry_url)
        at.run()
        # Settings: the key typed, a custom base URL, the connection tested.
        _page(at, SETTINGS)
        at.text_input(key=state.API_KEY).set_value(key).run()
        at.segmented_control(key=state.BASE_URL_PRESET).set_value(state.PRESET_CUSTOM).run()
        at.text_input(key=state.CUSTOM_BASE_URL).set_value(api_url).run()
        at.button(key="test_connection").click().run()
        assert "accepted the key" in joined(at, "success")
        # New job: a table, a recipe, three rows tried, the JSONL downloaded, the job sent.
        _page(at, NEW_JOB)
        upload(at, "reviews.csv", REVIEWS_CSV)
        at.text_area(key=state.TEMPLATE).set_value("Classify: {text}").run()
        at.button(key="try_rows").click().run()
        assert not at.error
        assert len([code for code in at.code if "sandbox" in code.value.lower()]) == 3
        at.button(key="submit_button").click().run()
        at.button(key="submit_confirm").click().run()
        assert not at.exception
        assert at.header[0].value == "Jobs"
        job_id = at.session_state[state.SELECTED_JOB]
        scope = owner_scope(key, api_url)
        registry = Registry(registry_url)
        try:
            _finish_job(at, registry, scope, job_id)
        finally:
            registry.close()
        # Results: every download, as a click would build it.
        _page(at, RESULTS)
        assert "Rows ok" in {metric.label for metric in at.metric}
        for name, build in downloads.items():
            data = build()
            (exports / Path(name).name).write_bytes(
                data if isinstance(data, bytes) else str(data).encode()
            )
        assert {path.suffix for path in exports.iterdir()} >= {".csv", ".xlsx", ".json", ".jsonl"}
        # The command line with the key in its environment downloads the same job.
        monkeypatch.setenv("OPENAI_API_KEY", key)
        monkeypatch.setenv("OPENAI_BASE_URL", api_url)
        monkeypatch.setenv("BATCHDASH_DATA_DIR", str(data_dir))
        monkeypatch.setenv("BATCHDASH_DB_URL", registry_url)
        assert cli_main(["download", job_id, "--out", str(exports / "cli.xlsx")]) == 0
        assert cli_main(["status", job_id]) == 0
        # Every page shows nothing of the key; only the masked field in Settings holds it,
        # for this session.
        shown = {page: _shown(_page(at, page)) for page in (NEW_JOB, JOBS, RESULTS, SETTINGS)}
        assert at.text_input(key=state.API_KEY).value == key
    console = capfd.readouterr()

    places = where_found(
        key,
        [data_dir, api_dir, exports],
        {"logs": logs.text, "stdout": console.out, "stderr": console.err, **shown},
    )

    assert places == []
    assert table_count(registry_url) >= 5
    assert where_found_in_database(key, registry_url) == []
    assert logs.lines  # the capture heard the loggers (a scan of nothing would prove nothing)
    assert any(line.startswith(("openai", "httpx2", "httpcore")) for line in logs.lines)
    # The scan finds the key where it is. (With the registry on PostgreSQL and the bundled
    # sandbox never asked anything, the app may have had no reason to make its data directory.)
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "planted.txt").write_text(f"OPENAI_API_KEY={key}\n")
    logging.getLogger("batchdash").warning("planted %s", key[50:110])  # a part is enough
    assert where_found(key, [data_dir], {"logs": logs.text}) == [
        str(data_dir / "planted.txt"),
        "logs",
    ]


def test_the_scanner_finds_a_key_in_every_kind_of_place(tmp_path: Path) -> None:
    key = real_looking_key()
    registry_url = default_db_url(tmp_path)
    registry = Registry(registry_url)
    registry.close()
    engine = sqlalchemy.create_engine(registry_url)
    with engine.begin() as connection:
        connection.execute(sqlalchemy.text("CREATE TABLE planted (note TEXT, blob BLOB)"))
        parquet = frame_to_blob(pd.DataFrame({"cell": [f"a prompt with {key} inside"]}))
        (chunk,) = compress_lines(f'{{"line": "{key}"}}\n'.encode())
        for blob in (parquet, chunk.data):
            connection.execute(
                sqlalchemy.text("INSERT INTO planted VALUES ('', :blob)"), {"blob": blob}
            )
        connection.execute(
            sqlalchemy.text("INSERT INTO planted VALUES (:note, NULL)"),
            {"note": f"cut {key[40:90]} short"},
        )
    engine.dispose()
    book = io.BytesIO()
    with zipfile.ZipFile(book, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/sharedStrings.xml", f"<t>{key}</t>")
    (tmp_path / "results.xlsx").write_bytes(book.getvalue())
    (tmp_path / "wide.txt").write_bytes(f"key: {key}".encode("utf-16-le"))
    assert pa.compress(b"x", codec="zstd", asbytes=True)  # zstd is there to decompress

    found = where_found(key, [tmp_path], {"clean log": "nothing here", "dirty log": key})
    in_database = where_found_in_database(key, registry_url)

    registry_file = str(tmp_path / "registry.sqlite3")
    assert f"{registry_file}:planted[0][1]:parquet" in found
    assert f"{registry_file}:planted[1][1]:zstd" in found
    assert f"{registry_file}:planted[2][0]" in found
    assert f"{tmp_path / 'results.xlsx'}!xl/sharedStrings.xml" in found
    assert str(tmp_path / "wide.txt") in found
    assert "dirty log" in found and "clean log" not in found
    assert {"planted[0].blob:parquet", "planted[1].blob:zstd", "planted[2].note"} <= set(
        in_database
    )
