"""Settings > Files on the provider: listed on request, and a provider that cannot list or
delete files told plainly, in English and in Chinese."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.app.conftest import SETTINGS, joined
from ui import state


def _settings(at: AppTest) -> AppTest:
    at.switch_page(SETTINGS).run()
    assert not at.exception
    return at


def test_the_sandbox_files_are_listed_on_request(app: AppTest) -> None:
    _settings(app)
    assert "asks the provider to keep output files 30 days" in joined(app, "caption")
    assert "Batchdash has no files" not in joined(app, "info")  # nothing asked yet
    app.button(key="file_cleanup_list").click().run()
    assert not app.exception
    assert "Batchdash has no files on the provider under this key." in joined(app, "info")
    assert app.button(key="file_cleanup_open").disabled
    assert app.button(key="file_cleanup_open").label == "Nothing to delete"


def test_a_provider_without_file_listing_is_named_plainly_in_english_and_chinese(
    app: AppTest,
) -> None:
    _settings(app)
    app.segmented_control(key=state.BASE_URL_PRESET).set_value("DeepInfra").run()
    assert "DeepInfra does not document listing or deleting files" in joined(app, "info")
    assert not [b for b in app.button if b.key == "file_cleanup_list"]

    app.session_state[state.LANGUAGE] = "zh-CN"
    app.run()
    assert not app.exception
    assert "DeepInfra 的文档没有说明如何列出或删除文件" in joined(app, "info")
    assert "服务商处的文件" in [str(h.value) for h in app.subheader]
