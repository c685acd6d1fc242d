"""No text from outside Batchdash renders as Markdown: every drawn value is escaped or reviewed.

`markdown_sweep.drawn_values` finds each value the UI puts into a Markdown text. A value that
does not pass through `plain` (or a number or money formatter) must be Batchdash's own words,
listed here with the reason; a new unescaped value fails the test until it is escaped or
reviewed. The test prints the whole list, for the next person.
"""

from __future__ import annotations

import ast

from tests.security import markdown_sweep
from tests.security.markdown_sweep import DrawnValue, drawn_values

#: (file, expression) -> why the value is Batchdash's own text, safe to read as Markdown.
REVIEWED = {
    ("app_pages/new_job.py", "part"): "a part number",
    ("app_pages/new_job.py", "parts"): "a count of parts",
    ("app_pages/results.py", "str(KEEPING_HELP)"): "a constant help text",
    ("app_pages/settings.py", "where_requests_go(connection, base_url)"): (
        "builds its sentence with plain() around the URL"
    ),
    ("app_pages/settings.py", "ALLOWED_BASE_URLS"): "the variable's name, a constant",
    ("ui/cost_views.py", "limit_words(estimate.answer_limit, model)"): (
        "counts in words, the model name escaped inside"
    ),
    (
        "ui/cost_views.py",
        "_input_help(sync_text, tokenizer_exact=tokenizer_exact, estimated_input=estimated_input)",
    ): "money (usd_all) in a sentence of its own",
    ("ui/cost_views.py", "projected"): "money (usd_all), a count of rows and bound",
    ("ui/preflight.py", "batches_help()"): "a constant help text",
    ("ui/submit.py", "batches_help()"): "a constant help text",
    ("ui/cost_views.py", "bound"): "money (usd_all) and limit_words",
    ("ui/cost_views.py", "rows"): "a count of rows",
    ("ui/job_actions.py", "label(ESTIMATE_LABEL, current_connection().sandbox)"): "a constant",
    ("ui/deadline_guard.py", "label(ESTIMATE_LABEL, current_connection().sandbox)"): "a constant",
    ("ui/results_views.py", "label(ESTIMATE_LABEL, sandbox)"): "a constant",
    ("ui/results_views.py", "label(ACTUAL_LABEL, sandbox)"): "a constant",
    ("ui/submit.py", "estimate.projected_from"): "a count of rows",
    ("ui/submit.py", "label(ESTIMATE_LABEL, connection.sandbox)"): "a constant",
    ("ui/submit.py", "pace_label(current_pace()).lower()"): "a pace's constant words and a rate",
    ("ui/dialogs.py", "label"): "button words passed by the dialogs, constants",
    ("ui/dialogs.py", "confirm"): "button words passed by the dialogs, constants",
    ("ui/live_jobs.py", "_kept_words(sandbox_kept)"): "a count in words",
    ("ui/live_jobs.py", "job_views.nothing_shown(statuses, now=now, terminal=terminal)"): (
        "constant sentences and a count in words (the search text is not repeated)"
    ),
    ("ui/job_actions.py", "_(', ').join(kept)"): "counts of rows in words",
    ("ui/preflight.py", "_token_help(pre, recipe)"): (
        "builds its sentences with plain() around the model name"
    ),
    ("ui/job_views.py", "str(KEEPING_HELP)"): "a constant help text",
    ("ui/job_views.py", "_rows_sent(status)"): "counts of rows and batches in words",
    ("ui/job_views.py", "label"): "the picker's label, a constant of the callers",
    ("ui/job_views.py", "status.job_id"): "a job id Batchdash made (job-<hex>)",
    ("ui/job_views.py", "_progress_text(status)"): "counts and status words",
    ("ui/live_jobs.py", "when"): "a clock time",
    ("ui/recipe_inputs.py", "_uses(template, used, columns)"): (
        "builds its sentence with plain() around each column name"
    ),
    ("ui/remote_batches.py", "clock(listing.listed_at)"): "a clock time",
    ("ui/results_views.py", "count_word(key)"): "a row status or the catalog's word for it",
    ("ui/results_views.py", "_help(which)"): "help of a fixed table",
    ("ui/results_views.py", "_label(which)"): "labels of a fixed table",
    ("ui/results_views.py", "_too_many_rows_help()"): "the catalog's words and a count",
    ("ui/results_views.py", "_actual_help(status.state == 'active', sandbox)"): (
        "the catalog's words"
    ),
    ("ui/results_views.py", "_actual_note(status, actual)"): "money (usd_all) and counts",
    ("ui/sidebar.py", "sandbox_label()"): "the catalog's words",
    ("ui/sign_in.py", "label"): "a provider name from the operator's secrets.toml",
    ("ui/source.py", "caption"): "counts, escaped source name and delimiter words",
    ("ui/trial.py", "tried.row"): "a row number",
    ("ui/budgets.py", "label"): "the limit boxes' labels, constants of the callers",
    ("ui/budgets.py", "_month_name(spend)"): "a month and year Babel formats",
    ("ui/file_cleanup.py", "OUTPUT_KEPT_SECONDS"): "a constant number of days",
    ("ui/file_cleanup.py", "_counts(review)"): "counts of files in words",
    ("ui/file_cleanup.py", "_others(review.others)"): "a count of files in words",
    ("ui/notify_settings.py", "NOTIFY_URLS"): "the variable's name, a constant",
    ("ui/notify_settings.py", "SMTP_URL"): "the variable's name, a constant",
    ("ui/notify_settings.py", "line"): (
        "built by the callers with plain() around each address, a URL's host in a code span"
    ),
    ("ui/saved_recipes.py", "len(numbers)"): "a count of versions",
    ("ui/saved_recipes.py", "existing.version"): "a version number",
    ("ui/saved_recipes.py", "'  \\n'.join(lines)"): (
        "sentences of the catalog with plain() around the message and each column name"
    ),
    ("ui/watcher_note.py", "clock(seen.seen_at.timestamp())"): "a clock time",
}


