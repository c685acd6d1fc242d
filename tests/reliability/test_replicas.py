"""Two app replicas on one registry, as the load bench (bench/load_two_servers.py) runs them.

The bench found this one: both replicas fetched a finished batch at the same moment, both saw
no results kept yet, and the second one's save failed on PostgreSQL with a duplicate key (the
page drew an exception) instead of finding the first one's results there.
"""

from __future__ import annotations

import pandas as pd

from batchdash.recipe import Recipe
from batchdash.registry.records import PartSpec
from batchdash.registry.store import Registry


def test_results_saved_by_two_replicas_at_once_are_kept_once(registry_url: str) -> None:
    first, second = Registry(registry_url), Registry(registry_url)
    try:
        job = first.create_job(
            "scope",
            "Replicas",
            Recipe(),
            pd.DataFrame({"review": ["fine", "late"]}, dtype=str),
            parts=[PartSpec(requests=2, first_row=0, stop_row=2)],
        )
        part = first.parts(job.id)[0]
        first.mark_part_uploaded(part.id, "file-in")
        first.mark_part_created(part.id, "batch_1")
        # Both replicas have asked whether the results are kept, and neither had them yet.
        assert not first.has_results("batch_1") and not second.has_results("batch_1")
        second.has_results = lambda _batch_id: False  # type: ignore[method-assign]
        output = b'{"custom_id": "row-1"}\n{"custom_id": "row-2"}\n'
        assert first.save_results("batch_1", output, b"")
        assert not second.save_results("batch_1", b'{"custom_id": "row-1"}\n', b"")
        [kept] = first.results(job.id)
        assert kept.output == output
    finally:
        first.close()
        second.close()
