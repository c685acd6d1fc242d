"""The Recipe step of New job: endpoint, model, prompts, parameters, output and ID column.

Every widget keeps its value for the whole session (`persist_state="session"`), so the recipe
is still there after a visit to another page. `recipe_inputs` reads them into a frozen Recipe.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import cast

import pandas as pd
import streamlit as st

from batchdash.errors import InputError
from batchdash.i18n import _, n_
from batchdash.preflight.limits import is_reasoning_model
from batchdash.preflight.template import (
    parse,
    placeholders,
    starting_template,
    unknown_placeholders,
)
from batchdash.providers.profiles import OPENAI, ProviderProfile
from batchdash.recipe import (
    ENDPOINT_LABELS,
    FIELD_TYPES,
    MODERATION_CATEGORIES,
    REASONING_EFFORTS,
    Endpoint,
    FieldType,
    OutputField,
    ReasoningEffort,
    Recipe,
)
from ui import state
from ui.choices import settle_choice
from ui.editors import kept_editor
from ui.text import plain

#: Models offered per endpoint (any other name may be typed: fine-tunes, Azure deployments).
OFFERED_MODELS: dict[Endpoint, tuple[str, ...]] = {
    "/v1/chat/completions": (
        "gpt-4o-mini",
        "gpt-4o",
        "gpt-4.1-nano",
        "gpt-4.1-mini",
        "gpt-4.1",
        "gpt-5-nano",
        "gpt-5-mini",
        "gpt-5",
        "o4-mini",
        "o3",
    ),
    "/v1/embeddings": (
        "text-embedding-3-small",
        "text-embedding-3-large",
        "text-embedding-ada-002",
    ),
    "/v1/completions": ("gpt-3.5-turbo-instruct", "davinci-002", "babbage-002"),
    "/v1/moderations": ("omni-moderation-latest", "text-moderation-latest"),
}
OFFERED_MODELS["/v1/responses"] = OFFERED_MODELS["/v1/chat/completions"]

_FIELD_COLUMNS = ("name", "type", "allowed values", "description")
_CHAT_LIKE = ("/v1/chat/completions", "/v1/responses")


def endpoint_label(endpoint: Endpoint) -> str:
    """An endpoint by the name its API gives it, explained where the name says little (the
    names themselves stay in Latin letters)."""
    labels = {
        "/v1/chat/completions": _("Chat Completions"),
        "/v1/responses": _("Responses"),
        "/v1/embeddings": _("Embeddings"),
        "/v1/completions": _("Completions (legacy)"),
        "/v1/moderations": _("Moderation"),
    }
    return labels.get(endpoint) or str(ENDPOINT_LABELS[endpoint])


def window_label(window: str) -> str:
    """A completion window such as '24h', the unit in the language in use."""
    hours = window.removesuffix("h")
    return _("{hours}h", hours=hours) if hours.isdigit() else window


def endpoint_changed() -> None:
    """Endpoint callback: a model offered for another endpoint gives way to the one last used
    with this endpoint, else to this one's first (a name typed by hand stays)."""
    endpoint = st.session_state[state.ENDPOINT]
    offered = OFFERED_MODELS[endpoint]
    model = st.session_state.get(state.MODEL)
    offered_elsewhere = any(model in models for models in OFFERED_MODELS.values())
    if model not in offered and offered_elsewhere:
        used_before = st.session_state[state.MODEL_BY_ENDPOINT].get(endpoint)
        st.session_state[state.MODEL] = used_before or offered[0]


def _id_column_chosen() -> None:
    st.session_state[state.ID_COLUMN_CHOSEN] = st.session_state.get(state.ID_COLUMN) or ""


def insert_column() -> None:
    """Menu callback: append the chosen column's placeholder to the template."""
    column = st.session_state.get(state.INSERT_COLUMN)
    if column is None:
        return
    template = st.session_state.get(state.TEMPLATE) or ""
    escaped = str(column)
    separator = "" if not template or template.endswith((" ", "\n")) else " "
    st.session_state[state.TEMPLATE] = f"{template}{separator}{{{escaped}}}"


def fields_table(fields: Sequence[OutputField]) -> pd.DataFrame:
    """The fields editor's table holding `fields` (the inverse of `_output_fields`)."""
    return pd.DataFrame(
        {
            "name": pd.Series([f.name for f in fields], dtype=str),
            "type": pd.Series([f.type for f in fields], dtype=str),
            "allowed values": pd.Series([", ".join(f.choices) for f in fields], dtype=str),
            "description": pd.Series([f.description for f in fields], dtype=str),
        }
    )


