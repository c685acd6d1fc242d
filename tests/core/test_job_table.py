"""The Jobs page's words and tables, from job statuses built by hand."""

from __future__ import annotations

import dataclasses
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from batchdash.api.batch_info import BatchErrorEntry, BatchInfo
from batchdash.batch_statuses import PROVIDER_STATUS_STAGES
from batchdash.display.jobs_table import (
    BATCH_COLUMNS,
    JOB_COLUMNS,
    answered,
    batch_errors_frame,
    batches_frame,
    filter_jobs,
    jobs_frame,
    remote_frame,
    time_left,
)
from batchdash.display.status_words import (
    BATCH_MEANINGS,
    BATCH_WORDS,
    JOB_WORDS,
    batch_meaning,
    batch_word,
    finish_words,
    job_word,
)
from batchdash.jobs.board import FETCH_RETRY, SLOWEST_REFRESH, needs_refresh, refresh_interval
from batchdash.jobs.cancel_effect import cancel_effect, running_batches
from batchdash.jobs.status import BatchRow, JobStatus

NOW = 1_800_000_000
TERMINAL = frozenset({"completed", "failed", "expired", "cancelled"})


def batch(
    status: str,
    *,
    number: int = 1,
    total: int = 10,
    completed: int = 0,
    failed: int = 0,
    created_at: int = NOW - 60,
    errors: tuple[BatchErrorEntry, ...] = (),
) -> BatchRow:
    return BatchRow(
        id=f"batch_{number}",
        part_number=number,
        kind="initial",
        status=status,
        total=total,
        completed=completed,
        failed=failed,
        created_at=created_at,
        expires_at=created_at + 86_400,
        errors=errors,
        input_tokens=0,
        output_tokens=0,
    )


def job(
    *batches: BatchRow,
    state: str = "active",
    name: str = "Reviews",
    rows: int = 10,
    **counts: int,
) -> JobStatus:
    full = dict.fromkeys(("ok", "error", "expired", "cancelled", "not_run", "pending"), 0)
    full.update(counts)
    return JobStatus(
        job_id=f"job_{name.lower().replace(' ', '_')}",
        name=name,
        created_at=datetime(2027, 1, 15, 9, 30, tzinfo=UTC),
        model="gpt-4o-mini",
        endpoint="/v1/chat/completions",
        state=state,  # type: ignore[arg-type]
        rows=rows,
        counts=full,
        parts=len(batches) or 1,
        batches=batches,
        progress=0.5,
        estimated_cost_usd=0.0012,
        actual_cost_usd=None,
        expires_at=min((b.expires_at or 0 for b in batches), default=None),
        archived=False,
    )


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (23 * 3600 + 5 * 60 + 59, "23 h 05 min"),
        (12 * 60 + 30, "12 min"),
        (20, "1 min"),
        (0, "ended"),
    ],
)
def test_time_left_reads_in_hours_and_minutes(seconds: int, expected: str) -> None:
    assert time_left(NOW + seconds, NOW) == expected


def test_no_expiry_leaves_the_cell_empty() -> None:
    assert time_left(None, NOW) == ""


def test_every_openai_status_has_a_word_and_a_meaning() -> None:
    statuses = {"validating", "failed", "in_progress", "finalizing", "completed", "expired"}
    statuses |= {"cancelling", "cancelled"}
    # ...and every provider's own status (batch_statuses.PROVIDER_STATUS_STAGES).
    statuses |= set(PROVIDER_STATUS_STAGES)
    assert set(BATCH_WORDS) == statuses == set(BATCH_MEANINGS)
    assert "checking the uploaded file" in batch_meaning("validating")
    assert "writing the results files" in batch_meaning("finalizing")
    assert "completion window (24 hours at OpenAI)" in batch_meaning("expired")


def test_an_unknown_status_is_shown_as_sent_and_said_to_be_running() -> None:
    assert batch_word("queued_at_provider") == "Queued at provider"
    assert "'queued_at_provider'" in batch_meaning("queued_at_provider")
    assert "still running" in batch_meaning("queued_at_provider")


