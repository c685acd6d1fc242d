"""The Jobs page on a direct job: its progress, a run nobody runs any more resumed by the
page's refresh, one stopped on an error resumed by the analyst, Cancel and a direct Repair."""

from __future__ import annotations

import threading

import pytest
from streamlit.testing.v1 import AppTest

from batchdash.direct.jobs import DirectJobs
from batchdash.errors import InputError
from tests.app.conftest import joined, rerun_until
from tests.app.job_pages import Pages, pages
from tests.jobs_kit import RECIPE, gone_holder, reviews
from ui import direct_runs, state
from ui.job_actions import Dialog

__all__ = ["pages"]


def metrics(at: AppTest) -> dict[str, str]:
    return {str(metric.label): str(metric.value) for metric in at.metric}


def interrupted_job(
    pages: Pages, name: str, rows: int, markers: dict[int, str] | None = None
) -> str:
    """A direct job whose run was stopped before it sent anything (as a killed one is)."""
    jobs = DirectJobs(pages.service)
    job_id = jobs.create(name, reviews(rows, markers), RECIPE)
    stopped = threading.Event()
    stopped.set()
    jobs.run(job_id, stop=stopped)
    assert jobs.progress(job_id).state == "stopped"
    return job_id


def wait_for_run(job_id: str) -> None:
    run = direct_runs.handle(job_id)
    assert run is not None, "the page started no run"
    assert run.join(60), "the direct run did not end"


def test_a_run_nobody_runs_is_resumed_by_the_page_and_its_progress_shown(pages: Pages) -> None:
    job_id = interrupted_job(pages, "Stopped run", rows=5)

    at = pages.open()

    assert "The direct run of Stopped run had stopped" in joined(at, "success")
    wait_for_run(job_id)
    rerun_until(at, lambda: "Sent directly" in joined(at, "caption"))
    assert "Sent directly: 5 of 5 requests answered; 5 calls made." in joined(at, "caption")
    assert "Nothing is running, so the page does not refresh by itself." in joined(at, "caption")


def test_a_run_started_before_a_restart_resumes_with_the_calls_at_once_it_was_asked_for(
    pages: Pages,
) -> None:
    # Started by another server process, killed since, at 2 calls at once (for a small local
    # server): the page that resumes it must not send 8 at once.
    job_id = interrupted_job(pages, "Gentle run", rows=5)
    (part,) = pages.registry.parts(job_id)
    assert pages.registry.claim_direct_part(part.id, holder=gone_holder(), ceiling=2)

    pages.open()

    wait_for_run(job_id)
    (part,) = pages.registry.parts(job_id)
    assert part.direct_ceiling == 2
    assert pages.service.status(job_id).counts["ok"] == 5


def test_a_run_stopped_on_an_error_says_why_and_resumes_on_request(
    pages: Pages, monkeypatch: pytest.MonkeyPatch
) -> None:
    job_id = interrupted_job(pages, "Refused run", rows=3)
    real_run = DirectJobs.run

    def refused(*_args: object, **_options: object) -> None:
        raise InputError("The API refused the key: check it in Settings.")

    monkeypatch.setattr(DirectJobs, "run", refused)
    at = pages.open()
    wait_for_run(job_id)
    at.run()

    assert "The direct run stopped: The API refused the key: check it in Settings." in joined(
        at, "error"
    )
    assert at.button(key="resume_direct").label == "Resume the run"
    assert metrics(at)["Left"] == "3"

    monkeypatch.setattr(DirectJobs, "run", real_run)
    at.button(key="resume_direct").click().run()
    wait_for_run(job_id)
    rerun_until(at, lambda: "Sent directly: 3 of 3 requests answered" in joined(at, "caption"))
    assert not at.error


def test_cancel_stops_a_direct_run_and_the_rows_not_sent_end_cancelled(pages: Pages) -> None:
    pages.restart(sync_pace=1.0)  # slow enough that a loaded machine cancels before the end
    job_id = interrupted_job(pages, "Long direct run", rows=40)
    at = pages.open()
    rerun_until(at, lambda: int(metrics(at).get("Answered", "0")) >= 1)
    assert "Refreshing every 2 s while a direct run sends rows." in joined(at, "caption")

    at.button(key="cancel_job").click().run()

    assert at.session_state[state.JOBS_DIALOG] == Dialog("cancel", job_id)
    text = joined(at, "markdown")
    assert "Cancel the direct run of **Long direct run**?" in text
    assert "rows not sent yet will not be sent." in text
    at.button(key="cancel_confirm").click().run()
    assert "Asked to cancel the direct run of Long direct run" in joined(at, "success")
    wait_for_run(job_id)
    at.run()
    progress = pages.service.status(job_id).direct
    assert progress is not None and progress.state == "done" and progress.left == 0
    answered = progress.answered
    assert 1 <= answered < 40
    assert f"{40 - answered} cancelled" in joined(at, "caption")
    counts = pages.service.status(job_id).counts
    assert counts.get("cancelled") == 40 - answered


def test_repair_of_a_direct_job_runs_its_failed_rows_directly_with_the_cost_first(
    pages: Pages,
) -> None:
    job_id = interrupted_job(pages, "One refused", rows=3, markers={1: "[[sandbox:error]]"})
    at = pages.open()
    wait_for_run(job_id)
    rerun_until(at, lambda: "2 of 3 requests answered, 1 failed" in joined(at, "caption"))

    at.button(key="repair_rows").click().run()

    assert at.session_state[state.JOBS_DIALOG] == Dialog("repair", job_id)
    assert "once more, directly: one call each, at the normal price." in joined(at, "markdown")
    cost = next(metric for metric in at.metric if metric.label == "Estimated cost")
    assert str(cost.value).endswith("+ answers")
    assert "at the normal price" in str(cost.help)
    before = pages.service.status(job_id).direct
    assert before is not None
    at.button(key="repair_confirm").click().run()

    assert not at.exception
    assert "Sending 1 row of One refused again, directly." in joined(at, "success")
    wait_for_run(job_id)
    progress = pages.service.status(job_id).direct
    assert progress is not None and progress.state == "done"
    assert progress.calls == before.calls + 1  # the refused row once more, nothing else
    assert progress.rows == 4  # the job's 3 rows and the repaired one


def test_a_direct_run_speaks_chinese_and_switches_language_when_asked(pages: Pages) -> None:
    job_id = interrupted_job(pages, "直接运行", rows=3)
    pages.at.session_state[state.LANGUAGE] = "zh-CN"

    at = pages.open()

    assert "直接运行 的直接运行曾中断" in joined(at, "success")
    wait_for_run(job_id)
    rerun_until(
        at, lambda: "已直接发送：3 个请求中已应答 3 个；共调用 3 次。" in joined(at, "caption")
    )
    assert "已直接发送 3 行" in joined(at, "caption")

    at.session_state[state.LANGUAGE] = "en"
    at.run()
    assert "Sent directly: 3 of 3 requests answered; 3 calls made." in joined(at, "caption")
