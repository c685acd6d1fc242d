"""Statuses in the words an analyst reads: what a batch is doing, and a job at a glance.

The Batch API's statuses are terse (`validating`, `finalizing`); each gets a short word for
tables and a one-line explanation of what it means and what happens next. A job's word sums
up its batches and rows.
"""

from __future__ import annotations

from collections.abc import Collection

from batchdash.batch_statuses import OPENAI_TERMINAL_STATUSES, openai_stage
from batchdash.i18n import WordList, Words, _, _l
from batchdash.jobs.status import JobStatus
from batchdash.providers.profiles import ProviderProfile

#: Short word per batch status, for tables.
BATCH_WORDS = Words(
    {
        "validating": _l("Checking the file"),
        "failed": _l("Failed the check"),
        "in_progress": _l("Running"),
        "finalizing": _l("Writing results"),
        "completed": _l("Completed"),
        "expired": _l("Expired"),
        "cancelling": _l("Cancelling"),
        "cancelled": _l("Cancelled"),
        # Providers' own statuses (batch_statuses.PROVIDER_STATUS_STAGES).
        "in_queue": _l("Waiting in the queue"),
    }
)

#: One line per batch status: what it means, and what happens next.
BATCH_MEANINGS = Words(
    {
        "validating": _l(
            "The API is checking the uploaded file (format, model, size limits) before anything "
            "runs; this usually takes a minute or two."
        ),
        "failed": _l(
            "The file did not pass the check, so nothing ran and nothing is billed; the errors "
            "below name the lines at fault."
        ),
        "in_progress": _l(
            "Requests are being answered as the API has spare capacity; the counts rise as they finish."
        ),
        "finalizing": _l(
            "Every request has run and the API is writing the results files; they are fetched as "
            "soon as it is done."
        ),
        "completed": _l(
            "Every request has an answer or an error; the answers are fetched and kept here, and "
            "failed requests are listed with their error."
        ),
        "expired": _l(
            "The batch's completion window (24 hours at OpenAI) ended before every request ran; the "
            "answers made are kept and the rest can be repaired."
        ),
        "cancelling": _l(
            "Cancellation was asked: requests already running finish, the rest are dropped; this "
            "can take up to 10 minutes."
        ),
        "cancelled": _l(
            "Stopped on request; the answers made before the cancellation are kept and the rest "
            "can be repaired."
        ),
        "in_queue": _l(
            "The provider (SiliconFlow calls this in_queue) has accepted the file and keeps the "
            "batch in its queue until it has capacity; nothing has run yet, and it starts on its own."
        ),
    }
)

#: Job words, in the order the status filter offers them.
JOB_WORDS = WordList(
    (
        _l("Not sent"),
        _l("Waiting for results"),
        _l("Checking the file"),
        _l("Running"),
        _l("Writing results"),
        _l("Fetching results"),
        _l("Cancelling"),
        _l("Completed"),
        _l("Completed with errors"),
        _l("Expired"),
        _l("Cancelled"),
        _l("Failed"),
        _l("Discarded"),
    )
)

#: What an analyst may wonder about while a job runs, answered once.
WAITING_HELP = _l(
    "A batch costs half the normal price because OpenAI runs it when it has spare capacity: "
    "most batches finish within minutes to a few hours, and each has up to 24 hours. "
    "Requests not answered within 24 hours expire (they are not billed) and can be repaired."
)


def waiting_help(provider: ProviderProfile) -> str:
    """WAITING_HELP for the provider that runs the batches (OpenAI's own text for OpenAI and
    for a custom server, which is assumed to follow OpenAI's rules)."""
    if provider.name in ("openai", "custom"):
        return str(WAITING_HELP)
    windows = provider.completion_windows
    window = (
        windows[0]
        if len(windows) == 1
        else _l("{first} to {last}", first=windows[0], last=windows[-1])
    )
    return _(
        "A batch costs less than the normal price because {provider} runs it when it has spare "
        "capacity: most batches finish within minutes to a few hours, and each has the "
        "completion window picked in New job ({window}). Requests not answered by then expire "
        "and can be repaired.",
        provider=provider.label,
        window=window,
    )


KEEPING_HELP = _l(
    "The API deletes a batch's result files some time after it finishes (OpenAI after 30 days). "
    "Batchdash fetches them as soon as the batch is done and keeps its own copy, so the "
    "downloads here keep working after that."
)


#: Why an answer stopped (the API's finish_reason, in Chat Completions words), for people.
FINISH_WORDS = Words(
    {
        "stop": _l("complete answer"),
        "length": _l("cut off at the length limit (Max output tokens or the model's own)"),
        "max_tokens": _l("cut off at the length limit (Max output tokens or the model's own)"),
        "content_filter": _l("cut off by the content filter"),
        "tool_calls": _l("asked to call a tool instead of answering"),
        "function_call": _l("asked to call a tool instead of answering"),
    }
)


def finish_words(reason: str) -> str:
    """Why an answer stopped, in plain words ('' when the API did not say)."""
    if not reason:
        return ""
    return FINISH_WORDS.get(reason) or _("stopped: {reason}", reason=reason)


def batch_word(status: str) -> str:
    """The table word for a batch status (an unknown status is shown as sent)."""
    return BATCH_WORDS.get(status) or status.replace("_", " ").capitalize() or _("Unknown")


def batch_meaning(status: str) -> str:
    """One line on what a batch status means."""
    return BATCH_MEANINGS.get(status) or _(
        "The server reported the status {status!r}, which Batchdash does not know; the batch "
        "is treated as still running.",
        status=status,
    )


def job_word(status: JobStatus, terminal: Collection[str] = OPENAI_TERMINAL_STATUSES) -> str:
    """One of JOB_WORDS summing up the job's batches and rows."""
    batches = status.batches
    waiting = all(batch.status in terminal for batch in batches)
    if status.exported and status.state == "active" and waiting:
        return _("Waiting for results")  # exported for vLLM: waits for its output file
    direct = status.direct is not None and not batches  # a direct job: its rows, no batch
    if direct and status.state != "finished":
        # A stopped run is resumed by the Jobs page's next refresh: it still counts as running.
        cancelling = status.direct is not None and status.direct.state == "cancelling"
        return _("Cancelling") if cancelling else _("Running")
    if not batches and not direct:
        if status.state != "finished":
            return _("Not sent")
        return _("Discarded") if status.discarded else _("Failed")
    running = [openai_stage(batch.status) for batch in batches if batch.status not in terminal]
    if status.state == "active":
        for word, batch_status in (
            (_l("Cancelling"), "cancelling"),
            (_l("Running"), "in_progress"),
            (_l("Writing results"), "finalizing"),
            (_l("Checking the file"), "validating"),
        ):
            if batch_status in running:
                return str(word)
        return _("Running") if running else _("Fetching results")
    counts = status.counts
    if counts.get("ok", 0) == status.rows:
        return _("Completed")
    if all(batch.status == "failed" for batch in batches) and not counts.get("ok"):
        return _("Failed")
    if counts.get("cancelled"):
        return _("Cancelled")
    if counts.get("expired"):
        return _("Expired")
    return _("Completed with errors")