def _blank_fields() -> pd.DataFrame:
    return fields_table((OutputField("answer"),))


def _output_fields(edited: pd.DataFrame) -> tuple[OutputField, ...]:
    """The fields typed into the editor; rows without a name are skipped."""
    fields = []
    for row in edited.astype(object).where(edited.notna(), "").itertuples(index=False):
        name, kind, allowed, description = (str(value).strip() for value in row)
        if not name:
            continue
        choices = tuple(choice.strip() for choice in allowed.split(",") if choice.strip())
        fields.append(
            OutputField(
                name=name,
                type=cast(FieldType, kind) if kind in FIELD_TYPES else "text",
                choices=choices,
                description=description,
            )
        )
    return tuple(fields)


def fit_template(frame: pd.DataFrame) -> None:
    """When the table's columns change, a template the analyst did not write follows them.

    The page starts from a template that works for the table (its likeliest text column), so
    a new table greets with its requests rather than with an error. A template the analyst
    typed is never replaced: when the new table lacks a column it uses, the preflight says so.
    Runs before the template box is drawn, the only moment its value may be set.
    """
    columns = tuple(str(column) for column in frame.columns)
    if st.session_state.get(state.TEMPLATE_COLUMNS) == columns:
        return
    st.session_state[state.TEMPLATE_COLUMNS] = columns
    template = st.session_state.get(state.TEMPLATE) or ""
    typed = template.strip() and template != st.session_state.get(state.STARTING_TEMPLATE)
    if typed or _fits(template, columns):
        return
    start = starting_template(frame)
    if start:
        st.session_state[state.TEMPLATE] = start
        st.session_state[state.STARTING_TEMPLATE] = start


def _fits(template: str, columns: Sequence[str]) -> bool:
    """Whether `template` has text and names only columns of the table."""
    try:
        return bool(template.strip()) and not unknown_placeholders(template, columns)
    except InputError:
        return False


