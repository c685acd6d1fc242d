"""New job: source table, recipe, preflight, try, download, submit."""

import streamlit as st

from batchdash.i18n import _
from ui import state
from ui.source import composed_source, pasted_source, show_source, uploaded_source

st.header(_("New job"))

st.subheader(_("1. Source"), divider="gray")
SOURCE_MODE_LABELS = {
    state.SOURCE_UPLOAD: _("Upload a file"),
    state.SOURCE_COMPOSE: _("Type a table"),
    state.SOURCE_PASTE: _("Paste rows"),
}
mode = st.segmented_control(
    _("Where are the rows?"),
    state.SOURCE_MODES,
    format_func=lambda option: SOURCE_MODE_LABELS.get(option, option),
    key=state.SOURCE_MODE,
    required=True,
    persist_state="session",
)
if mode == state.SOURCE_COMPOSE:
    source = composed_source()
elif mode == state.SOURCE_PASTE:
    source = pasted_source()
else:
    source = uploaded_source()
st.session_state[state.SOURCE] = source
if source is None:
    st.stop()

# The steps below need pandas, the token tables and the API client, which take seconds to import
# on a busy machine: they are imported once there is a table, so the page greets a newcomer at
# once (Python imports each module once per process; later runs find them loaded).
import functools

from ui.choices import settle_choice
from ui.connection import current_connection
from ui.models import offered_models
from ui.preflight import part_file, preflight, show_cost, show_preflight, show_requests
from ui.recipe_inputs import recipe_inputs
from ui.saved_recipes import saved_recipes
from ui.source import source_stem
from ui.submit import default_job_name, open_dialog, submit_dialog
from ui.text import plain
from ui.token_limits import load_saved_limits
from ui.trial import answer_tokens, run_trial, show_trial

show_source(source)
frame = source.table.frame

connection = current_connection()
provider = connection.provider

st.subheader(_("2. Recipe"), divider="gray")
saved_recipes_box = st.container()  # above the recipe, drawn once the recipe is read
recipe = recipe_inputs(frame, provider, lambda endpoint: offered_models(connection, endpoint))
st.session_state[state.RECIPE] = recipe
with saved_recipes_box:
    saved_recipes(recipe, frame, connection)
load_saved_limits(connection)
settings_limits: dict[str, int] = st.session_state[state.TOKEN_LIMITS]
limit = settings_limits.get(recipe.model)
overrides = st.session_state[state.PRICE_OVERRIDES]
pre = preflight(source, recipe, limit, overrides, provider)
st.markdown("**" + _("The first requests, as they will be sent") + "**")
show_requests(pre, recipe, frame.columns)

st.subheader(_("3. Preflight"), divider="gray")
# The cost is drawn once the try below has run, so a try's projection shows in the same run.
cost_box = show_preflight(pre, recipe, limit)

st.subheader(_("4. Try on 3 rows"), divider="gray")
trial_key = (source.digest, recipe, connection.scope)
st.caption(
    _(
        "Sends the first rows to the model at once, at the normal price, so you can fix the "
        "prompt before paying for every row."
    )
    if not connection.sandbox
    else _("Sends the first rows to the sandbox at once (simulated answers, no cost).")
)
if connection.refusal:
    st.warning(plain(connection.refusal), icon=":material/block:")
if st.button(
    _("Try on 3 rows"),
    icon=":material/play_arrow:",
    key="try_rows",
    disabled=not pre.sample.ok or pre.sample.rows == 0 or bool(connection.refusal),
):
    with st.spinner(_("Asking the model…")):
        st.session_state[state.TRIAL] = run_trial(connection.gateway(), pre.sample, trial_key)
trial = st.session_state[state.TRIAL]
tried: tuple[int, ...] = ()
if trial is not None and trial.key == trial_key:
    show_trial(trial, recipe, frame)
    tried = answer_tokens(trial)
elif trial is not None and trial.key[0] == source.digest:  # another table: nothing to say
    st.caption(_("The recipe changed since the last try: try again to see its answers."))
with cost_box:
    show_cost(
        pre,
        recipe,
        overrides,
        sandbox=connection.sandbox,
        tried_output_tokens=tried,
        provider=provider,
    )

st.subheader(_("5. Download or submit"), divider="gray")
if pre.plan is None:
    # The parts are split by the exact count: nothing is offered on an estimate.
    if st.session_state[state.SUBMIT_OPEN]:
        # Submit clicked as the recipe changed: no dialog opens on checks still running (nor
        # later by itself, once they are done).
        st.session_state[state.SUBMIT_OPEN] = False
        st.warning(
            _(
                "Not submitted: the rows are still being checked. Click Submit job… again once "
                "the checks are done."
            ),
            icon=":material/hourglass_top:",
        )
    st.caption(_("Download and submit open once every row is counted, in a moment."))
    st.stop()
if not pre.ok:
    st.caption(_("Fix the problems listed under Preflight to download or submit the job."))
    st.stop()
parts = len(pre.plan.parts)


def part_label(number: int) -> str:
    return _("Part {number}", number=number)


with st.container(horizontal=True, vertical_alignment="bottom"):
    part = 1
    if parts > 1:
        numbers = range(1, parts + 1)
        settle_choice(state.DOWNLOAD_PART, numbers, part_label)
        part = st.selectbox(_("Part"), numbers, key=state.DOWNLOAD_PART, format_func=part_label)
    st.download_button(
        _("Download JSONL")
        if parts == 1
        else _("Download part {part} of {parts}", part=part, parts=parts),
        data=functools.partial(part_file, frame, recipe, limit, overrides, part, provider),
        file_name=f"{source_stem(source)}-part-{part:04d}.jsonl",
        mime="application/jsonl",
        icon=":material/download:",
        key="download_jsonl",
    )
    st.button(
        _("Submit job…"),
        type="primary",
        icon=":material/send:",
        key="submit_button",
        disabled=bool(connection.refusal),
        on_click=open_dialog,
        args=(default_job_name(source), source.table.source_name),
    )
if pre.sample.parts:
    with st.expander(_("The first lines of the JSONL file")):
        st.code(pre.sample.part_bytes(1).decode(), language="json", wrap_lines=True)
if st.session_state[state.SUBMIT_OPEN]:
    submit_dialog(source, recipe, limit, overrides, connection, tried)
st.caption(_("Jobs are sent through {connection}.", connection=plain(connection.label)))
