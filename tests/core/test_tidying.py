"""Housekeeping of the provider's files against the sandbox (in-process), on SQLite and
PostgreSQL: input files deleted once their batch is over, output_expires_after on every batch,
failed deletes tried again, and the clean-up of the key's files."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from sqlalchemy import inspect, text

from batchdash.api.gateway import Gateway
from batchdash.errors import InputError, ServerUnavailable
from batchdash.i18n import use_language
from batchdash.jobs.opening import provider_gateway
from batchdash.jobs.service import JobService
from batchdash.jobs.tidying import OUTPUT_KEPT_SECONDS, RETRY_DELETE_AFTER, clean_up, review_files
from batchdash.providers.profiles import AZURE, BY_NAME, DEEPINFRA, OPENAI, ProviderProfile
from batchdash.registry.engine import make_engine
from batchdash.registry.migrations import LATEST_VERSION, MIGRATIONS, upgrade
from batchdash.registry.store import Registry
from tests import jobs_kit
from tests.jobs_kit import API_KEY, BASE_URL, RECIPE, Sandbox, reviews, run_to_end

box = jobs_kit.box  # the sandbox fixture

SCOPE = "scope-tidy"
#: The schema version that adds the file_deletions table.
FILE_DELETIONS_VERSION = 10


class Clock:
    """A clock the test moves on."""

    def __init__(self) -> None:
        import time

        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def registry(registry_url: str) -> Iterator[Registry]:
    opened = Registry(registry_url)
    yield opened
    opened.close()


MakeService = Callable[..., JobService]


@pytest.fixture
def make_service(registry: Registry, box: Sandbox) -> MakeService:
    """A service as the pages and the CLI open it: a gateway by the OpenAI profile."""

    def make(gateway: Gateway | None = None, **options: Any) -> JobService:
        used = gateway or provider_gateway(
            API_KEY, BASE_URL, OPENAI, http_client=box.client, max_retries=0
        )
        return JobService(registry, used, SCOPE, provider=OPENAI, **options)

    return make


def _submitted(service: JobService, name: str, rows: int = 3) -> str:
    """A new job of `rows` reviews, sent; its id."""
    job_id = service.create_job(name, reviews(rows), RECIPE, source_name="r.csv")
    service.submit(job_id)
    return job_id


def _input_files(box: Sandbox, job_id: str) -> list[str]:
    listed = box.client.get("/v1/files", params={"purpose": "batch"}).json()["data"]
    return [f["id"] for f in listed if f["filename"].startswith(f"{job_id}-part-")]


def test_a_finished_job_refreshed_leaves_no_input_file_and_repairs_still_work(
    make_service: MakeService, box: Sandbox, registry: Registry
) -> None:
    service = make_service()
    job_id = service.create_job(
        "Reviews",
        reviews(30, {3: "[[sandbox:error]]"}),
        RECIPE,
        source_name="r.csv",
        enqueued_token_limit=300,
    )
    service.submit(job_id)
    uploaded = [part.input_file_id for part in registry.parts(job_id)]
    assert len(uploaded) >= 2 and set(_input_files(box, job_id)) == set(uploaded)

    run_to_end(service, job_id)
    assert _input_files(box, job_id) == []
    assert all(d.done for d in registry.file_deletions(uploaded).values())
    assert set(registry.file_deletions(uploaded)) == set(uploaded)

    # A repair builds a new file from the job's rows: the deleted ones are never read.
    service.repair(job_id, ["error"])
    repair_file = registry.parts(job_id)[-1].input_file_id
    assert repair_file not in uploaded and _input_files(box, job_id) == [repair_file]
    status = run_to_end(service, job_id)
    assert status.counts["error"] == 1  # the marked row fails again, as it always does
    assert _input_files(box, job_id) == []
    # The manifest and the raw results read the registry, not the deleted files.
    assert [p["input_file_id"] for p in service.manifest(job_id)["parts"]] == [
        *uploaded,
        repair_file,
    ]
    output, errors = service.raw_results(job_id)
    assert output.count(b"\n") == 29 and errors.count(b"\n") == 2


@pytest.mark.parametrize("provider", [OPENAI, AZURE], ids=["openai", "azure"])
def test_every_batch_and_its_input_file_are_made_to_expire(
    make_service: MakeService, box: Sandbox, provider: ProviderProfile
) -> None:
    # Azure keeps input files forever unless the upload says otherwise, and holds at most 500
    # of those per resource: without an expiry, a few hundred jobs would fill it.
    box.start(profile=provider.name)
    gateway = provider_gateway(API_KEY, BASE_URL, provider, http_client=box.client, max_retries=0)
    service = make_service(gateway)
    job_id = service.create_job("Reviews", reviews(3), RECIPE, source_name="r.csv")
    (batch_id,) = service.submit(job_id)
    # The input file expires too, should Batchdash never get to delete it.
    (part,) = service.registry.parts(job_id)
    uploaded = box.client.get(f"/v1/files/{part.input_file_id}").json()
    assert uploaded["expires_at"] == uploaded["created_at"] + OUTPUT_KEPT_SECONDS
    run_to_end(service, job_id)
    batch = box.client.get(f"/v1/batches/{batch_id}").json()
    output = box.client.get(f"/v1/files/{batch['output_file_id']}").json()
    # Counted from the output file's creation, as the spec anchors it.
    assert output["expires_at"] == output["created_at"] + OUTPUT_KEPT_SECONDS


def test_the_period_fits_each_provider_and_is_left_out_where_undocumented() -> None:
    assert provider_gateway("k", BASE_URL, OPENAI).output_expires_seconds == OUTPUT_KEPT_SECONDS
    azure = provider_gateway("k", BASE_URL, AZURE).output_expires_seconds
    assert azure is not None and AZURE.output_expires_after is not None
    low, high = AZURE.output_expires_after
    assert low <= azure <= high
    assert provider_gateway("k", BASE_URL, DEEPINFRA).output_expires_seconds is None
    assert provider_gateway("k", BASE_URL, BY_NAME["gemini"]).output_expires_seconds is None


class _FailingDeletes:
    """A gateway whose deletes fail while `failing` is set; every other call passes."""

    def __init__(self, gateway: Gateway) -> None:
        self._gateway = gateway
        self.failing = True
        self.tries: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._gateway, name)

    def delete_file(self, file_id: str, *, retry: bool = True) -> bool:
        self.tries.append(file_id)
        if self.failing:
            raise ServerUnavailable("The sandbox has a server problem (HTTP 500).")
        return self._gateway.delete_file(file_id, retry=retry)


def test_a_failed_delete_is_retried_by_a_later_refresh_and_never_stops_it(
    make_service: MakeService, box: Sandbox, registry: Registry
) -> None:
    clock = Clock()
    flaky = _FailingDeletes(
        provider_gateway(API_KEY, BASE_URL, OPENAI, http_client=box.client, max_retries=0)
    )
    service = make_service(gateway=flaky, clock=clock)  # type: ignore[arg-type]
    job_id = service.create_job("Reviews", reviews(4), RECIPE, source_name="r.csv")
    service.submit(job_id)
    (file_id,) = [part.input_file_id for part in registry.parts(job_id)]

    status = run_to_end(service, job_id)  # the deletes fail; the job finishes all the same
    assert status.counts["ok"] == 4 and flaky.tries == [file_id]
    (failed,) = registry.failed_file_deletions(SCOPE)
    assert failed.file_id == file_id and "server problem" in (failed.error or "")
    assert _input_files(box, job_id) == [file_id]

    service.refresh_all()  # too soon after the failed try: not asked again
    assert flaky.tries == [file_id]
    flaky.failing = False
    # The registry stamps each try with the real time, which moved on since the clock was set.
    clock.now += RETRY_DELETE_AFTER.total_seconds() + 60
    service.refresh_all()  # the job is finished; its failed delete is retried all the same
    assert flaky.tries == [file_id, file_id]
    assert _input_files(box, job_id) == [] and registry.failed_file_deletions(SCOPE) == []

    clock.now += RETRY_DELETE_AFTER.total_seconds()
    service.refresh(job_id)
    service.refresh_all()
    assert flaky.tries == [file_id, file_id]  # deleted: never tried again


class _RefusedDeletes(httpx2.BaseTransport):
    """The sandbox, except that every file delete is answered 501, as by a provider that
    does not implement it; the deletes that reached it are counted."""

    def __init__(self, inner: httpx2.BaseTransport) -> None:
        self._inner = inner
        self.deletes: list[str] = []
        self.refuse = True

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        if request.method != "DELETE":
            return self._inner.handle_request(request)
        self.deletes.append(request.url.path.rsplit("/", 1)[-1])
        if not self.refuse:
            return self._inner.handle_request(request)
        body = {"error": {"message": "Not implemented", "type": "server_error"}}
        return httpx2.Response(501, json=body)


def test_a_provider_refusing_deletes_costs_a_refresh_one_call_not_retries_for_every_file(
    make_service: MakeService, box: Sandbox, registry: Registry
) -> None:
    refusing = _RefusedDeletes(box.client._transport)
    client = httpx2.Client(transport=refusing)
    # Retries on, as the pages' gateways have them: housekeeping must not use them.
    gateway = provider_gateway(API_KEY, BASE_URL, OPENAI, http_client=client, max_retries=2)
    clock = Clock()
    service = make_service(gateway=gateway, clock=clock)
    jobs = [_submitted(service, f"Reviews {n}") for n in range(3)]
    for job_id in jobs:
        run_to_end(service, job_id)
    inputs = {part.input_file_id for job_id in jobs for part in registry.parts(job_id)}

    # One call, once: the files done with later wait for the refused one's retry.
    assert len(refusing.deletes) == 1
    assert {failed.file_id for failed in registry.failed_file_deletions(SCOPE)} == inputs
    service.refresh_all()
    assert len(refusing.deletes) == 1  # not again before RETRY_DELETE_AFTER

    clock.now += RETRY_DELETE_AFTER.total_seconds() + 60
    service.refresh_all()  # refused again: every file waits for the next retry
    assert len(refusing.deletes) == 2
    assert {failed.file_id for failed in registry.failed_file_deletions(SCOPE)} == inputs

    refusing.refuse = False  # the provider takes deletes now: all three go at the next retry
    clock.now += RETRY_DELETE_AFTER.total_seconds() + 60
    service.refresh_all()
    assert len(refusing.deletes) == 5 and set(refusing.deletes[2:]) == inputs
    assert registry.failed_file_deletions(SCOPE) == []
    client.close()


def test_the_clean_up_keeps_what_an_unfinished_batch_needs(
    make_service: MakeService, box: Sandbox, registry: Registry
) -> None:
    finished = _submitted(make_service(), "Done")
    # Left on the server by a provider that does not delete files itself: the clean-up's work.
    with_files = make_service(gateway=_kept_inputs(box))
    run_to_end(with_files, finished)
    (done_input,) = _input_files(box, finished)

    box.stop()
    box.start(rate=0.001)  # the next batch stays in progress
    slow = make_service(
        provider_gateway(API_KEY, BASE_URL, OPENAI, http_client=box.client, max_retries=0)
    )
    running = slow.create_job("Running", reviews(3), RECIPE, source_name="r.csv")
    slow.submit(running)
    (running_input,) = _input_files(box, running)
    slow.refresh(running)
    # A spare upload of the finished job (an upload whose answer was lost) and a file that is
    # not Batchdash's.
    spare = box.client.post(
        "/v1/files",
        files={"file": (f"{finished}-part-0001.jsonl", b"{}\n", "application/jsonl")},
        data={"purpose": "batch"},
    ).json()["id"]
    other = box.client.post(
        "/v1/files",
        files={"file": ("mine.jsonl", b"{}\n", "application/jsonl")},
        data={"purpose": "batch"},
    ).json()["id"]

    review = review_files(slow, page_size=2)  # paged by twos
    by_id = {kept.file.id: kept for kept in review.files}
    assert review.others == 1 and other not in by_id
    assert by_id[running_input].needed and by_id[running_input].job_id == running
    outputs = [k for k in review.files if k.role == "output"]
    assert len(outputs) == 1 and not outputs[0].needed
    assert {k.file.id for k in review.unneeded} == {done_input, spare, outputs[0].file.id}

    cleaned = clean_up(slow)
    assert {k.file.id for k in cleaned.deleted} == {done_input, spare, outputs[0].file.id}
    assert cleaned.failed == []
    left = {f["id"] for f in box.client.get("/v1/files").json()["data"]}
    assert running_input in left and other in left and done_input not in left
    assert [k.file.id for k in review_files(slow).files] == [running_input]


def _kept_inputs(box: Sandbox) -> Gateway:
    gateway = _FailingDeletes(
        provider_gateway(API_KEY, BASE_URL, OPENAI, http_client=box.client, max_retries=0)
    )
    return gateway  # type: ignore[return-value]


def test_an_attached_batch_keeps_its_input_file_and_its_repair_still_reads_it(
    make_service: MakeService, box: Sandbox, registry: Registry
) -> None:
    lines = b"".join(
        b'{"custom_id": "r%d", "method": "POST", "url": "/v1/chat/completions", "body": '
        b'{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi %s"}]}}\n'
        % (n, b"[[sandbox:error]]" if n == 2 else b"there")
        for n in (1, 2, 3)
    )
    gateway = box.gateway()
    elsewhere = gateway.upload_part("elsewhere.jsonl", lines)
    made = gateway.create_batch(elsewhere, "/v1/chat/completions", {})
    service = make_service()
    job_id = service.attach(made.id)
    run_to_end(service, job_id)

    # Not Batchdash's upload, and a repair reads its requests: never deleted.
    review = {kept.file.id: kept for kept in review_files(service).files}
    assert review[elsewhere].needed and review[elsewhere].job_id == job_id
    service.repair(job_id, ["error"])
    status = run_to_end(service, job_id)
    assert status.counts["error"] == 1 and status.counts["ok"] == 2
    left = {
        f["id"] for f in box.client.get("/v1/files", params={"purpose": "batch"}).json()["data"]
    }
    assert left == {elsewhere}  # the repair's own upload is deleted, the original kept


def test_a_review_made_in_one_language_is_shown_in_the_language_of_the_moment(
    make_service: MakeService, box: Sandbox, registry: Registry
) -> None:
    service = make_service()
    _submitted(service, "Reviews")
    with use_language("en"):
        (kept,) = review_files(service).files
    with use_language("zh-CN"):
        assert str(kept.reason) == "它的批处理仍在运行。"  # as last seen: validating
        described = kept.describe(0)
    # The CLI's JSON is data: English whatever the language.
    assert described["reason"] == "Its batch is still running."


def test_attaching_a_batch_whose_input_file_is_gone_says_so_plainly(
    make_service: MakeService, box: Sandbox, tmp_path: Path
) -> None:
    # A batch Batchdash sent with another registry, whose refresh deleted its input file.
    other = Registry(f"sqlite:///{tmp_path / 'other.sqlite3'}")
    try:
        elsewhere = JobService(other, box.gateway(), SCOPE)
        job_id = _submitted(elsewhere, "Elsewhere")
        run_to_end(elsewhere, job_id)
        (batch_id,) = [part.batch_id for part in other.parts(job_id)]
    finally:
        other.close()
    with pytest.raises(InputError) as refused:
        make_service().attach(batch_id or "")
    assert str(refused.value) == (
        f"The server at sandbox.test no longer has the input file of batch {batch_id} (it was "
        "deleted, or expired), so the batch's requests cannot be read back."
    )


def test_a_registry_at_a_later_version_still_gets_the_file_deletions_table(
    registry_url: str,
) -> None:
    # A registry opened by a Batchdash that had a later part's version, not this one.
    engine = make_engine(registry_url)
    try:
        without = {v: step for v, step in MIGRATIONS.items() if v != FILE_DELETIONS_VERSION}
        assert upgrade(engine, without) == LATEST_VERSION
        assert not inspect(engine).has_table("file_deletions")
        assert upgrade(engine) == LATEST_VERSION
        assert inspect(engine).has_table("file_deletions")
        with engine.connect() as conn:
            versions = conn.execute(text("SELECT version FROM schema_versions ORDER BY 1"))
            assert [v for (v,) in versions] == sorted(MIGRATIONS)
    finally:
        engine.dispose()
    opened = Registry(registry_url)
    try:
        opened.note_file_deleted("file-1", None)
        assert opened.file_deletions(["file-1"])["file-1"].done
    finally:
        opened.close()