def recipe_inputs(
    frame: pd.DataFrame,
    provider: ProviderProfile = OPENAI,
    models: Callable[[Endpoint], Sequence[str]] | None = None,
) -> Recipe:
    """Draw the recipe widgets for the table `frame`; the recipe they describe.

    The endpoints and completion windows offered are `provider`'s; `models(endpoint)` gives
    the names the model picker offers (None: the usual OpenAI names of the endpoint).
    """
    fit_template(frame)
    columns = [str(column) for column in frame.columns]
    settle_choice(state.ENDPOINT, provider.endpoints, endpoint_label)
    settle_choice(state.COMPLETION_WINDOW, provider.completion_windows, window_label)
    _keep_within(state.ENDPOINT, provider.endpoints)
    _keep_within(state.COMPLETION_WINDOW, provider.completion_windows)
    endpoint = cast(
        Endpoint,
        st.selectbox(
            _("Endpoint"),
            provider.endpoints,
            format_func=endpoint_label,
            key=state.ENDPOINT,
            on_change=endpoint_changed,
            persist_state="session",
            help=_(
                "Chat Completions suits almost every job; Embeddings turns each row into a "
                "vector; Moderation flags harmful text and scores it by category (free)."
            ),
        ),
    )
    offered = list(models(endpoint) if models is not None else OFFERED_MODELS[endpoint])
    chosen = st.session_state.get(state.MODEL)
    if chosen and chosen not in offered:
        offered.append(chosen)
    model = str(
        st.selectbox(
            _("Model"),
            offered,
            key=state.MODEL,
            accept_new_options=True,
            persist_state="session",
            help=_(
                "Pick a model that takes batch jobs, or type another name (a fine-tuned "
                "model, or your Azure deployment)."
            ),
        )
        or ""
    ).strip()
    st.session_state[state.MODEL_BY_ENDPOINT][endpoint] = model
    window = st.selectbox(
        _("Completion window"),
        provider.completion_windows,
        format_func=window_label,
        key=state.COMPLETION_WINDOW,
        persist_state="session",
        disabled=len(provider.completion_windows) == 1,
        help=_(
            "How long {provider} may take to run the batch; requests not run by then "
            "expire and can be repaired.",
            provider=plain(provider.label),
        ),
    )
    chat_like = endpoint in _CHAT_LIKE
    system_prompt = st.text_area(
        _("System prompt") if endpoint == "/v1/chat/completions" else _("Instructions"),
        key=state.SYSTEM_PROMPT,
        height=80,
        persist_state="session",
        disabled=not chat_like,
        placeholder=_("Optional: how the model should answer, the same for every row."),
        help=None if chat_like else _("This endpoint has no system prompt."),
    )
    st.text_area(
        _("Prompt template"),
        key=state.TEMPLATE,
        height=120,
        persist_state="session",
        help=_(
            "Each row's prompt: {{column name}} is replaced by that row's cell. Write {{{{ and "
            "}}}} for literal braces."
        ),
    )
    template = st.session_state.get(state.TEMPLATE) or ""
    with st.container(horizontal=True, vertical_alignment="center"):
        st.menu_button(
            _("Insert column"),
            list(columns),
            format_func=plain,  # menu labels are Markdown; column names come from the file
            key=state.INSERT_COLUMN,
            on_click=insert_column,
            icon=":material/data_object:",
            disabled=not columns,
        )
        used = _template_columns(template, system_prompt or "")
        if used is not None and template.strip():  # else the preflight names what is wrong
            st.caption(_uses(template, used, columns))

    temperature, max_tokens, effort, dimensions = _parameters(endpoint, model)
    output_fields = _output(endpoint)
    categories = _moderation_categories() if endpoint == "/v1/moderations" else ()
    # "" stands for automatic ids: a selectbox reads None as "nothing chosen".
    id_options = ["", *columns]
    settle_choice(state.ID_COLUMN, id_options, _id_label)
    chosen = st.session_state[state.ID_COLUMN_CHOSEN]
    if chosen in columns and st.session_state.get(state.ID_COLUMN) not in id_options[1:]:
        st.session_state[state.ID_COLUMN] = chosen  # back on a table that has it
    id_column = st.selectbox(
        _("ID column"),
        id_options,
        format_func=_id_label,
        key=state.ID_COLUMN,
        on_change=_id_column_chosen,
        persist_state="session",
        help=_(
            "A column whose values identify each row (unique, not empty). Answers are matched "
            "back to rows by it."
        ),
    )
    return Recipe(
        endpoint=endpoint,
        model=model,
        template=template,
        system_prompt=(system_prompt or "") if chat_like else "",
        temperature=temperature,
        max_output_tokens=max_tokens,
        reasoning_effort=effort,
        id_column=id_column or None,
        output_fields=output_fields,
        dimensions=dimensions,
        moderation_categories=categories,
        # The provider's default is no choice at all: the recipe stays the one already counted.
        completion_window=None if window == provider.completion_windows[0] else window,
    )


def _id_label(column: str) -> str:
    return column or _("Automatic (row-1, row-2, …)")


def _keep_within(key: str, options: Sequence[str]) -> None:
    """A kept widget value another provider does not offer gives way to this one's first."""
    if st.session_state.get(key) not in options:
        st.session_state[key] = options[0]


def _uses(template: str, used: Sequence[str], columns: Sequence[str]) -> str:
    """Which columns the templates use, and which of them this table lacks."""
    starting = template == st.session_state.get(state.STARTING_TEMPLATE)
    if starting and len(used) == 1 and used[0] in columns:
        return _(
            "Sends each row's **{column}** cell as it is: write your instructions around it, "
            "or insert more columns.",
            column=plain(used[0]),
        )
    if not used:
        return _("Uses no column: every row gets the same prompt")
    found = [plain(name) for name in used if name in columns]
    missing = [plain(name) for name in used if name not in columns]
    uses = _("Uses {columns}", columns=_(", ").join(found)) if found else ""
    if not missing:
        return uses
    lacking = n_(
        "**{columns}** is not a column of this table",
        "**{columns}** are not columns of this table",
        len(missing),
        columns=_(", ").join(missing),
    )
    return _("{uses}; {lacking}", uses=uses, lacking=lacking) if uses else lacking


def _template_columns(template: str, system_prompt: str) -> list[str] | None:
    """Columns both templates use, in order; None while a template does not parse."""
    try:
        parse(template)
        parse(system_prompt)
    except InputError:
        return None
    return list(dict.fromkeys(placeholders(template) + placeholders(system_prompt)))


