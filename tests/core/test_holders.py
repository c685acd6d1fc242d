"""Which process holds a claim, and when it is known to be gone (registry.holders)."""

from __future__ import annotations

import os
from dataclasses import replace

import pytest

from batchdash.registry import holders
from batchdash.registry.holders import holder_of, is_gone, parse_holder, this_run
from tests.jobs_kit import gone_holder


def test_this_process_is_not_gone_and_reads_back() -> None:
    mine = this_run()
    assert mine.pid == os.getpid() and mine.started
    assert parse_holder(mine.text()) == mine
    assert not is_gone(mine.text())
    assert this_run().run != mine.run  # two submissions of one process are told apart


def test_an_ended_process_or_a_reused_pid_is_gone() -> None:
    assert is_gone(gone_holder())
    reused = replace(this_run(), started="1")  # this pid, started at another moment
    assert is_gone(reused.text())


def test_what_cannot_be_judged_here_is_never_gone() -> None:
    assert not is_gone(None)  # a claim made before holders were recorded
    assert not is_gone("not a holder")
    elsewhere = replace(this_run(), machine="another-host boot ns", pid=1)
    assert not is_gone(elsewhere.text())  # another machine: its lease decides
    unknown = replace(this_run(), started="")  # a system without /proc
    assert not is_gone(unknown.text())


def test_a_process_hidden_from_proc_is_gone_only_when_no_such_pid_exists(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    live = holder_of(os.getppid(), "run")
    ended = gone_holder()
    assert live is not None
    monkeypatch.setattr(holders, "_read", lambda _path: "")  # /proc mounted with hidepid
    assert not is_gone(live.text())
    assert is_gone(ended)