def _key(value: DrawnValue) -> tuple[str, str]:
    return value.file, value.expression


def test_every_value_drawn_as_markdown_is_escaped_or_reviewed() -> None:
    values = drawn_values()
    for value in values:
        how = "escaped" if value.escaped else REVIEWED.get(_key(value), "NOT ESCAPED")
        print(f"{value.file}:{value.line} {value.call}: {value.expression} -> {how}")

    unreviewed = [v for v in values if not v.escaped and _key(v) not in REVIEWED]

    assert unreviewed == []


def test_the_review_list_names_only_values_still_drawn() -> None:
    drawn = {_key(value) for value in drawn_values() if not value.escaped}

    assert set(REVIEWED) - drawn == set()


def test_the_sweep_finds_an_unescaped_value() -> None:
    """The sweep itself: a name in a caption is found, and plain() around it is escaped; a
    value filled into a sentence of the catalog is read like one of an f-string."""
    tree = ast.parse(
        "def show(job):\n"
        "    st.caption(f'Job {job.name}')\n"
        "    shown = plain(job.name)\n"
        "    st.markdown(f'**{shown}** {job.rows:,} rows')\n"
        "    st.button(job.label, help=job.help)\n"
        "    st.caption(_('Job {name}', name=job.owner))\n"
        "    st.markdown(n_('{n:,} row of {job}', '{n:,} rows of {job}', job.rows, job=job.id))\n"
        "    st.caption(_('{rows:,} rows of {name}', rows=job.rows, name=plain(job.name)))\n"
    )
    found = markdown_sweep.values_in(tree, "example.py")

    assert [(v.expression, v.escaped) for v in found] == [
        ("job.name", False),
        ("shown", True),
        ("job.label", False),
        ("job.help", False),
        ("job.owner", False),
        ("job.id", False),
        ("plain(job.name)", True),
    ]
