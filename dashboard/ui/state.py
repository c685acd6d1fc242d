"""Every session-state key the pages share, and their initial values, in one place.

Widget keys are listed too: the pages give those widgets `persist_state="session"`, so what
the analyst typed survives a visit to another page. Keys of data editors and of the remembered
results (parsed tables, plans) are prefixes or slots handled by ui.editors and ui.memo.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from batchdash.providers.profiles import AZURE, CUSTOM, OPENAI, PROFILES

#: The language the analyst picked in the sidebar ("en", "zh-CN"); unset: the browser's.
LANGUAGE = "language"

# Connection (Settings page). The key lives in the session only; it is never written anywhere.
API_KEY = "api_key"
BASE_URL_PRESET = "base_url_preset"
AZURE_RESOURCE = "azure_resource"
CUSTOM_BASE_URL = "custom_base_url"
#: The last "Test connection": {"scope": str, "refused": bool, "ok": bool, "message": str}
#: or None.
CONNECTION_CHECK = "connection_check"
#: Enqueued-token limit per model name, from the Settings table.
TOKEN_LIMITS = "token_limits"
#: batchdash.preflight.pricing.ModelPrice per model name, from the Settings table.
PRICE_OVERRIDES = "price_overrides"
#: How fast the bundled sandbox runs each new job (a key of ui.sandbox_pace.PACES) or None.
SANDBOX_PACE = "sandbox_pace"
# Data editors of the Settings page (ui.editors names).
LIMITS_EDITOR = "limits_editor"
PRICES_EDITOR = "prices_editor"

# New job page, Source step.
SOURCE_MODE = "source_mode"
#: The uploaded file (ui.source.Upload) kept after the uploader is gone from the page.
UPLOAD = "upload"
#: The last upload that read into a table, with its reading options (ui.source.KeptUpload) or
#: None: the page goes on with it while a newer upload cannot be read.
KEPT_UPLOAD = "kept_upload"
#: Why the last file put in the uploader was refused before reading (too large), or None.
UPLOAD_REFUSED = "upload_refused"
UPLOADER = "uploader"
READ_ENCODING = "read_encoding"
READ_DELIMITER = "read_delimiter"
READ_SHEET = "read_sheet"
COMPOSE_EDITOR = "compose_editor"
NEW_COLUMN = "new_column"
#: Why the last "Add column" did nothing, or None.
COLUMN_PROBLEM = "column_problem"
PASTED_TEXT = "pasted_text"
#: The table the rest of the page works on (ui.source.Source) or None.
SOURCE = "source"

# New job page, Recipe step (widget keys).
ENDPOINT = "endpoint"
MODEL = "model"
#: The model last used with each endpoint: switching back to an endpoint brings its model back.
MODEL_BY_ENDPOINT = "model_by_endpoint"
SYSTEM_PROMPT = "system_prompt"
TEMPLATE = "template"
#: The template the page last started from for the table (not typed by the analyst): while the
#: template still reads so, it follows the table when the columns change.
STARTING_TEMPLATE = "starting_template"
#: The table columns the template was last fitted to (a tuple), or None.
TEMPLATE_COLUMNS = "template_columns"
INSERT_COLUMN = "insert_column"
#: The completion window picked for the provider (widget key).
COMPLETION_WINDOW = "completion_window"
#: How many times "Refresh models" was clicked: part of the model list's cache key.
MODELS_REFRESHED = "models_refreshed"
TEMPERATURE = "temperature"
MAX_OUTPUT_TOKENS = "max_output_tokens"
REASONING_EFFORT = "reasoning_effort"
DIMENSIONS = "dimensions"
#: The moderation categories whose scores become columns (a list of category names).
MODERATION_CATEGORIES = "moderation_categories"
OUTPUT_MODE = "output_mode"
FIELDS_EDITOR = "fields_editor"
ID_COLUMN = "id_column"
#: The ID column the analyst last chose ("" for automatic ids): a table without it (another
#: sheet, another file) shows automatic ids, and one that has it again brings it back.
ID_COLUMN_CHOSEN = "id_column_chosen"
#: The recipe of the last run (batchdash.recipe.Recipe) or None.
RECIPE = "recipe"
# Saved recipes (ui.saved_recipes): the name to save under, the recipe and version to load
# (widget keys), what the last save, load or delete did (ui.saved_recipes.Notice or None) and
# the recipe on the page before the last load (batchdash.recipe.Recipe or None).
RECIPE_SAVE_NAME = "recipe_save_name"
RECIPE_LOAD_NAME = "recipe_load_name"
RECIPE_LOAD_VERSION = "recipe_load_version"
RECIPE_NOTICE = "recipe_notice"
RECIPE_BEFORE_LOAD = "recipe_before_load"

# New job page, Preflight, Try and Submit steps.
#: Answers of "Try on 3 rows" (ui.trial.Trial) or None.
TRIAL = "trial"
DOWNLOAD_PART = "download_part"
#: Whether the submit confirmation dialog is open.
SUBMIT_OPEN = "submit_open"
JOB_NAME = "job_name"
#: ui.submit.NameMemo: which job name was offered, for which file, and which was sent.
JOB_NAME_MEMO = "job_name_memo"
#: (what was submitted, job id) of a job created but not fully submitted, so a retry resumes it.
PENDING_JOB = "pending_job"
#: How the job runs (widget key): "batch", "direct" or "export" (ui.run_choice).
RUN_WAY = "run_way"
#: Calls at once of a direct run (widget key).
DIRECT_CONCURRENCY = "direct_concurrency"

# Jobs and Results pages.
#: The job the analyst opened last (a job id) or None; both pages start from it.
SELECTED_JOB = "selected_job"
#: Jobs page: the jobs here or all batches of the key (widget key).
JOBS_VIEW = "jobs_view"
#: Jobs page filters (widget keys): name search, status words, archived jobs shown.
JOBS_SEARCH = "jobs_search"
JOBS_STATUS_FILTER = "jobs_status_filter"
JOBS_SHOW_ARCHIVED = "jobs_show_archived"
#: The job picker of the Jobs page (widget key, kept in step with SELECTED_JOB).
JOBS_PICKER = "jobs_picker"
#: The open action dialog of the Jobs page (ui.job_actions.Dialog) or None.
JOBS_DIALOG = "jobs_dialog"
#: True when the next Jobs run comes from a widget of the page, so it asks the API nothing.
JOBS_QUIET_RUN = "jobs_quiet_run"
#: What the last action did and when (a sentence, unix seconds), or None.
JOBS_NOTICE = "jobs_notice"
#: Why the last vLLM output file uploaded on the Jobs page was refused: (job id, sentence).
VLLM_IMPORT_REFUSED = "vllm_import_refused"
#: Unix seconds of the Jobs page's last refresh from the API, or None.
JOBS_CHECKED_AT = "jobs_checked_at"
#: The last list of every batch of the key (ui.remote_batches.Listing) or None.
REMOTE_LISTING = "remote_listing"
#: The remote batch picked in the key's batch list (widget key).
REMOTE_PICKER = "remote_picker"
# Widgets of the action dialogs.
REPAIR_STATUSES = "repair_statuses"
ATTACH_BATCH_ID = "attach_batch_id"
ATTACH_NAME = "attach_name"
#: The Results page's job picker (widget key, kept in step with SELECTED_JOB).
RESULTS_PICKER = "results_picker"
#: Row statuses the Results table shows (widget key).
RESULTS_STATUS_FILTER = "results_status_filter"
#: Whether the Results table shows the technical lineage columns (widget key).
RESULTS_TECHNICAL = "results_technical"

# The APIs Settings offers: one per provider profile, by its label. "OpenAI" stands for the API
# configured on this server (OPENAI_BASE_URL), OpenAI's own when none is.
PRESET_OPENAI = OPENAI.label
PRESET_AZURE = AZURE.label
PRESET_CUSTOM = CUSTOM.label
BASE_URL_PRESETS = tuple(profile.label for profile in PROFILES)

SOURCE_UPLOAD = "Upload a file"
SOURCE_COMPOSE = "Type a table"
SOURCE_PASTE = "Paste rows"
SOURCE_MODES = (SOURCE_UPLOAD, SOURCE_COMPOSE, SOURCE_PASTE)

OUTPUT_TEXT = "Free text"
OUTPUT_FIELDS = "Structured fields"
OUTPUT_MODES = (OUTPUT_TEXT, OUTPUT_FIELDS)

_DEFAULTS: dict[str, Any] = {
    API_KEY: "",
    BASE_URL_PRESET: PRESET_OPENAI,
    AZURE_RESOURCE: "",
    CUSTOM_BASE_URL: "",
    CONNECTION_CHECK: None,
    TOKEN_LIMITS: {},
    PRICE_OVERRIDES: {},
    SANDBOX_PACE: None,
    SOURCE_MODE: SOURCE_UPLOAD,
    UPLOAD: None,
    KEPT_UPLOAD: None,
    UPLOAD_REFUSED: None,
    SOURCE: None,
    PASTED_TEXT: "",
    ENDPOINT: "/v1/chat/completions",
    MODEL: "gpt-4o-mini",
    MODEL_BY_ENDPOINT: {},
    ID_COLUMN_CHOSEN: "",
    SYSTEM_PROMPT: "",
    TEMPLATE: "{prompt}",
    STARTING_TEMPLATE: "{prompt}",
    TEMPLATE_COLUMNS: None,
    TEMPERATURE: None,
    MAX_OUTPUT_TOKENS: None,
    REASONING_EFFORT: None,
    MODELS_REFRESHED: 0,
    DIMENSIONS: None,
    MODERATION_CATEGORIES: [],
    OUTPUT_MODE: OUTPUT_TEXT,
    RECIPE: None,
    RECIPE_NOTICE: None,
    RECIPE_BEFORE_LOAD: None,
    TRIAL: None,
    SUBMIT_OPEN: False,
    PENDING_JOB: None,
    SELECTED_JOB: None,
    JOBS_DIALOG: None,
    JOBS_QUIET_RUN: False,
    JOBS_NOTICE: None,
    VLLM_IMPORT_REFUSED: None,
    JOBS_CHECKED_AT: None,
    REMOTE_LISTING: None,
}


def init_state() -> None:
    """Give every shared key its initial value once per session."""
    for key, value in _DEFAULTS.items():
        if key not in st.session_state:
            st.session_state[key] = value.copy() if isinstance(value, dict | list) else value
