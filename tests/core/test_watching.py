"""The watcher (batchdash.jobs.watching): claims in the registry keep several watchers from doing
the same work twice, a killed watcher leaves no job stuck, a failing round leaves the next one
to go on, and the round's hooks run after its jobs moved."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path

import httpx2
import pytest
from sqlalchemy import create_engine, select

from batchdash.api.gateway import Gateway
from batchdash.errors import ApiError
from batchdash.jobs.opening import open_job_service
from batchdash.jobs.service import JobService
from batchdash.jobs.watching import WatchedKey, Watcher, WatchRound
from batchdash.notify import deliver_pending
from batchdash.registry.holders import parse_holder
from batchdash.registry.models import WatchClaimModel
from batchdash.registry.store import Registry
from batchdash.settings import owner_scope
from sandbox.server import running_sandbox
from tests.jobs_kit import API_KEY, RECIPE, CallLog, Sandbox, box, gone_holder, reviews
from tests.postgres import Cluster, fresh_database
from tests.webhook_receiver import webhook_receiver

__all__ = ["box"]  # the fixture, used by name

ROOT = Path(__file__).resolve().parents[2]


def _key(registry: Registry, gateway: Gateway, fingerprint: str) -> WatchedKey:
    return WatchedKey(fingerprint, lambda scope: open_job_service(registry, gateway, scope))


def _counted_gateway(base_url: str, log: CallLog) -> Gateway:
    client = httpx2.Client(event_hooks={"request": [log.hook]})
    return Gateway(API_KEY, base_url, http_client=client, max_retries=0)


@pytest.fixture
def postgres_registry_url(postgres_cluster: Cluster) -> Iterator[str]:
    with fresh_database(postgres_cluster) as url:
        yield url


# -- claims -----------------------------------------------------------------------------------


def _a_job(registry: Registry, box: Sandbox, scope: str) -> tuple[JobService, str]:
    service = JobService(registry, box.gateway(), scope)
    job_id = service.create_job("Watched", reviews(2), RECIPE)
    service.submit(job_id)
    return service, job_id


def test_one_watcher_at_a_time_holds_a_job(registry: Registry, box: Sandbox) -> None:
    _service, job_id = _a_job(registry, box, "fp-1")
    _service, other_id = _a_job(registry, box, "fp-1")
    lease = timedelta(seconds=60)
    assert registry.claim_watch([job_id], "watcher-a", lease=lease) == {job_id}
    assert registry.claim_watch([job_id, other_id], "watcher-b", lease=lease) == {other_id}
    assert registry.watch_holders([job_id, other_id]) == {
        job_id: "watcher-a",
        other_id: "watcher-b",
    }
    assert registry.claim_watch([job_id], "watcher-a", lease=lease) == {job_id}  # renewed
    # Released after a rest: still its own until the rest is over, then anyone's.
    registry.release_watch([job_id], "watcher-a", rest=timedelta(seconds=60))
    assert registry.claim_watch([job_id], "watcher-b", lease=lease) == set()
    registry.release_watch([job_id], "watcher-a")
    assert registry.watch_holders([job_id]) == {}
    assert registry.claim_watch([job_id], "watcher-b", lease=lease) == {job_id}


def test_a_lapsed_claim_or_a_gone_holder_s_is_free(registry: Registry, box: Sandbox) -> None:
    _service, job_id = _a_job(registry, box, "fp-1")
    assert registry.claim_watch([job_id], gone_holder(), lease=timedelta(seconds=600))
    assert registry.watch_holders([job_id]) == {}  # its process is gone
    assert registry.claim_watch([job_id], "watcher-b", lease=timedelta(seconds=-1))  # lapsed
    assert registry.claim_watch([job_id], "watcher-c", lease=timedelta(seconds=60))


def test_a_fingerprint_s_watchable_jobs_are_every_user_s_active_ones(
    registry: Registry, box: Sandbox
) -> None:
    _s, mine = _a_job(registry, box, "fp-1")
    _s, a_user_s = _a_job(registry, box, "fp-1/ana")
    _s, another_key_s = _a_job(registry, box, "fp-10")
    never_sent = JobService(registry, box.gateway(), "fp-1").create_job("New", reviews(1), RECIPE)
    watchable = [job.id for job in registry.watchable_jobs("fp-1")]
    assert sorted(watchable) == sorted([mine, a_user_s])
    assert another_key_s not in watchable and never_sent not in watchable


def test_heartbeats_say_which_keys_a_watcher_serves(registry: Registry) -> None:
    registry.note_watcher("watcher-a", ["fp-1", "fp-2"], 30.0)
    registry.note_watcher(gone_holder(), ["fp-1"], 30.0)
    [seen] = registry.watchers_of("fp-1")
    assert (seen.holder, seen.fingerprints, seen.every_seconds) == (
        "watcher-a",
        ("fp-1", "fp-2"),
        30.0,
    )
    assert registry.watchers_of("fp-3") == []
    registry.forget_watcher("watcher-a")
    assert registry.watchers_of("fp-1") == []


# -- rounds -----------------------------------------------------------------------------------


def test_a_failing_round_is_reported_and_the_next_goes_on(registry: Registry, box: Sandbox) -> None:
    service, job_id = _a_job(registry, box, "fp-1")
    refusing = True
    ran: list[Registry] = []

    def opener(scope: str) -> JobService:
        if refusing:
            raise ApiError("The API did not answer.")
        return open_job_service(registry, box.gateway(), scope)

    def failing_hook(_registry: Registry) -> None:
        raise RuntimeError("the hook broke")

    watcher = Watcher(
        registry,
        [WatchedKey("fp-1", opener)],
        hooks=[failing_hook, ran.append],
        rest=timedelta(0),
    )
    first = watcher.run_round()
    assert first.moved == [] and first.skipped == {}
    assert [str(failure) for failure in first.failures] == [
        "The API did not answer.",
        "the hook broke",
    ]
    assert ran == [registry]  # the hook after a failing one still ran
    assert registry.watch_holders([job_id]) == {}  # released despite the failure
    refusing = False
    deadline = time.monotonic() + 60
    while (done := watcher.run_round()).moved[0].state != "finished":
        assert done.failures[:1] == [] or str(done.failures[0]) == "the hook broke"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert service.status(job_id).counts["ok"] == 2
    assert len(ran) >= 2
    watcher.stop()
    assert registry.watchers_of("fp-1") == []


_KILLED_MID_ROUND = """
import os, signal, sys
from batchdash.jobs.watching import WatchedKey, Watcher
from batchdash.registry.store import Registry

