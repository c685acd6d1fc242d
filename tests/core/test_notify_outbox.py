"""The notifications' outbox on SQLite and PostgreSQL: recorded once, sent once by racing
deliverers, retried after a failed send, mailed through a local SMTP server, and recorded by a
refresh that sees a job end."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import pytest

from batchdash.direct.jobs import DirectJobs
from batchdash.jobs.service import JobService
from batchdash.notify import deliver_in_background, deliver_pending
from batchdash.notify.delivery import MAX_ATTEMPTS
from batchdash.notify.targets import SavedUrl, save_emails, save_urls
from batchdash.recipe import Recipe
from batchdash.registry.notifications import NOTIFY_LEASE
from batchdash.registry.store import Registry
from tests import jobs_kit
from tests.jobs_kit import RECIPE, Sandbox, reviews, run_to_end
from tests.mail_server import LOGIN_WITHOUT_TLS, mail_server
from tests.webhook_receiver import webhook_receiver

box = jobs_kit.box  # the sandbox fixture
pytestmark = pytest.mark.filterwarnings(LOGIN_WITHOUT_TLS)  # on 127.0.0.1 only

SCOPE = "scope-a"


class Clock:
    """A registry clock the test moves on."""

    def __init__(self) -> None:
        self.now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def open_registry(registry_url: str, clock: Clock) -> Iterator[Callable[[], Registry]]:
    """Registries on one database, as separate processes would open them."""
    opened: list[Registry] = []

    def make() -> Registry:
        opened.append(Registry(registry_url, clock=clock))
        return opened[-1]

    yield make
    for registry in opened:
        registry.close()


def _job(registry: Registry, name: str = "Reviews") -> str:
    frame = pd.DataFrame({"review": ["good"]}, dtype=str)
    return registry.create_job(
        SCOPE, name, Recipe(model="gpt-4o-mini", template="{review}"), frame
    ).id


def _payload(job_id: str, event: str = "finished") -> dict[str, Any]:
    counts = {"ok": 1, "error": 0, "expired": 0, "cancelled": 0, "not_run": 0, "pending": 0}
    return {
        "event": event,
        "job_id": job_id,
        "name": "Reviews",
        "state": "finished",
        "counts": counts,
        "cost_usd": 0.01,
        "expires_at": None,
    }


def _recorded(
    open_registry: Callable[[], Registry], event: str = "finished"
) -> tuple[Registry, str]:
    """A registry holding one job and one recorded notification of it."""
    registry = open_registry()
    job_id = _job(registry)
    registry.record_notification(job_id, SCOPE, event, _payload(job_id, event))
    return registry, job_id


def test_recording_twice_from_two_processes_keeps_one(
    open_registry: Callable[[], Registry],
) -> None:
    first, second = open_registry(), open_registry()
    job_id = _job(first)
    assert first.record_notification(job_id, SCOPE, "finished", _payload(job_id)) is True
    assert second.record_notification(job_id, SCOPE, "finished", _payload(job_id)) is False
    assert second.record_notification(job_id, SCOPE, "expiring", _payload(job_id, "expiring"))
    assert [(n.job_id, n.event) for n in first.notifications()] == [
        (job_id, "finished"),
        (job_id, "expiring"),
    ]


def test_two_deliverers_racing_send_each_notification_once(
    open_registry: Callable[[], Registry],
) -> None:
    first, second = open_registry(), open_registry()
    job_ids = [_job(first, f"Job {n}") for n in range(12)]
    for job_id in job_ids:
        first.record_notification(job_id, SCOPE, "finished", _payload(job_id))
    with webhook_receiver() as receiver:
        environ = {"BATCHDASH_NOTIFY_URLS": receiver.url}
        barrier = threading.Barrier(2)
        sent: list[int] = []

        def deliver(registry: Registry) -> None:
            barrier.wait(30)
            sent.append(deliver_pending(registry, environ))

        threads = [threading.Thread(target=deliver, args=(r,)) for r in (first, second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert sum(sent) == len(job_ids)
        assert sorted(body["job_id"] for body in receiver.bodies) == sorted(job_ids)
        assert deliver_pending(second, environ) == 0
    assert {n.state for n in first.notifications()} == {"sent"}


def test_a_receiver_that_fails_once_gets_it_once_more_later(
    open_registry: Callable[[], Registry], clock: Clock
) -> None:
    registry, job_id = _recorded(open_registry)
    with webhook_receiver(failures=1) as receiver:
        environ = {"BATCHDASH_NOTIFY_URLS": receiver.url}
        assert deliver_pending(registry, environ) == 0
        (waiting,) = registry.notifications()
        assert (waiting.state, waiting.attempts) == ("pending", 1)
        assert waiting.last_error == f"{receiver.url.rsplit('/hook', 1)[0]} answered HTTP 500."
        assert deliver_pending(registry, environ) == 0  # not due yet
        clock.now += timedelta(minutes=2)
        assert deliver_pending(registry, environ) == 1
        assert deliver_pending(registry, environ) == 0
        assert [body["job_id"] for body in receiver.bodies] == [job_id, job_id]
    (done,) = registry.notifications()
    assert (done.state, done.attempts) == ("sent", 1)


def test_a_target_reached_is_not_sent_again_when_another_fails(
    open_registry: Callable[[], Registry], clock: Clock
) -> None:
    registry, _job_id = _recorded(open_registry)
    with webhook_receiver() as good, webhook_receiver(failures=1, failure=302) as moved:
        environ = {"BATCHDASH_NOTIFY_URLS": f"{good.url},{moved.url}"}
        assert deliver_pending(registry, environ) == 0
        assert "redirect, which is not followed" in (registry.notifications()[0].last_error or "")
        clock.now += timedelta(hours=1)
        assert deliver_pending(registry, environ) == 1
        assert (len(good.bodies), len(moved.bodies)) == (1, 2)


def test_a_notification_is_given_up_after_the_last_attempt(
    open_registry: Callable[[], Registry], clock: Clock
) -> None:
    registry, _job_id = _recorded(open_registry, "failed")
    with webhook_receiver(failures=100, failure=503) as receiver:
        environ = {"BATCHDASH_NOTIFY_URLS": receiver.url}
        for _attempt in range(MAX_ATTEMPTS + 2):
            deliver_pending(registry, environ)
            clock.now += timedelta(days=1)
        assert len(receiver.bodies) == MAX_ATTEMPTS
    (given_up,) = registry.notifications()
    assert (given_up.state, given_up.attempts) == ("given_up", MAX_ATTEMPTS)
    assert given_up.last_error is not None and "HTTP 503" in given_up.last_error
    assert "token" not in given_up.last_error


def test_saved_webhooks_and_addresses_of_the_scope_are_told_by_mail_too(
    open_registry: Callable[[], Registry],
) -> None:
    registry, job_id = _recorded(open_registry)
    with webhook_receiver() as receiver, mail_server(password="s3cret-pass") as box:
        save_urls(registry, SCOPE, [SavedUrl(receiver.url, guarded=False)])
        save_emails(registry, SCOPE, ["ann@example.com"])
        smtp = f"smtp://bd:s3cret-pass@127.0.0.1:{box.port}?from=bd@example.com&to=ops@example.com"
        assert deliver_pending(registry, {"BATCHDASH_SMTP_URL": smtp}) == 1
        assert [body["job_id"] for body in receiver.bodies] == [job_id]
        ((recipients, mail),) = box.mails
        assert sorted(recipients) == ["ann@example.com", "ops@example.com"]
        assert mail["Subject"] == "Batchdash: job Reviews finished"
        assert (
            "all 1 row" not in mail.get_payload() and "its 1 row is answered" in mail.get_payload()
        )
        assert box.logins == ["bd"]


def test_a_refused_password_is_kept_as_a_reason_without_the_password(
    open_registry: Callable[[], Registry],
) -> None:
    registry, _job_id = _recorded(open_registry)
    with mail_server(password="right-one") as box:
        smtp = f"smtp://bd:wrong-one@127.0.0.1:{box.port}?from=bd@example.com&to=ops@example.com"
        assert deliver_pending(registry, {"BATCHDASH_SMTP_URL": smtp}) == 0
        assert box.mails == []
    (waiting,) = registry.notifications()
    assert waiting.last_error == (
        f"Mail through smtp://bd@127.0.0.1:{box.port} failed (the user name or password was "
        "refused)."
    )


def test_a_guarded_url_pointing_home_is_not_posted_to(
    open_registry: Callable[[], Registry],
) -> None:
    registry, _job_id = _recorded(open_registry)
    with webhook_receiver() as receiver:
        save_urls(registry, SCOPE, [SavedUrl(receiver.url, guarded=True)])
        assert deliver_pending(registry, {}) == 0
        assert receiver.bodies == []
    assert "own network" in (registry.notifications()[0].last_error or "")


def test_a_refresh_that_sees_the_job_end_records_it_once(registry_url: str, box: Sandbox) -> None:
    registries = [Registry(registry_url), Registry(registry_url)]
    try:
        services = [JobService(registry, box.gateway(), SCOPE) for registry in registries]
        failing = reviews(3, {1: "[[sandbox:error]]"})
        good = services[0].create_job("All good", reviews(3), RECIPE)
        bad = services[0].create_job("One fails", failing, RECIPE)
        for job_id in (good, bad):
            services[0].submit(job_id)
            run_to_end(services[0], job_id)
            services[1].refresh(job_id)  # a second process looks too, after the end
        services[1].refresh_all()
        events = [(n.job_id, n.event) for n in registries[0].notifications()]
        assert events == [(good, "finished"), (bad, "failed")]
        (_, failed) = registries[0].notifications()
        assert failed.payload["counts"]["error"] == 1 and failed.payload["name"] == "One fails"
    finally:
        for registry in registries:
            registry.close()


def test_a_deliverer_that_died_mid_send_is_taken_over_after_its_lease(
    open_registry: Callable[[], Registry], clock: Clock
) -> None:
    registry, job_id = _recorded(open_registry)
    held = registry.claim_notification(holder="a deliverer that died")
    assert held is not None and registry.claim_notification() is None
    with webhook_receiver() as receiver:
        environ = {"BATCHDASH_NOTIFY_URLS": receiver.url}
        assert deliver_pending(open_registry(), environ) == 0
        clock.now += NOTIFY_LEASE + timedelta(seconds=1)
        assert deliver_pending(open_registry(), environ) == 1
        assert [body["job_id"] for body in receiver.bodies] == [job_id]
    assert registry.mark_sent(held) is False  # its claim is gone: it cannot mark it twice


def test_the_page_delivers_in_a_thread_of_its_own(open_registry: Callable[[], Registry]) -> None:
    registry, job_id = _recorded(open_registry)
    with webhook_receiver() as receiver:
        deliver_in_background(registry, {"BATCHDASH_NOTIFY_URLS": receiver.url})
        deadline = time.monotonic() + 30  # guards against a hang only
        while registry.notifications()[0].state != "sent":
            assert time.monotonic() < deadline
            time.sleep(0.02)
        assert [body["job_id"] for body in receiver.bodies] == [job_id]


def test_an_unusable_operator_url_is_a_failed_send_not_a_crash(
    open_registry: Callable[[], Registry],
) -> None:
    registry, _job_id = _recorded(open_registry)
    with webhook_receiver() as receiver:
        environ = {
            "BATCHDASH_NOTIFY_URLS": f"ftp://example.com/x,http://[::1/x,http://\x00a/x,{receiver.url}"
        }
        assert deliver_pending(registry, environ) == 0
        assert len(receiver.bodies) == 1
    (waiting,) = registry.notifications()
    assert waiting.state == "pending" and "Only web addresses" in (waiting.last_error or "")
    assert "This address cannot be read" in (waiting.last_error or "")
    assert "could not be reached (InvalidURL)" in (waiting.last_error or "")


def test_a_direct_run_that_ends_the_job_tells_it_itself_once(
    registry_url: str, box: Sandbox
) -> None:
    """Nobody refreshes a direct job (a watcher moves only active ones): the run that works out
    its end records it, and the refreshes after it add nothing."""
    registry = Registry(registry_url)
    try:
        service = JobService(registry, box.gateway(), SCOPE)
        direct = DirectJobs(service)  # type: ignore[arg-type]
        job_id = direct.create("Run directly", reviews(3), RECIPE)
        direct.run(job_id)  # works out the job's end itself, with no refresh
        assert registry.get_job(job_id, SCOPE).state == "finished"
        assert [(n.job_id, n.event) for n in registry.notifications()] == [(job_id, "finished")]
        service.refresh_all()
        service.refresh_all()
        assert [(n.job_id, n.event) for n in registry.notifications()] == [(job_id, "finished")]
    finally:
        registry.close()
