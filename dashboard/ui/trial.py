""" "Try on 3 rows": the first requests sent at once to the synchronous endpoint, answers shown.

Each answer is wrapped in a batch output line and read by the same code that reads batch
results, so the analyst sees exactly what the job would put in the results table (structured
fields split out, a malformed answer reported as the row's error).
"""

from __future__ import annotations

import json
from collections.abc import Hashable
from dataclasses import dataclass

import pandas as pd
import streamlit as st

from batchdash.api.gateway import Gateway
from batchdash.errors import ApiError, ResultsError
from batchdash.i18n import _
from batchdash.preflight.plan import BatchPlan, used_columns
from batchdash.recipe import Recipe
from batchdash.results.parse import RowResult, parse_result_lines
from ui.text import plain

# Numbers of an embedding shown; the rest are summed up by the count.
_VECTOR_SHOWN = 6


@dataclass(frozen=True)
class TrialRow:
    """What one tried row came back with."""

    #: 1-based row number in the table.
    row: int
    #: The row's custom_id.
    custom_id: str
    #: The answer read as a batch result; None when the call failed.
    result: RowResult | None
    #: Why the call failed (its message is said in the language of each run); None when it
    #: answered.
    error: ApiError | ResultsError | None = None


@dataclass(frozen=True)
class Trial:
    """The answers of one try, and what they were tried with."""

    #: The table digest and recipe the rows were sent with.
    key: Hashable
    #: One entry per tried row, in row order.
    rows: tuple[TrialRow, ...]


def run_trial(gateway: Gateway, sample: BatchPlan, key: Hashable) -> Trial:
    """Send each row of `sample` once to the synchronous endpoint; failures are kept per row."""
    recipe = sample.recipe
    rows = []
    for row in range(sample.rows):
        custom_id = str(sample.custom_ids.iloc[row])
        try:
            answer = gateway.complete(recipe.endpoint, sample.request_body(row))
            result = _read_answer(answer, custom_id, recipe)
        except (ApiError, ResultsError) as error:
            rows.append(TrialRow(row + 1, custom_id, None, error.with_traceback(None)))
            continue
        rows.append(TrialRow(row + 1, custom_id, result))
    return Trial(key, tuple(rows))


def _read_answer(answer: dict[str, object], custom_id: str, recipe: Recipe) -> RowResult:
    line = {
        "id": f"try_{custom_id}",
        "custom_id": custom_id,
        "response": {"status_code": 200, "request_id": "", "body": answer},
        "error": None,
    }
    data = json.dumps(line, ensure_ascii=False).encode()
    (result,) = parse_result_lines(data, recipe=recipe, source_name="the answer")
    return result


def answer_tokens(trial: Trial) -> tuple[int, ...]:
    """Output tokens of the tried rows that were answered (what the cost projection uses)."""
    return tuple(
        tried.result.output_tokens
        for tried in trial.rows
        if tried.result is not None and tried.result.status == "ok"
    )


def show_trial(trial: Trial, recipe: Recipe, frame: pd.DataFrame) -> None:
    """One block per tried row: the cells the prompts used beside the answer (or its fields),
    or what went wrong; `frame` is the table the rows were tried from."""
    used = [column for column in used_columns(recipe) if column in frame.columns]
    for tried in trial.rows:
        with st.container(border=True):
            st.caption(
                _("Row {row} · {custom_id}", row=tried.row, custom_id=plain(tried.custom_id))
            )
            if used:
                cells, answer = st.columns([2, 3])
                with cells:
                    _show_cells(frame.iloc[tried.row - 1], used)
            else:
                answer = st.container()
            with answer:
                _show_answer(tried, recipe)


def _show_cells(row: pd.Series, columns: list[str]) -> None:
    """Each used cell under its column name, line breaks kept."""
    for column in columns:
        value = "" if pd.isna(row[column]) else str(row[column])
        st.markdown(f"**{plain(column)}**  \n" + plain(value).replace("\n", "  \n"))


def _show_answer(tried: TrialRow, recipe: Recipe) -> None:
    result = tried.result
    if result is None:
        st.error(plain(tried.error), icon=":material/error:")
        return
    if result.status != "ok":
        st.error(plain(result.error), icon=":material/error:")
    if result.fields:
        st.dataframe(
            pd.DataFrame([{name: str(value) for name, value in result.fields.items()}]),
            hide_index=True,
            alt=_("Structured answer of row {row}", row=tried.row),
        )
    elif recipe.endpoint == "/v1/embeddings" and result.response:
        vector = json.loads(result.response)
        shown = ", ".join(f"{value:.4f}" for value in vector[:_VECTOR_SHOWN])
        st.code(_("{count:,} numbers: [{shown}, …]", count=len(vector), shown=shown), language=None)
    elif result.response:
        st.code(result.response, language=None, wrap_lines=True)
    tokens = _(
        "{input:,} input and {output:,} output tokens",
        input=result.input_tokens,
        output=result.output_tokens,
    )
    st.caption(
        tokens + (f" · {plain(finish_words(result.finish_reason))}" if result.finish_reason else "")
    )


def finish_words(reason: str) -> str:
    """Why an answer stopped (the API's finish_reason), in plain words of the language in use."""
    length = _("cut off at the length limit (Max output tokens or the model's own)")
    tool = _("asked to call a tool instead of answering")
    words = {
        "stop": _("complete answer"),
        "length": length,
        "max_tokens": length,
        "content_filter": _("cut off by the content filter"),
        "tool_calls": tool,
        "function_call": tool,
    }
    return words.get(reason) or _("stopped: {reason}", reason=reason)