class Dies:
    def refresh_jobs(self, jobs):
        print(os.getpid(), ",".join(job.id for job in jobs), flush=True)
        os.kill(os.getpid(), signal.SIGKILL)

Watcher(Registry(sys.argv[1]), [WatchedKey(sys.argv[2], lambda scope: Dies())]).run_round()
"""


def test_a_watcher_killed_mid_round_leaves_no_job_stuck(registry_url: str, box: Sandbox) -> None:
    registry = Registry(registry_url)
    try:
        service, job_id = _a_job(registry, box, "fp-1")
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "dashboard"), str(ROOT)])}
        killed = subprocess.run(
            [sys.executable, "-c", _KILLED_MID_ROUND, registry_url, "fp-1"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert killed.returncode == -9, killed.stderr
        pid, moving = killed.stdout.split()
        assert moving == job_id
        engine = create_engine(registry_url)
        with engine.connect() as conn:
            [(held_by,)] = conn.execute(
                select(WatchClaimModel.holder).where(WatchClaimModel.job_id == job_id)
            )
        engine.dispose()
        holder = parse_holder(held_by)
        assert holder is not None and holder.pid == int(pid)  # left by the killed watcher

        watcher = Watcher(registry, [_key(registry, box.gateway(), "fp-1")], rest=timedelta(0))
        deadline = time.monotonic() + 60
        while True:
            done = watcher.run_round()
            assert done.skipped == {} and done.failures == []
            if done.moved[0].state == "finished":
                break
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert service.status(job_id).counts["ok"] == 2
    finally:
        registry.close()


@pytest.mark.postgres
def test_two_watchers_on_one_postgres_never_move_a_job_twice(
    postgres_registry_url: str, tmp_path: Path
) -> None:
    """Two watchers (each with its registry connection and its own API client, as on two
    machines) start their rounds together: each job is moved by exactly one of them, no batch
    is asked about twice in a round, and each result file is downloaded once in all."""
    rest = timedelta(seconds=5)  # far longer than a round here: the other watcher's rounds skip
    with running_sandbox(tmp_path / "sandbox", rate=2.0) as base_url:
        scope = owner_scope(API_KEY, base_url)
        submitter = Registry(postgres_registry_url)
        service = JobService(submitter, Gateway(API_KEY, base_url), scope)
        job_ids = [service.create_job(f"Job {n}", reviews(4 + n), RECIPE) for n in range(3)]
        for job_id in job_ids:
            service.submit(job_id)
        logs = [CallLog(), CallLog()]
        registries = [Registry(postgres_registry_url), Registry(postgres_registry_url)]
        receiver = ExitStack()
        hook = receiver.enter_context(webhook_receiver())

        def notify(registry: Registry) -> int:
            return deliver_pending(registry, {"BATCHDASH_NOTIFY_URLS": hook.url})

        watchers = [
            Watcher(r, [_key(r, _counted_gateway(base_url, log), scope)], rest=rest, hooks=[notify])
            for r, log in zip(registries, logs, strict=True)
        ]
        downloads: Counter[str] = Counter()
        rounds = 0
        try:
            while any(service.status(job_id).state != "finished" for job_id in job_ids):
                rounds += 1
                assert rounds < 30, "the jobs did not finish"
                active = {j for j in job_ids if service.status(j).state != "finished"}
                for log in logs:
                    log.reset()
                done = _race(watchers)
                moved = [{status.job_id for status in d.moved} for d in done]
                assert not moved[0] & moved[1]
                assert moved[0] | moved[1] == active
                # The one that did not move a job skipped it, as held by the other.
                for mine, other in ((0, 1), (1, 0)):
                    assert set(done[mine].skipped) == moved[other]
                    assert set(done[mine].skipped.values()) <= {watchers[other].holder}
                asked = Counter(
                    path
                    for log in logs
                    for (method, path), n in log.calls.items()
                    for _ in range(n)
                    if method == "GET" and path.startswith("/v1/batches/")
                )
                assert asked and max(asked.values()) == 1, asked
                for log in logs:
                    for (method, path), n in log.calls.items():
                        if method == "GET" and path.endswith("/content"):
                            downloads[path] += n
                time.sleep(rest.total_seconds() + 0.2)
        finally:
            for watcher, registry in zip(watchers, registries, strict=True):
                watcher.stop()
                registry.close()
            receiver.close()
        # Each job was told to the webhook once, by whichever watcher saw it end.
        told = sorted((body["job_id"], body["event"]) for body in hook.bodies)
        assert told == sorted((job_id, "finished") for job_id in job_ids)
        batch_files = [
            file_id
            for info in Gateway(API_KEY, base_url).list_batches()
            for file_id in (info.output_file_id, info.error_file_id)
            if file_id
        ]
        submitter.close()
    assert rounds >= 2
    assert sorted(downloads) == sorted(f"/v1/files/{file_id}/content" for file_id in batch_files)
    assert set(downloads.values()) == {1}


def _race(watchers: list[Watcher]) -> list[WatchRound]:
    """One round of each watcher, started at the same moment."""
    barrier = threading.Barrier(len(watchers))
    done: list[WatchRound | None] = [None] * len(watchers)

    def go(index: int) -> None:
        barrier.wait(timeout=30)
        done[index] = watchers[index].run_round()

    threads = [threading.Thread(target=go, args=(i,)) for i in range(len(watchers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert all(d is not None for d in done)
    return [d for d in done if d is not None]