@pytest.mark.parametrize(
    ("status", "word"),
    [
        (job(), "Not sent"),
        (job(batch("validating")), "Checking the file"),
        (job(batch("validating"), batch("in_progress", number=2)), "Running"),
        (job(batch("finalizing"), batch("completed", number=2)), "Writing results"),
        (job(batch("in_progress"), batch("cancelling", number=2)), "Cancelling"),
        (job(batch("completed")), "Fetching results"),
        (job(batch("queued_at_provider")), "Running"),
        (job(batch("completed"), state="finished", ok=10), "Completed"),
        (job(batch("completed"), state="finished", ok=8, error=2), "Completed with errors"),
        (job(batch("cancelled"), state="finished", ok=3, cancelled=7), "Cancelled"),
        (job(batch("expired"), state="finished", ok=3, expired=7), "Expired"),
        (job(batch("failed"), state="finished", not_run=10), "Failed"),
        (job(state="finished", not_run=10), "Failed"),
        (replace(job(state="finished", not_run=10), discarded=True), "Discarded"),
    ],
)
def test_a_job_is_summed_up_in_one_word(status: JobStatus, word: str) -> None:
    assert job_word(status, TERMINAL) == word
    assert word in JOB_WORDS


def test_the_jobs_table_keeps_the_order_and_words_every_column() -> None:
    newer = job(batch("in_progress", completed=4), name="Newer run")
    older = job(batch("completed"), state="finished", name="Older run", ok=10)
    frame = jobs_frame([newer, older], now=NOW, terminal=TERMINAL)

    assert tuple(frame.columns) == JOB_COLUMNS
    assert frame["name"].tolist() == ["Newer run", "Older run"]
    assert frame["status"].tolist() == ["Running", "Completed"]
    assert frame["time_left"].tolist() == ["23 h 59 min", "23 h 59 min"]
    assert frame["created"].dt.tz is not None
    assert frame["actual_cost_usd"].isna().all()
    assert frame["estimated_cost_usd"].tolist() == [0.0012, 0.0012]


def test_progress_is_the_answered_share_in_whole_percent() -> None:
    cancelled = job(
        batch("cancelled", total=300, completed=150, failed=10),
        state="finished",
        name="Cancelled",
        rows=300,
        ok=150,
        error=10,
        cancelled=140,
    )
    running = job(batch("in_progress", total=300, completed=120, failed=8), rows=300)
    repaired = job(
        batch("completed", total=10, completed=8, failed=2),
        batch("completed", number=2, total=2, completed=2),
        state="finished",
        name="Repaired",
        ok=10,
    )
    frame = jobs_frame([cancelled, running, repaired], now=NOW, terminal=TERMINAL)

    assert frame["answered"].tolist() == ["160 of 300", "128 of 300", "10 of 10"]
    assert frame["progress"].tolist() == [53, 42, 100]  # 42.67% is shown as 42%, not 100%
    assert answered(cancelled) == (160, 300)
    assert answered(job(batch("in_progress", total=10, completed=9), rows=10)) == (9, 10)
    # A running job never reads 100% before its last request is answered.
    assert jobs_frame([job(batch("in_progress", total=1000, completed=999), rows=1000)], now=NOW)[
        "progress"
    ].tolist() == [99]


def test_jobs_are_filtered_by_status_words_and_by_name_as_typed() -> None:
    statuses = [
        job(batch("in_progress"), name="Reviews (March)"),
        job(batch("completed"), state="finished", name="reviews april", ok=10),
        job(batch("completed"), state="finished", name="Tickets", ok=10),
    ]
    frame = jobs_frame(statuses, now=NOW, terminal=TERMINAL)

    assert filter_jobs(frame, words=[], search="")["name"].tolist() == [s.name for s in statuses]
    by_word = filter_jobs(frame, words=["Completed"], search="")
    assert by_word["name"].tolist() == ["reviews april", "Tickets"]
    assert filter_jobs(frame, words=[], search=" REVIEWS ")["name"].tolist() == [
        "Reviews (March)",
        "reviews april",
    ]
    assert filter_jobs(frame, words=[], search="(march)")["name"].tolist() == ["Reviews (March)"]
    assert filter_jobs(frame, words=["Completed"], search="march").empty


def test_the_batches_table_explains_each_status_and_counts_down_running_ones() -> None:
    status = job(
        batch("completed", number=1, completed=10),
        batch("in_progress", number=2, completed=3, failed=1, created_at=NOW - 3600),
    )
    frame = batches_frame(status, now=NOW, terminal=TERMINAL)

    assert tuple(frame.columns) == BATCH_COLUMNS
    assert frame["status"].tolist() == ["Completed", "Running"]
    assert frame["meaning"].tolist() == [BATCH_MEANINGS["completed"], BATCH_MEANINGS["in_progress"]]
    assert frame["expires_in"].tolist() == ["", "23 h 00 min"]
    assert frame[["completed", "failed", "total"]].values.tolist() == [[10, 0, 10], [3, 1, 10]]


