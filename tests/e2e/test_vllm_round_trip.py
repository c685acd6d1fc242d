"""A job for vLLM, in a real browser: with "vLLM serve" picked in Settings (no Batch API), New
job saves the job for vLLM's run-batch instead of sending it; Jobs hands out its JSONL and the
command; the output file vLLM writes (made here: a row failing with a plain string, a row left
out) is uploaded and merged, uploaded again (nothing changes), a wrong file is refused in one
sentence; Results' merged CSV is checked cell by cell."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import FilePayload, Page, expect

from tests.e2e.conftest import STEP_TIMEOUT, ServedApp, open_page, screenshot, wait_idle
from tests.e2e.steps import is_upload, upload_file, uploads_held, write_template
from tests.e2e.test_provider_journey import choose, pick_api
from tests.e2e.test_whole_path import download, job_heading, open_results, prompts_csv, read_csv
from tests.vllm_output import output_for

pytestmark = pytest.mark.e2e

NAME = "Kettles on vLLM"
MODEL = "Qwen/Qwen2.5-7B-Instruct"
TEXTS = [f"Review {n}: the kettle boils fast but the lid sticks." for n in range(1, 6)]
OOM = "CUDA out of memory. Tried to allocate 2.00 GiB"


def upload_output(page: Page, name: str, data: bytes) -> None:
    """Pick the file in the import form and import it."""
    payload: FilePayload = {"name": name, "mimeType": "application/jsonl", "buffer": data}
    page.locator("input[type=file]").set_input_files(files=[payload])
    wait_idle(page)
    page.get_by_role("button", name="Import the results").click()
    wait_idle(page)


def replace_output_slowly(page: Page, name: str, data: bytes) -> None:
    """Pick the file in place of the import form's file, as on a slow connection: the pick
    takes the previous file out of the form at once (a run of the page, without the import
    button), and the new file arrives only once that run is drawn. Then import it."""
    payload: FilePayload = {"name": name, "mimeType": "application/jsonl", "buffer": data}
    button = page.get_by_role("button", name="Import the results")
    with uploads_held(page) as release:
        with page.expect_request(is_upload):
            page.locator("input[type=file]").set_input_files(files=[payload])
        expect(button).to_have_count(0)
        wait_idle(page)
        release()
    expect(button).to_be_visible()
    button.click()
    wait_idle(page)


def test_a_job_goes_to_vllm_and_its_output_comes_back(page: Page, served_app: ServedApp) -> None:
    open_page(page, served_app, "settings")
    pick_api(page, "vLLM serve")
    expect(page.get_by_test_id("stSidebar")).to_contain_text("Imitating vLLM serve")
    expect(page.get_by_text("No Batch API: run the job directly", exact=False)).to_be_visible()
    screenshot(page, "70-settings-vllm")

    page.get_by_role("link", name="New job").click()
    upload_file(page, "kettles.csv", prompts_csv(TEXTS), 5)
    write_template(page, "Summarise: {prompt}")
    choose(page, "Model", MODEL)
    page.get_by_role("button", name="Submit job…").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible(timeout=STEP_TIMEOUT)
    # A server without a Batch API runs the job directly, or exports it for vLLM.
    expect(dialog).to_contain_text("Run directly on my own server, at no cost")
    dialog.get_by_text("Export for vLLM's run-batch").click()
    wait_idle(page)
    expect(dialog).to_contain_text("vLLM serve has no Batch API", timeout=STEP_TIMEOUT)
    expect(dialog.get_by_role("button", name="Submit", exact=True)).to_have_count(0)
    field = dialog.get_by_role("textbox", name="Job name")
    field.fill(NAME)
    field.press("Enter")
    wait_idle(page)
    screenshot(page, "71-submit-dialog-vllm")
    dialog.get_by_role("button", name="Export for vLLM").click()
    expect(page).to_have_url(re.compile(r"/jobs$"), timeout=STEP_TIMEOUT)

    # Jobs: the job waits for vLLM's answers; its file and the command that runs it.
    expect(job_heading(page, NAME, "Waiting for results")).to_be_visible(timeout=STEP_TIMEOUT)
    expect(page.get_by_text("5 rows wait for vLLM's answers", exact=False)).to_be_visible()
    code = page.get_by_test_id("stCode").filter(has_text="run_batch")
    expect(code).to_be_visible(timeout=STEP_TIMEOUT)
    command = code.inner_text()
    job_id = re.search(r"-i (job_[0-9a-f]{12})-part-0001\.jsonl", command)
    assert job_id is not None, command
    part = f"{job_id.group(1)}-part-0001"
    assert " ".join(command.split()) == (
        f"python -m vllm.entrypoints.openai.run_batch -i {part}.jsonl -o {part}-output.jsonl "
        f"--model {MODEL}"
    )
    screenshot(page, "72-jobs-waiting-for-vllm")
    exported = download(page, f"Download {part}.jsonl").read_bytes()
    requests = [json.loads(line) for line in exported.splitlines()]
    assert [r["custom_id"] for r in requests] == [f"row-{n}" for n in range(1, 6)]
    assert requests[0]["body"]["model"] == MODEL
    assert requests[0]["body"]["messages"][-1]["content"] == f"Summarise: {TEXTS[0]}"

    # vLLM's output: row 2 failed with a plain string, row 4 is not in the file.
    output = output_for(exported, errors={"row-2": OOM}, missing=["row-4"])
    upload_output(page, f"{part}-output.jsonl", output)
    done = "Imported 4 results (3 answered, 1 with an error); 1 row of the exported file got no "
    expect(page.get_by_text(done, exact=False)).to_be_visible(timeout=STEP_TIMEOUT)
    expect(job_heading(page, NAME, "Completed with errors")).to_be_visible(timeout=STEP_TIMEOUT)
    expect(page.get_by_text("Finished: 3 ok, 1 error, 1 not run", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Export 2 rows for vLLM")).to_be_visible()
    screenshot(page, "73-jobs-imported")

    # The same file again: nothing changes.
    page.get_by_role("button", name="Import the results").click()
    expect(page.get_by_text("were imported already", exact=False)).to_be_visible(
        timeout=STEP_TIMEOUT
    )
    expect(page.get_by_text("Finished: 3 ok, 1 error, 1 not run", exact=True)).to_be_visible()

    # A wrong file, arriving late: one plain sentence, nothing lost.
    replace_output_slowly(page, "notes.jsonl", b"these are my notes, not results\n")
    refusal = page.get_by_test_id("stAlertContentError")
    expect(refusal).to_contain_text(
        "notes.jsonl is not a results file (a line is not JSON): import the output file vLLM's "
        "run-batch wrote (its -o file) for this job.",
        timeout=STEP_TIMEOUT,
    )
    expect(page.get_by_text("Finished: 3 ok, 1 error, 1 not run", exact=True)).to_be_visible()
    screenshot(page, "74-jobs-wrong-file")

    open_results(page)
    rows = read_csv(download(page, "Merged CSV"))
    assert [row["prompt"] for row in rows] == TEXTS
    assert [row["id"] for row in rows] == ["001", "002", "003", "004", "005"]
    assert [row["custom_id"] for row in rows] == [f"row-{n}" for n in range(1, 6)]
    assert [row["status"] for row in rows] == ["ok", "error", "ok", "not_run", "ok"]
    assert [row["response"] for row in rows] == [
        "Answer to row-1",
        "",
        "Answer to row-3",
        "",
        "Answer to row-5",
    ]
    assert [row["error"] for row in rows] == ["", f"{OOM} (HTTP 400).", "", "", ""]
    assert [row["finish_reason"] for row in rows] == ["stop", "", "stop", "", "stop"]
    assert [row["output_tokens"] for row in rows] == ["3", "0", "3", "0", "3"]
    assert [row["model"] for row in rows] == [MODEL] * 3 + [""] + [MODEL]
    imported = f"import:{part}-output.jsonl"
    assert [row["batch_id"] for row in rows] == [imported] * 3 + [""] + [imported]
    assert {float(row["cost_usd"]) for row in rows} == {0.0}
    screenshot(page, "75-results-vllm")
