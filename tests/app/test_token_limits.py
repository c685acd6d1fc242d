"""Settings keeps the enqueued-token limits for the key in the registry: a new session (and a
watcher, and the CLI) finds them, a removed row removes its limit, and a registry that cannot
be reached leaves them for the session with a sentence saying why."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from batchdash.jobs import token_queue
from batchdash.registry.store import Registry
from batchdash.settings import default_db_url
from tests.app.conftest import MakeApp, joined
from tests.app.test_settings import settings_page
from ui import state
from ui.connection import sandbox_scope


def _edit(app: AppTest, version: int, **changes: object) -> None:
    app.session_state[f"{state.LIMITS_EDITOR}:{version}"] = {
        "edited_rows": {},
        "added_rows": [],
        "deleted_rows": [],
        **changes,
    }
    app.run()
    assert not app.exception


def test_a_limit_is_saved_for_the_key_found_by_a_new_session_and_removed(
    make_app: MakeApp, data_dir: Path
) -> None:
    first = make_app()
    first.run()
    settings_page(first)
    _edit(first, 0, added_rows=[{"model": "gpt-4o-mini", "enqueued tokens": 90_000}])
    assert "Saved for this API key." in joined(first, "caption")

    registry = Registry(default_db_url(data_dir))
    try:
        scope = sandbox_scope(None)
        assert token_queue.token_limits(registry, scope) == {"gpt-4o-mini": 90_000}

        second = make_app()
        second.session_state["language"] = "zh-CN"
        second.run()
        settings_page(second)
        limits = second.data_editor[0].value
        assert limits.to_dict("records") == [{"model": "gpt-4o-mini", "enqueued tokens": 90_000}]
        assert "已为此 API 密钥保存" in joined(second, "caption")

        version = second.session_state[f"{state.LIMITS_EDITOR}:version"]
        _edit(second, version, deleted_rows=[0])
        assert token_queue.token_limits(registry, scope) == {}
        assert "已为此 API 密钥保存" not in joined(second, "caption")
    finally:
        registry.close()


def test_a_registry_out_of_reach_keeps_the_limits_for_the_session(make_app: MakeApp) -> None:
    app = make_app(BATCHDASH_DB_URL="postgresql://analyst:pw@db.invalid/batchdash")
    app.run()
    settings_page(app)
    _edit(app, 0, added_rows=[{"model": "gpt-4o-mini", "enqueued tokens": 90_000}])
    assert app.session_state[state.TOKEN_LIMITS] == {"gpt-4o-mini": 90_000}
    assert "The limits apply in this session only" in joined(app, "warning")
