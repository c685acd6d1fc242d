"""Direct parts in the registry, on SQLite and PostgreSQL (fixture `registry`): each row's line
kept once, one runner per part, a dead runner's part free at once, cancel and finish."""

from __future__ import annotations

import json

import pandas as pd

from batchdash.recipe import Recipe
from batchdash.registry.direct_lines import DirectLine
from batchdash.registry.records import LineCounts, PartSpec
from batchdash.registry.store import Registry
from tests.jobs_kit import gone_holder

RECIPE = Recipe(model="gpt-4o-mini", template="{text}")


def direct_part(registry: Registry, rows: int = 3) -> tuple[str, int]:
    frame = pd.DataFrame({"text": [f"t{i}" for i in range(rows)]})
    spec = PartSpec(requests=rows, kind="direct", first_row=0, stop_row=rows)
    job = registry.create_job("scope", "Direct", RECIPE, frame, parts=[spec])
    return job.id, registry.parts(job.id)[0].id


def line(custom_id: str, outcome: str = "ok", calls: int = 1) -> DirectLine:
    text = json.dumps({"custom_id": custom_id, "response": {"status_code": 200, "body": {}}})
    return DirectLine(custom_id, outcome, text, calls)


def test_a_direct_part_starts_sending_and_keeps_each_rows_line_once(registry: Registry) -> None:
    job_id, part_id = direct_part(registry)
    assert registry.part(part_id).state == "sending"

    assert registry.record_direct_line(part_id, line("row-2", calls=3))
    assert registry.record_direct_line(part_id, line("row-1"))
    # A second answer of the same row (a call made twice) is not kept.
    assert not registry.record_direct_line(part_id, line("row-2", "error"))
    registry.note_direct_calls(part_id, 2)  # calls that brought no line

    counts = LineCounts(ok=2, calls=4)
    assert registry.direct_line_counts([part_id]) == {part_id: counts}
    assert registry.job_records([job_id])[job_id].direct_lines == {part_id: counts}
    assert registry.part(part_id).direct_calls == 2
    assert registry.direct_recorded_ids(part_id) == {"row-1", "row-2"}
    # In arrival order, as whole JSONL lines, a run at a time.
    runs = list(registry.direct_line_runs(part_id, lines=1))
    assert [json.loads(run)["custom_id"] for run in runs] == ["row-2", "row-1"]
    assert all(run.endswith(b"\n") for run in runs)


def test_one_runner_holds_a_part_and_a_dead_ones_part_is_free_at_once(registry: Registry) -> None:
    _job_id, part_id = direct_part(registry)
    first = registry.claim_direct_part(part_id)
    assert first is not None
    assert registry.claim_direct_part(part_id) is None  # a live runner has it
    assert registry.keep_direct_claim(part_id, first, in_flight=3, concurrency=5) == "sending"
    part = registry.part(part_id)
    assert (part.direct_in_flight, part.direct_concurrency) == (3, 5)

    registry.release_direct_part(part_id, first)
    dead = registry.claim_direct_part(part_id, holder=gone_holder())
    assert dead is not None
    taken = registry.claim_direct_part(part_id)  # its process ended: free without a wait
    assert taken is not None and taken != dead
    assert registry.keep_direct_claim(part_id, dead) is None  # the dead one's claim is lost


def test_a_cancel_reaches_the_runner_and_finishing_records_the_last_lines(
    registry: Registry,
) -> None:
    _job_id, part_id = direct_part(registry)
    claim = registry.claim_direct_part(part_id)
    assert claim is not None
    assert registry.request_direct_cancel(part_id)
    assert not registry.request_direct_cancel(part_id)  # asked already
    assert registry.keep_direct_claim(part_id, claim) == "cancelling"
    assert registry.claim_direct_part(part_id) is None  # nobody starts sending it again

    # Without the claim, a live runner's part is not finished under it.
    assert not registry.finish_direct_part(part_id, [line("row-3", "cancelled", 0)])
    assert registry.finish_direct_part(part_id, [line("row-3", "cancelled", 0)], claim=claim)
    part = registry.part(part_id)
    assert part.state == "done" and part.claim_holder is None
    assert registry.direct_line_counts([part_id]) == {part_id: LineCounts(cancelled=1)}
    assert not registry.finish_direct_part(part_id, claim=claim)  # done already


def test_a_part_nobody_runs_is_finished_without_a_claim(registry: Registry) -> None:
    _job_id, part_id = direct_part(registry)
    dead = registry.claim_direct_part(part_id, holder=gone_holder())
    assert dead is not None
    registry.request_direct_cancel(part_id)
    assert registry.finish_direct_part(part_id, [line("row-1", "cancelled", 0)])
    assert registry.part(part_id).state == "done"


def test_new_lines_make_a_kept_merged_table_stale(registry: Registry) -> None:
    job_id, part_id = direct_part(registry)
    keys = registry.result_keys(job_id)
    assert keys == []
    registry.save_merged(job_id, pd.DataFrame({"a": ["x"]}), keys)
    assert registry.merged(job_id) is not None
    registry.record_direct_line(part_id, line("row-1"))
    assert registry.merged(job_id) is None
    assert registry.result_keys(job_id) == [f"direct:{part_id}:1"]
