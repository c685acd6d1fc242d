"""The metadata every batch Batchdash creates carries: the job it belongs to and its part."""

from __future__ import annotations

from collections.abc import Mapping

#: Metadata keys tagging every batch Batchdash creates with its job and part number.
JOB_TAG = "batchdash_job"
PART_TAG = "batchdash_part"


def part_tag(job_id: str, number: int) -> dict[str, str]:
    """The metadata of a batch made for part `number` of the job."""
    return {JOB_TAG: job_id, PART_TAG: str(number)}


def tagged_part(metadata: Mapping[str, str]) -> tuple[str, int] | None:
    """The (job id, part number) a batch's metadata names, if Batchdash tagged it."""
    job_id, number = metadata.get(JOB_TAG), metadata.get(PART_TAG)
    if not job_id or number is None or not (number.isascii() and number.isdigit()):
        return None
    return job_id, int(number)
