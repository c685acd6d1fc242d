"""Cell text holding HTML, Markdown or script is shown as text on every page, never rendered.

A table whose cells, column name and file name carry the classic payloads goes through New job
(preview, request bodies, tried answers), is submitted, and is shown on Jobs and Results (the
sandbox's answers quote each prompt, so the answers carry the payloads too). On every page, each
piece of text Streamlit renders as Markdown (markdown, captions, alerts, headings, widget labels,
menu and button-group options, tabs, expanders, metrics) holds a payload only escaped; tables
(st.dataframe) and code blocks (st.code), which show text as it is, hold it unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from google.protobuf.message import Message
from streamlit.testing.v1 import AppTest

from batchdash.inputs.reading import read_table
from tests.app.conftest import JOBS, RESULTS, SETTINGS, rerun_until
from tests.app.test_new_job_bad_inputs import upload
from ui import state
from ui.text import plain

CORPUS = Path(__file__).resolve().parents[1] / "data" / "bad"
MARKUP_CSV = (CORPUS / "markup_cells.csv").read_bytes()
#: A file name as hostile as the cells.
FILE_NAME = "<img src=x onerror=alert(1)> **notes**.csv"
#: Pieces that would render (or run) if a page gave them to Markdown unescaped.
FRAGMENTS = (
    "<img src=x onerror=alert(1)>",
    "<script>alert(document.cookie)</script>",
    "**bold**",
    "_italic_",
    "# heading",
    "[link](javascript:alert(1))",
    ":red[colour]",
    ":material/home:",
    "$x^2$",
    "`code`",
    "<b>note</b>",
    "**x**",
    "**notes**",
)
#: Proto fields Streamlit renders as Markdown.
_MARKDOWN_FIELDS = frozenset({"body", "label", "content", "help", "placeholder"})
#: Elements that show text as it is (their own check below), or hold no text.
_RAW = frozenset({"Code", "Dataframe", "Json", "Table"})
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)


def _strings(message: Message, menu: bool) -> Iterator[str]:
    for field, value in message.ListFields():
        values = value if field.is_repeated else [value]
        for item in values:
            if isinstance(item, Message):
                yield from _strings(item, menu)
            elif isinstance(item, str) and (
                field.name in _MARKDOWN_FIELDS or (menu and field.name == "options")
            ):
                yield item


def markdown_texts(at: AppTest) -> list[tuple[str, str]]:
    """(element type, text) of every piece of text the page renders as Markdown."""
    found = []
    for element in [*at.main, *at.sidebar]:
        kind = type(element).__name__
        proto = getattr(element, "proto", None)
        if kind in _RAW or not isinstance(proto, Message):
            continue
        # Menu buttons render their options as Markdown; select boxes show options as text.
        for text in _strings(proto, menu=kind == "MenuButton"):
            found.append((kind, text))
    return found


def rendered_payloads(at: AppTest) -> list[str]:
    """Payload fragments some Markdown of the page would render (empty when all are escaped)."""
    problems = []
    for kind, text in markdown_texts(at):
        shown = _ESCAPE.sub(r"\1", text)
        for fragment in FRAGMENTS:
            if fragment in shown and plain(fragment) not in text:
                problems.append(f"{kind} renders {fragment!r} in {text[:120]!r}")
    return problems


def escaped_payloads(at: AppTest) -> int:
    """How many escaped payload fragments the page's Markdown holds (so the check saw some)."""
    return sum(plain(fragment) in text for _, text in markdown_texts(at) for fragment in FRAGMENTS)


def test_the_check_catches_a_payload_rendered_as_markdown() -> None:
    def page() -> None:
        import streamlit as st

        st.caption("A note from the file: [link](javascript:alert(1))")
        st.markdown("Plain words, and an escaped \\*\\*bold\\*\\*.")

    at = AppTest.from_function(page).run()

    assert rendered_payloads(at) == [
        "Caption renders '[link](javascript:alert(1))' in "
        "'A note from the file: [link](javascript:alert(1))'"
    ]
    assert escaped_payloads(at) == 1


def test_cells_with_markup_stay_text_on_every_page(app: AppTest) -> None:
    payloads = read_table(MARKUP_CSV, "markup_cells.csv").frame["prompt"].tolist()
    upload(app, FILE_NAME, MARKUP_CSV)
    app.text_area(key=state.TEMPLATE).set_value("{prompt} ({<b>note</b> **x**})").run()
    app.selectbox(key=state.ID_COLUMN).set_value("id").run()
    app.button(key="try_rows").click().run()
    assert not app.exception

    # New job: the preview and the tried answers are raw text; Markdown holds only escapes.
    preview = app.dataframe[0].value
    assert preview["prompt"].tolist() == payloads
    assert list(preview.columns) == ["id", "prompt", "<b>note</b> **x**"]
    requests = [code.value for code in app.code if code.language == "json"]
    assert payloads[0] in requests[0] and payloads[2] in requests[2]
    answers = [code.value for code in app.code if code.value.startswith("[sandbox]")]
    assert [payload in answer for payload, answer in zip(payloads, answers, strict=False)] == [
        True
    ] * 3
    assert rendered_payloads(app) == []
    assert escaped_payloads(app) >= 3  # the file name in the caption, the column in the menu

    app.button(key="submit_button").click().run()
    assert rendered_payloads(app) == []  # the dialog names the job after the file
    app.button(key="submit_confirm").click().run()
    assert app.header[0].value == "Jobs"
    job_id = app.session_state[state.SELECTED_JOB]

    # Jobs: the job's name (from the file's name) is escaped wherever Markdown shows it.
    def finished() -> bool:
        jobs = [f.value for f in app.dataframe if "progress" in f.value.columns]
        return bool(jobs) and list(jobs[0]["status"]) == ["Completed"]

    rerun_until(app, finished)
    assert rendered_payloads(app) == []
    assert escaped_payloads(app) >= 1

    # Results: answers and cells in the table exactly as written.
    app.switch_page(RESULTS).run()
    assert not app.exception
    table = next(frame.value for frame in app.dataframe if "custom_id" in frame.value.columns)
    assert table["prompt"].tolist() == payloads
    assert all(
        payload in str(answer) for payload, answer in zip(payloads, table["response"], strict=True)
    )
    assert table["status"].tolist() == ["ok"] * len(payloads)
    assert rendered_payloads(app) == []
    assert app.session_state[state.SELECTED_JOB] == job_id

    for page in (JOBS, SETTINGS):
        app.switch_page(page).run()
        assert not app.exception
        assert rendered_payloads(app) == []


@pytest.mark.parametrize("fragment", FRAGMENTS)
def test_plain_escapes_every_fragment(fragment: str) -> None:
    """Streamlit's Markdown would show `plain(fragment)` as the fragment itself."""
    escaped = plain(fragment)
    assert _ESCAPE.sub(r"\1", escaped) == fragment
    assert not re.search(r"(?<!\\)[<*_`\[\]$:#]", escaped)