def test_validation_errors_are_listed_with_their_line_numbers() -> None:
    errors = (
        BatchErrorEntry("invalid_json_line", "Line 4 is not JSON.", line=4),
        BatchErrorEntry("too_many_tasks", "Too many requests.", line=None),
    )
    frame = batch_errors_frame(job(batch("failed", number=2, errors=errors)))

    assert frame["line"].tolist()[0] == 4
    assert frame["line"].isna().tolist() == [False, True]
    assert frame["code"].tolist() == ["invalid_json_line", "too_many_tasks"]
    assert frame["part"].tolist() == [2, 2]
    assert batch_errors_frame(job(batch("completed"))).empty


def test_remote_batches_name_their_job_here_and_leave_others_blank() -> None:
    def info(batch_id: str, status: str) -> BatchInfo:
        return BatchInfo(
            id=batch_id,
            status=status,
            endpoint="/v1/embeddings",
            total=5,
            created_at=NOW - 120,
            expires_at=NOW + 3600,
        )

    frame = remote_frame(
        [(info("batch_a", "in_progress"), "job_1"), (info("batch_b", "completed"), None)],
        {"job_1": "Reviews"},
        now=NOW,
    )

    assert frame["job_here"].tolist() == ["Reviews", ""]
    assert frame["status"].tolist() == ["Running", "Completed"]
    assert frame["expires_in"].tolist() == ["1 h 00 min", ""]


def test_cancelling_names_what_is_lost_and_kept() -> None:
    status = job(
        batch("completed", number=1, completed=10),
        batch("in_progress", number=2, completed=3, failed=1),
        batch("validating", number=3),
        batch("cancelling", number=4, completed=2),
        ok=10,
    )

    whole = cancel_effect(status, terminal=TERMINAL)
    assert [b.id for b in whole.batches] == ["batch_2", "batch_3"]
    assert (whole.lost, whole.answered, whole.failed, whole.done_rows) == (16, 3, 1, 10)
    one = cancel_effect(status, "batch_3", TERMINAL)
    assert (one.lost, one.answered) == (10, 0)
    assert cancel_effect(status, "batch_1", TERMINAL).batches == ()
    assert running_batches(status, TERMINAL) == whole.batches


def test_refreshing_is_frequent_for_young_batches_and_stops_when_nothing_runs() -> None:
    young = job(batch("in_progress", created_at=NOW - 30))
    older = job(batch("in_progress", created_at=NOW - 600))
    old = job(batch("in_progress", created_at=NOW - 7200))
    done = job(batch("completed"), state="finished", ok=10)

    def pace(*statuses: JobStatus) -> float | None:
        return refresh_interval(statuses, now=NOW, terminal=TERMINAL)

    assert pace(old, young) == 3.0
    assert pace(older, old) == 10.0
    assert pace(old) == SLOWEST_REFRESH
    assert pace(job(batch("completed"))) == FETCH_RETRY  # results still to fetch
    assert pace(done) is None
    assert pace(job()) is None  # nothing sent: asking the API changes nothing
    assert not needs_refresh(dataclasses.replace(young, state="finished"))
    # Parts of a submitted job still to send: a refresh sends them if their submitter stopped.
    assert pace(dataclasses.replace(job(), unsent=2)) == FETCH_RETRY
    assert pace(dataclasses.replace(young, unsent=1)) == 3.0


@pytest.mark.parametrize(
    ("reason", "words"),
    [
        ("stop", "complete answer"),
        ("length", "cut off at the length limit (Max output tokens or the model's own)"),
        ("max_tokens", "cut off at the length limit (Max output tokens or the model's own)"),
        ("content_filter", "cut off by the content filter"),
        ("tool_calls", "asked to call a tool instead of answering"),
        ("", ""),
        ("eos_token", "stopped: eos_token"),
    ],
)
def test_why_an_answer_stopped_is_said_in_plain_words(reason: str, words: str) -> None:
    assert finish_words(reason) == words


def test_the_estimate_is_the_projection_when_the_job_has_one_else_the_input() -> None:
    tried = dataclasses.replace(
        job(batch("completed"), state="finished"), answers_expected_usd=0.01
    )
    untried = job(batch("completed"), state="finished")
    frame = jobs_frame([tried, untried], now=NOW, terminal=TERMINAL)

    assert frame["estimated_cost_usd"].tolist() == [pytest.approx(0.0112), 0.0012]
    assert frame["estimate_projected"].tolist() == [True, False]
