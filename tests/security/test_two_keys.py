"""Two API keys never see each other's jobs or results: in two page sessions against one API
server and one registry, through the job service itself, and on the command line.

The sandbox, like one OpenAI project, shows every batch to every key; what Batchdash keeps
(jobs, rows, results, merged tables) is filed under the key's fingerprint, and nothing of one
key's jobs is reachable with the other key: not listed, not opened by id, not attached again.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from batchdash.api.gateway import Gateway
from batchdash.errors import InputError
from batchdash.jobs.service import JobService
from batchdash.registry.store import Registry
from batchdash.settings import default_db_url, owner_scope
from cli import main as cli_main
from sandbox.server import running_sandbox
from tests.app.conftest import JOBS, NEW_JOB, RESULTS, SETTINGS, MakeApp, joined, rerun_until
from tests.app.files import REVIEWS_CSV
from tests.app.test_new_job_bad_inputs import upload
from tests.jobs_kit import RECIPE, reviews, run_to_end
from ui import state
from ui.job_actions import Dialog
from ui.remote_batches import VIEW_JOBS, VIEW_REMOTE

KEY_A = "sk-proj-" + "A" * 40 + "alice-key"
KEY_B = "sk-proj-" + "B" * 40 + "bruno-key"


@pytest.fixture
def api(tmp_path: Path) -> Iterator[str]:
    """One API server both keys talk to."""
    with running_sandbox(tmp_path / "api") as url:
        yield url


def session(make_app: MakeApp, api: str, key: str) -> AppTest:
    """A page session whose key is typed into Settings, with the custom URL of `api`."""
    at = make_app()
    at.run()
    at.switch_page(SETTINGS).run()
    at.text_input(key=state.API_KEY).set_value(key).run()
    at.segmented_control(key=state.BASE_URL_PRESET).set_value(state.PRESET_CUSTOM).run()
    at.text_input(key=state.CUSTOM_BASE_URL).set_value(api).run()
    at.switch_page(NEW_JOB).run()
    assert not at.exception
    return at


def submit(at: AppTest, data: bytes = REVIEWS_CSV) -> str:
    upload(at, "reviews.csv", data)
    at.text_area(key=state.TEMPLATE).set_value("Classify: {text}").run()
    at.button(key="submit_button").click().run()
    at.button(key="submit_confirm").click().run()
    assert not at.exception
    job_id: str = at.session_state[state.SELECTED_JOB]
    return job_id


def test_two_sessions_with_two_keys_see_only_their_own_jobs(
    make_app: MakeApp, api: str, data_dir: Path
) -> None:
    alice = session(make_app, api, KEY_A)
    alice_job = submit(alice)
    registry = Registry(default_db_url(data_dir))
    scope_a, scope_b = owner_scope(KEY_A, api), owner_scope(KEY_B, api)
    try:
        alice.switch_page(JOBS)
        rerun_until(alice, lambda: registry.get_job(alice_job, scope_a).state == "finished")
        alice_batch = registry.parts(alice_job)[0].batch_id
        assert alice_batch

        bruno = session(make_app, api, KEY_B)
        for page in (JOBS, RESULTS):
            bruno.switch_page(page).run()
            assert "No job yet" in joined(bruno, "info")
        # The API lists the other key's batch too (as one OpenAI project lists the batches of
        # all its keys), but Batchdash leaves out batches another key follows.
        assert [info.id for info in Gateway(KEY_B, api).list_batches()] == [alice_batch]
        bruno.switch_page(JOBS).run()
        bruno.segmented_control(key=state.JOBS_VIEW).set_value(VIEW_REMOTE).run()
        assert bruno.session_state[state.REMOTE_LISTING].batches == ()
        assert "This key has no batch yet" in joined(bruno, "info")
        shown = " ".join(str(frame.value.to_dict()) for frame in bruno.dataframe)
        assert alice_batch not in shown and alice_job not in shown
        # Attaching it by its id is refused without naming the job it belongs to.
        bruno.segmented_control(key=state.JOBS_VIEW).set_value(VIEW_JOBS).run()
        bruno.session_state[state.JOBS_DIALOG] = Dialog("attach", None, alice_batch)
        bruno.run()
        bruno.button(key="attach_confirm").click().run()
        refused = joined(bruno, "error")
        assert f"Batch {alice_batch} is already followed in Batchdash under another API key" in (
            refused
        )
        assert alice_job not in refused
        assert registry.list_jobs(scope_b, include_archived=True) == []

        bruno.switch_page(NEW_JOB).run()
        bruno_job = submit(bruno)
        bruno.switch_page(JOBS)
        rerun_until(bruno, lambda: registry.get_job(bruno_job, scope_b).state == "finished")
        for at, own, other in ((alice, alice_job, bruno_job), (bruno, bruno_job, alice_job)):
            at.switch_page(RESULTS).run()
            assert not at.exception
            picker = at.selectbox(key=state.RESULTS_PICKER)
            assert picker.options == [picker.format_func(own)]
            table = next(f.value for f in at.dataframe if "custom_id" in f.value.columns)
            assert table["batch_id"].nunique() == 1
            assert table["batch_id"].iat[0] == registry.parts(own)[0].batch_id
            at.switch_page(JOBS).run()
            assert other not in " ".join(str(frame.value.to_dict()) for frame in at.dataframe)
    finally:
        registry.close()


@pytest.fixture
def services(api: str, tmp_path: Path) -> Iterator[tuple[JobService, JobService]]:
    registry = Registry(default_db_url(tmp_path / "registry"))
    yield (
        JobService(registry, Gateway(KEY_A, api), owner_scope(KEY_A, api)),
        JobService(registry, Gateway(KEY_B, api), owner_scope(KEY_B, api)),
    )
    registry.close()


def test_the_job_service_of_one_key_reaches_nothing_of_the_other(
    services: tuple[JobService, JobService],
) -> None:
    alice, bruno = services
    job = alice.create_job("Alice's reviews", reviews(4), RECIPE)
    alice.submit(job)
    run_to_end(alice, job)
    batch = alice.status(job).batches[0].id

    assert [status.job_id for status in bruno.list_jobs(include_archived=True)] == []
    assert bruno.refresh_all() == []
    assert [info.id for info, _ in alice.remote_batches()] == [batch]
    assert bruno.remote_batches() == []
    refused: dict[str, Callable[[], object]] = {
        "status": lambda: bruno.status(job),
        "refresh": lambda: bruno.refresh(job),
        "merged_table": lambda: bruno.merged_table(job),
        "raw_results": lambda: bruno.raw_results(job),
        "manifest": lambda: bruno.manifest(job),
        "cancel": lambda: bruno.cancel(job),
        "plan_repair": lambda: bruno.plan_repair(job),
        "repair": lambda: bruno.repair(job),
        "archive": lambda: bruno.archive(job),
    }
    for call in refused.values():
        with pytest.raises(InputError, match="There is no job"):
            call()
    with pytest.raises(InputError, match="already followed in Batchdash under another API key"):
        bruno.attach(batch)
    # Alice's job is as it was, and still hers.
    assert alice.status(job).counts["ok"] == 4
    assert not alice.status(job).archived
    assert [status.job_id for status in alice.list_jobs()] == [job]


def test_the_command_line_of_one_key_reaches_nothing_of_the_other(
    api: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = tmp_path / "cli-data"
    monkeypatch.setenv("BATCHDASH_DATA_DIR", str(data_dir))
    monkeypatch.setenv("OPENAI_BASE_URL", api)
    monkeypatch.delenv("BATCHDASH_DB_URL", raising=False)
    table = tmp_path / "reviews.csv"
    table.write_bytes(REVIEWS_CSV)
    monkeypatch.setenv("OPENAI_API_KEY", KEY_A)
    assert cli_main(["submit", str(table), "--template", "Classify: {text}"]) == 0
    job = json.loads(capsys.readouterr().out)["job_id"]

    monkeypatch.setenv("OPENAI_API_KEY", KEY_B)
    out = tmp_path / "theirs.csv"
    for argv in (["status", job], ["download", job, "--out", str(out)], ["cancel", job]):
        assert cli_main(argv) == 2
        printed = capsys.readouterr()
        assert printed.out == ""
        assert f"There is no job {job} for this API key" in printed.err
    assert not out.exists()
    assert cli_main(["status"]) == 0
    assert capsys.readouterr().out.strip() == "[]"

    monkeypatch.setenv("OPENAI_API_KEY", KEY_A)
    assert cli_main(["status", job]) == 0
    assert json.loads(capsys.readouterr().out)["job_id"] == job
