"""The Jobs page's line about the watcher: shown while one serving the page's key was seen
lately, in the language in use; nothing without one (the page as before)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from streamlit.testing.v1 import AppTest

from batchdash.registry.holders import this_run
from batchdash.registry.store import Registry
from batchdash.settings import default_db_url
from tests.app.conftest import JOBS, SETTINGS, joined
from tests.app.job_pages import SCOPE, Pages, pages
from ui import state

__all__ = ["pages"]

WATCHING = "A watcher moves these jobs on its own, even with this page closed"


def test_the_line_shows_while_a_watcher_of_the_key_is_seen(pages: Pages) -> None:
    pages.running_job("Tickets", rows=3)
    assert WATCHING not in joined(pages.open(), "caption")

    holder = this_run()
    pages.registry.note_watcher(holder.text(), [SCOPE.split("/")[0]], 30.0)
    at = pages.open()
    line = joined(at, "caption")
    assert WATCHING in line
    assert f"process {holder.pid} on " in line

    at.session_state["language"] = "zh-CN"
    at.run()
    assert "即使关闭此页面也照常进行" in joined(at, "caption")
    at.session_state["language"] = "en"

    pages.registry.forget_watcher(holder.text())
    assert WATCHING not in joined(pages.open(), "caption")


def test_a_watcher_of_another_key_or_one_long_unseen_says_nothing(pages: Pages) -> None:
    pages.running_job("Tickets", rows=3)
    pages.registry.note_watcher(this_run().text(), ["another-key"], 30.0)
    assert WATCHING not in joined(pages.open(), "caption")

    stale = pages.registry
    long_ago = datetime.now(UTC) - timedelta(minutes=5)
    stale._clock = lambda: long_ago  # type: ignore[method-assign]  # its heartbeat, 5 min ago
    stale.note_watcher(this_run().text(), [SCOPE], 30.0)
    stale._clock = lambda: datetime.now(UTC)  # type: ignore[method-assign]
    assert WATCHING not in joined(pages.open(), "caption")


TYPED_KEY_NOTE = "cannot move jobs sent with a key typed into this page"


def test_a_key_typed_in_settings_is_said_to_be_out_of_the_watcher_s_reach(
    app: AppTest, data_dir: Path
) -> None:
    app.switch_page(SETTINGS).run()
    app.text_input(key=state.API_KEY).set_value("sk-typed-for-this-session").run()
    assert TYPED_KEY_NOTE not in joined(app, "caption")  # no watcher runs

    registry = Registry(default_db_url(data_dir))
    try:
        registry.note_watcher(this_run().text(), ["the-server-key"], 30.0)
        app.run()
        assert TYPED_KEY_NOTE in joined(app, "caption")
        app.switch_page(JOBS).run()
        assert TYPED_KEY_NOTE in joined(app, "caption")
        assert WATCHING not in joined(app, "caption")
        app.switch_page(SETTINGS).run()
        app.text_input(key=state.API_KEY).set_value("").run()  # back to Sandbox mode
        assert TYPED_KEY_NOTE not in joined(app, "caption")
    finally:
        registry.close()
