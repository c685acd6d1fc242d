"""`cli.py submit` under a spending limit saved in Settings: one plain line, exit 2, nothing sent;
with the limit raised, the same command goes through."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from batchdash.preflight.budget import JOB_LIMIT
from batchdash.registry.store import Registry
from batchdash.settings import owner_scope, read_settings
from tests.test_cli_jobs import job_env, run_main, write_reviews

__all__ = ["job_env"]  # the fixture, used by name

SUBMIT = ("submit", "--template", "Review: {review}", "--max-tokens", "20", "--name", "Dear")


def _set_job_limit(base_url: str, usd: float | None) -> None:
    """Save the limit per job as Settings does, for the CLI's key and endpoint."""
    registry = Registry.from_settings(read_settings(os.environ))
    try:
        registry.set_preference(owner_scope("sk-cli-test", base_url), JOB_LIMIT, usd)
    finally:
        registry.close()


def test_a_submit_over_the_job_limit_exits_2_with_one_line_then_goes_through(
    job_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reviews = write_reviews(tmp_path / "reviews.csv", 4)
    _set_job_limit(job_env, 0.000001)
    code, out, err = run_main(capsys, *SUBMIT[:1], reviews, *SUBMIT[1:])
    assert (code, out) == (2, None)
    assert err.count("\n") == 1
    assert err.startswith("This may cost up to $0.0000")
    assert "more than the limit of $0.000001 per job" in err
    assert "raise the limit under Settings > Budgets." in err
    code, out, err = run_main(capsys, *SUBMIT[:1], reviews, "--direct", *SUBMIT[1:])
    assert (code, out) == (2, None)
    assert "more than the limit of $0.000001 per job" in err
    code, out, err = run_main(capsys, "--lang", "zh-CN", *SUBMIT[:1], reviews, *SUBMIT[1:])
    assert code == 2 and "$0.000001" in err and "预算" in err
    code, out, _err = run_main(capsys, "status")
    assert out == []  # nothing was saved
    _set_job_limit(job_env, 5)
    code, out, _err = run_main(capsys, *SUBMIT[:1], reviews, *SUBMIT[1:])
    assert code == 0 and out["job_id"]
