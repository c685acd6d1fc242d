"""`status` on the command line tells BATCHDASH_NOTIFY_URLS that a job ended, once, however
often it is run afterwards, with no page open and no watcher."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_cli_jobs import job_env, run_main, status_until_finished, write_reviews
from tests.webhook_receiver import webhook_receiver

__all__ = ["job_env"]  # the fixture, used by name


def test_a_job_followed_with_status_notifies_a_webhook_once(
    job_env: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reviews = write_reviews(tmp_path / "reviews.csv", 3, {2: "[[sandbox:error]]"})
    with webhook_receiver() as plain:
        monkeypatch.setenv("BATCHDASH_NOTIFY_URLS", plain.url)
        code, submitted, _err = run_main(
            capsys, "submit", reviews, "--template", "{review}", "--name", "Three reviews"
        )
        assert code == 0
        status_until_finished(capsys, submitted["job_id"])
        for _again in range(2):
            assert run_main(capsys, "status", submitted["job_id"])[0] == 0
            assert run_main(capsys, "status")[0] == 0
        assert plain.bodies == [
            {
                "event": "failed",
                "job_id": submitted["job_id"],
                "name": "Three reviews",
                "state": "finished",
                "counts": {
                    "ok": 2,
                    "error": 1,
                    "expired": 0,
                    "cancelled": 0,
                    "not_run": 0,
                    "pending": 0,
                },
                "cost_usd": plain.bodies[0]["cost_usd"],
            }
        ]
        assert isinstance(plain.bodies[0]["cost_usd"], float)