def _parameters(
    endpoint: Endpoint, model: str
) -> tuple[float | None, int | None, ReasoningEffort | None, int | None]:
    """Temperature, maximum output tokens, reasoning effort and embedding size."""
    if endpoint == "/v1/moderations":
        return None, None, None, None  # moderation takes the text and the model only
    if endpoint == "/v1/embeddings":
        # No bounds on these inputs: a browser would drop a value out of bounds without a
        # word; the preflight explains it instead (and keeps what was typed on screen).
        dimensions = st.number_input(
            _("Embedding size"),
            value=None,
            step=1,
            key=state.DIMENSIONS,
            persist_state="session",
            placeholder=_("Model default"),
            help=_("Only text-embedding-3 models take a size."),
        )
        return None, None, None, None if dimensions is None else int(dimensions)
    reasoning = is_reasoning_model(model)
    left, middle, right = st.columns(3, vertical_alignment="bottom")
    with left:
        if reasoning:
            temperature = None
            st.caption(_("Reasoning models take no temperature."))
        else:
            value = st.number_input(
                _("Temperature"),
                value=None,
                step=0.1,
                key=state.TEMPERATURE,
                persist_state="session",
                placeholder=_("Model default"),
                help=_("Lower is more predictable; empty leaves the model's default."),
            )
            temperature = None if value is None else float(value)
    with middle:
        tokens = st.number_input(
            _("Max output tokens"),
            value=None,
            step=1,
            key=state.MAX_OUTPUT_TOKENS,
            persist_state="session",
            placeholder=_("Model default"),
            help=_("Caps each answer; empty leaves the model's default."),
        )
    effort: ReasoningEffort | None = None
    with right:
        if reasoning and endpoint in _CHAT_LIKE:
            # A select box: seven values do not fit a third of the row as buttons (the last
            # ones were cut off), and it offers the model's default as a value of its own.
            effort = cast(
                ReasoningEffort | None,
                st.selectbox(
                    _("Reasoning effort"),
                    [None, *REASONING_EFFORTS],
                    key=state.REASONING_EFFORT,
                    persist_state="session",
                    format_func=lambda value: _("Model default") if value is None else value,
                    help=_(
                        "More effort: better answers, more output tokens billed; 'none' "
                        "skips reasoning. Not every model takes every value. 'Model default' "
                        "sends no effort, so the model uses its own."
                    ),
                ),
            )
    return temperature, None if tokens is None else int(tokens), effort, None


def _output(endpoint: Endpoint) -> tuple[OutputField, ...]:
    """Free text, or the structured fields typed into a small table."""
    if endpoint not in _CHAT_LIKE:
        return ()
    mode = st.segmented_control(
        _("Answer"),
        state.OUTPUT_MODES,
        format_func=lambda mode: (
            _("Structured fields") if mode == state.OUTPUT_FIELDS else _("Free text")
        ),
        key=state.OUTPUT_MODE,
        required=True,
        persist_state="session",
        help=_("Structured fields become columns of the results table, one per field."),
    )
    if mode != state.OUTPUT_FIELDS:
        return ()
    edited = kept_editor(
        state.FIELDS_EDITOR,
        _blank_fields,
        num_rows="dynamic",
        hide_index=True,
        column_order=_FIELD_COLUMNS,
        column_config={
            "name": st.column_config.TextColumn(_("Name"), required=True),
            "type": st.column_config.SelectboxColumn(
                _("Type"), options=FIELD_TYPES, default="text", required=True
            ),
            "allowed values": st.column_config.TextColumn(
                _("Allowed values"),
                help=_("For 'one of': the answers allowed, separated by commas."),
            ),
            "description": st.column_config.TextColumn(
                _("Description"), help=_("What the model should put in this field.")
            ),
        },
        alt=_("Structured answer fields"),
    )
    return _output_fields(edited)


def _moderation_categories() -> tuple[str, ...]:
    """The categories whose scores get a column, in the API's order; `flagged` always comes."""
    chosen = st.multiselect(
        _("Score columns"),
        MODERATION_CATEGORIES,
        key=state.MODERATION_CATEGORIES,
        persist_state="session",
        placeholder=_("Only the flagged column"),
        help=_(
            "Every row gets a 'flagged' column (yes/no); each category picked here adds a "
            "score column from 0 to 1, such as score_violence."
        ),
    )
    return tuple(category for category in MODERATION_CATEGORIES if category in chosen)
