"""Repair batches: failed, expired, cancelled and never-run rows run again in the same job."""

from __future__ import annotations

import pytest

from batchdash.errors import InputError
from batchdash.jobs.service import JobService
from batchdash.preflight.plan import plan_batch
from batchdash.recipe import Recipe
from batchdash.registry.store import Registry
from tests import jobs_kit
from tests.jobs_kit import (
    RECIPE,
    Sandbox,
    job_batches,
    reviews,
    run_to_end,
)

box = jobs_kit.box  # the sandbox fixture

SCOPE = "scope-repair"
ERROR_MESSAGE = "[sandbox] This request contains [[sandbox:error]], so the sandbox refuses it"


def test_flaky_rows_and_an_expired_part_repaired_once_end_all_ok(
    box: Sandbox, registry: Registry, registry_url: str
) -> None:
    # Part 1: six long rows, done well within the window. Part 2: a hundred short rows at 20 a
    # second, of which at most 80 can run in a 3-second window; its flaky rows run first.
    box.start(rate=20, completion_window_seconds=3)
    frame = reviews(106, {0: "[[sandbox:flaky]]", 6: "[[sandbox:flaky]]", 7: "[[sandbox:flaky]]"})
    frame.loc[:5, "review"] = frame.loc[:5, "review"] + " It goes on and on." * 60
    tokens = plan_batch(frame, RECIPE).row_input_tokens
    limit = int(tokens[:6].sum() + tokens[6] - 1)
    service = JobService(registry, box.gateway(), SCOPE)
    job_id = service.create_job("Flaky and late", frame, RECIPE, enqueued_token_limit=limit)
    assert [p.requests for p in registry.parts(job_id)] == [6, 100]
    service.submit(job_id)

    before = run_to_end(service, job_id)
    assert before.batches[1].status == "expired"
    assert before.counts["expired"] > 0 and before.counts["error"] >= 2
    assert before.counts["ok"] + before.counts["error"] + before.counts["expired"] == 106
    merged = service.merged_table(job_id)
    assert set(merged.loc[[6, 7], "status"]) == {"error"}
    assert "[[sandbox:flaky]] fails on its first attempt" in merged.at[6, "error"]

    # The sandbox restarts at full speed on the same data; a new service on the same database.
    box.start()
    again = Registry(registry_url)
    try:
        service = JobService(again, box.gateway(), SCOPE)
        plan = service.plan_repair(job_id)
        failed = merged[merged["status"] != "ok"]
        assert plan.custom_ids == tuple(failed["custom_id"])
        assert plan.rows == len(failed) and plan.input_tokens == int(tokens[failed.index].sum())
        repair_ids = service.repair(job_id)
        assert len(repair_ids) == 1

        after = run_to_end(service, job_id)
        assert after.counts["ok"] == 106 and after.problems == ()
        assert [b.kind for b in after.batches] == ["initial", "initial", "repair"]
        repaired = service.merged_table(job_id)
        assert set(repaired["status"]) == {"ok"}
        assert repaired["custom_id"].tolist() == [f"row-{n}" for n in range(1, 107)]
        assert set(repaired.loc[failed.index, "batch_id"]) == set(repair_ids)
        kept = repaired.drop(index=failed.index)
        assert (kept["batch_id"] == merged.drop(index=failed.index)["batch_id"]).all()
        assert len(job_batches(box, job_id)) == 3
    finally:
        again.close()


def test_error_rows_stay_error_after_a_repair_with_the_servers_message(
    box: Sandbox, registry: Registry
) -> None:
    service = JobService(registry, box.gateway(), SCOPE)
    recipe = Recipe(model="gpt-4o-mini", template="{review}", id_column="code")
    frame = reviews(10, {1: "[[sandbox:error]]", 4: "[[sandbox:error]]"})
    frame["code"] = [f"00{n}" for n in range(10)]
    job_id = service.create_job("Errors", frame, recipe)
    [first] = service.submit(job_id)
    assert run_to_end(service, job_id).counts["error"] == 2

    assert service.plan_repair(job_id, ["expired"]).rows == 0
    with pytest.raises(InputError, match="nothing to repair"):
        service.repair(job_id, ["expired", "cancelled"])
    [repair] = service.repair(job_id, ["error"])
    status = run_to_end(service, job_id)

    assert status.counts["error"] == 2 and status.counts["ok"] == 8
    merged = service.merged_table(job_id)
    errors = merged[merged["status"] == "error"]
    assert errors["code"].tolist() == ["001", "004"]
    assert errors["custom_id"].tolist() == ["001", "004"]
    assert set(errors["batch_id"]) == {repair}
    assert all(ERROR_MESSAGE in text and "HTTP 400" in text for text in errors["error"])
    assert set(merged.loc[merged["status"] == "ok", "batch_id"]) == {first}


def test_a_second_repair_click_adds_no_batch(box: Sandbox, registry: Registry) -> None:
    box.start(rate=10)
    service = JobService(registry, box.gateway(), SCOPE)
    job_id = service.create_job("Clicks", reviews(6, {2: "[[sandbox:flaky]]"}), RECIPE)
    service.submit(job_id)
    run_to_end(service, job_id)

    first = service.repair(job_id)
    assert service.plan_repair(job_id).rows == 0  # the row is pending in the repair now
    with pytest.raises(InputError, match="nothing to repair"):
        service.repair(job_id)
    run_to_end(service, job_id)
    assert len(first) == 1 and len(job_batches(box, job_id)) == 2
    assert service.status(job_id).counts["ok"] == 6


def test_a_repair_stopped_before_its_batch_is_resumed_by_the_next_click(
    box: Sandbox, registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = JobService(registry, box.gateway(), SCOPE)
    job_id = service.create_job("Resume", reviews(4, {0: "[[sandbox:flaky]]"}), RECIPE)
    service.submit(job_id)
    run_to_end(service, job_id)

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise ConnectionError("the network went away")

    with monkeypatch.context() as patch:
        patch.setattr(service.gateway, "create_batch", refuse)
        with pytest.raises(ConnectionError):
            service.repair(job_id)
    [repair] = service.repair(job_id)
    assert run_to_end(service, job_id).counts["ok"] == 4
    newest, first = job_batches(box, job_id)  # the list is newest first
    assert newest.id == repair and first.id != repair


def test_unknown_statuses_are_refused(box: Sandbox, registry: Registry) -> None:
    service = JobService(registry, box.gateway(), SCOPE)
    job_id = service.create_job("Statuses", reviews(2), RECIPE)
    with pytest.raises(InputError, match="Cannot repair rows with status ok, pending"):
        service.plan_repair(job_id, ["ok", "pending"])
    with pytest.raises(InputError, match=r"\(none given\)"):
        service.repair(job_id, [])
