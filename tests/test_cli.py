import io
import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

import cli
from batchdash.inputs.reading import read_table
from batchdash.preflight.plan import plan_batch
from batchdash.recipe import Recipe
from batchdash.results.export import to_csv_bytes
from batchdash.results.merge import merge_results
from batchdash.results.parse import parse_result_lines
from tests.result_lines import chat_line, jsonl, not_run_line

ROOT = Path(__file__).resolve().parents[1]
CLI = ROOT / "dashboard" / "cli.py"
GOLDEN = ROOT / "tests" / "data" / "golden" / "merge"
GOLDEN_RESULTS = [
    GOLDEN / name
    for name in (
        "batch_a_output.jsonl",
        "batch_a_errors.jsonl",
        "batch_b_output.jsonl",
        "batch_b_errors.jsonl",
    )
]


def run_cli(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, str(CLI), *map(str, args)]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120)


def run_main(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    code = cli.main([str(arg) for arg in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def reviews(tmp_path: Path) -> Path:
    path = tmp_path / "reviews.csv"
    path.write_text(
        'id,review\n007,Great value\n008,Arrived broken\n009,"Slow, but kind"\n',
        encoding="utf-8",
    )
    return path


def test_convert_writes_parts_and_prints_the_plan(
    reviews: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_dir = tmp_path / "parts"
    code, out, _ = run_main(
        capsys, "convert", reviews, "--template", "Rate: {review}", "--system", "Be brief.",
        "--model", "gpt-4.1-mini", "--id-column", "id", "--max-tokens", "20",
        "--temperature", "0", "--out-dir", out_dir,
    )  # fmt: skip
    assert code == 0
    recipe = Recipe(
        model="gpt-4.1-mini",
        template="Rate: {review}",
        system_prompt="Be brief.",
        temperature=0.0,
        max_output_tokens=20,
        id_column="id",
    )
    plan = plan_batch(read_table(reviews.read_bytes(), reviews.name).frame, recipe)
    assert json.loads(out) == {
        "rows": 3,
        "parts": 1,
        "input_tokens": plan.input_tokens,
        "estimated_cost_usd": pytest.approx(plan.estimated_cost_usd),
        # Three answers of at most 20 tokens at gpt-4.1-mini's batch price ($0.80 per million).
        "answers_max_cost_usd": pytest.approx(3 * 20 * 0.8 / 1e6),
    }
    assert sorted(p.name for p in out_dir.iterdir()) == ["part-0001.jsonl"]
    assert (out_dir / "part-0001.jsonl").read_bytes() == plan.part_bytes(1)
    lines = [json.loads(line) for line in (out_dir / "part-0001.jsonl").read_text().splitlines()]
    assert [line["custom_id"] for line in lines] == ["007", "008", "009"]
    assert lines[2]["body"]["messages"][-1]["content"] == "Rate: Slow, but kind"


def test_convert_takes_short_endpoint_names(
    reviews: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, _ = run_main(
        capsys, "convert", reviews, "--template", "{review}", "--endpoint", "embeddings",
        "--model", "text-embedding-3-small", "--out-dir", tmp_path,
    )  # fmt: skip
    assert code == 0
    first = json.loads((tmp_path / "part-0001.jsonl").read_text().splitlines()[0])
    assert (first["url"], first["body"]["input"]) == ("/v1/embeddings", "Great value")


def test_convert_stops_on_a_blocking_problem(
    reviews: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_main(
        capsys, "convert", reviews, "--template", "Rate {reviw}", "--out-dir", tmp_path / "p"
    )
    assert (code, out) == (2, "")
    assert "'{reviw}'" in err and "did you mean '{review}'" in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "p").exists()


def golden_recipe() -> Recipe:
    # What merge infers from the golden answers: chat, the answers' model, no structured fields.
    return Recipe(model="gpt-4o-mini-2024-07-18", id_column="ticket")


def merge_golden(capsys: pytest.CaptureFixture[str], out: Path) -> str:
    """Run `merge` on the golden files; its stdout."""
    code, stdout, _ = run_main(
        capsys, "merge", GOLDEN / "input.csv", "--results", *GOLDEN_RESULTS,
        "--id-column", "ticket", "--out", out,
    )  # fmt: skip
    assert code == 0
    return stdout


def test_merge_writes_the_merged_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "answers.csv"
    stdout = merge_golden(capsys, out)
    frame = read_table((GOLDEN / "input.csv").read_bytes(), "input.csv").frame
    results = [
        result
        for path in GOLDEN_RESULTS
        for result in parse_result_lines(
            path.read_bytes(), recipe=golden_recipe(), source_name=path.name
        )
    ]
    assert out.read_bytes() == to_csv_bytes(merge_results(frame, golden_recipe(), results))
    merged = pd.read_csv(out, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    # Without a recipe's fields the malformed structured answer and the cut-off one are text.
    assert merged["status"].tolist() == [
        *["ok"] * 5, "error", "expired", "cancelled", "not_run", "ok", "error", "ok", "ok",
    ]  # fmt: skip
    summary = json.loads(stdout)
    assert summary["counts"] == {
        "ok": 8,
        "error": 2,
        "expired": 1,
        "cancelled": 1,
        "not_run": 1,
    }
    assert (summary["rows"], summary["unmatched_results"], summary["out"]) == (13, 0, str(out))
    assert summary["cost_usd"] == pytest.approx(
        merge_results(frame, golden_recipe(), results)["cost_usd"].sum()
    )


def test_merge_writes_xlsx_with_text_kept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "answers.XLSX"
    merge_golden(capsys, out)
    sheet = openpyxl.load_workbook(io.BytesIO(out.read_bytes()))["Results"]
    assert [cell.value for cell in sheet[2]][:2] == ["007", "Zoë"]


def test_merge_writes_the_csv_for_programs_with_raw_csv(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spreadsheets, programs = tmp_path / "answers.csv", tmp_path / "answers-raw.csv"
    merge_golden(capsys, spreadsheets)
    code, _, _ = run_main(
        capsys, "merge", GOLDEN / "input.csv", "--results", *GOLDEN_RESULTS,
        "--id-column", "ticket", "--out", programs, "--raw-csv",
    )  # fmt: skip
    assert code == 0
    assert not programs.read_bytes().startswith(b"\xef\xbb\xbf")
    raw = pd.read_csv(programs, dtype=str, keep_default_na=False, encoding="utf-8")
    safe = pd.read_csv(spreadsheets, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    message = read_table((GOLDEN / "input.csv").read_bytes(), "input.csv").frame["message"]
    assert raw["message"].tolist() == message.tolist()
    assert (
        safe["message"][1]
        == "'" + raw["message"][1]
        == '\'=HYPERLINK("http://example.com","click")'
    )


def test_raw_csv_with_an_xlsx_out_is_refused(
    reviews: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    results = reviews.with_name("out.jsonl")
    results.write_bytes(jsonl(chat_line("row-1", "a")))
    out = reviews.with_name("answers.xlsx")
    code, stdout, err = run_main(
        capsys, "merge", reviews, "--results", results, "--out", out, "--raw-csv"
    )
    assert (code, stdout) == (2, "")
    assert err.strip() == (
        "--raw-csv writes a CSV, and answers.xlsx is an XLSX, which keeps every text "
        "as it is anyway: drop --raw-csv, or name a .csv file."
    )
    assert not out.exists()


def test_an_xlsx_over_a_sheet_is_refused_before_any_result_is_read(
    reviews: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("batchdash.results.export.MAX_ROWS", 3)  # a sheet of 2 rows
    results = reviews.with_name("out.jsonl")
    results.write_bytes(b"not a results file\n")  # never read
    out = reviews.with_name("answers.xlsx")
    code, stdout, err = run_main(capsys, "merge", reviews, "--results", results, "--out", out)
    assert (code, stdout) == (2, "")
    assert err.strip() == (
        "The table has 3 rows; an Excel sheet holds at most 2 rows below its header: write the "
        "merged table as CSV instead (e.g. --out answers.csv), which Excel opens too."
    )
    assert not out.exists()
    code, stdout, err = run_main(
        capsys, "merge", reviews, "--results", results, "--out", out.with_suffix(".csv")
    )
    assert code == 2 and "Line 1 of out.jsonl is not a JSON line" in err


def test_merge_defaults_out_beside_the_input_and_notes_strangers(
    reviews: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    results = reviews.with_name("out.jsonl")
    results.write_bytes(jsonl(chat_line("row-1", "a"), chat_line("row-7", "stray")))
    code, stdout, err = run_main(capsys, "merge", reviews, "--results", results)
    assert code == 0
    assert json.loads(stdout)["out"] == str(reviews.with_name("reviews-merged.csv"))
    assert reviews.with_name("reviews-merged.csv").exists()
    assert "1 results match no row of reviews.csv (e.g. custom_id 'row-7')" in err


def test_merge_of_failures_only_needs_no_model(
    reviews: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    results = reviews.with_name("errors.jsonl")
    results.write_bytes(jsonl(not_run_line("row-1"), not_run_line("row-2")))
    code, stdout, _ = run_main(capsys, "merge", reviews, "--results", results)
    assert code == 0
    assert json.loads(stdout)["counts"]["expired"] == 2


@pytest.mark.parametrize(
    ("results", "message"),
    [
        (
            jsonl(chat_line("row-1", "a")) + b"not json\n",
            "Line 2 of res.jsonl is not a JSON line",
        ),
        (
            jsonl(chat_line("x-1", "a"), chat_line("x-2", "b")),
            "None of the results in res.jsonl match a row of this table",
        ),
    ],
)
def test_merge_refuses_bad_results(
    reviews: Path, results: bytes, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = reviews.with_name("res.jsonl")
    path.write_bytes(results)
    code, out, err = run_main(capsys, "merge", reviews, "--results", path, "--out", "x.csv")
    assert (code, out) == (2, "")
    assert err.startswith(message)


def test_merge_refuses_files_of_different_endpoints(
    reviews: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    chat = reviews.with_name("chat.jsonl")
    chat.write_bytes(jsonl(chat_line("row-1", "a")))
    completions = reviews.with_name("completions.jsonl")
    body = {"object": "text_completion", "model": "m", "choices": [{"text": "b"}]}
    completions.write_bytes(jsonl(json.dumps({"custom_id": "row-2", "response": {
        "status_code": 200, "body": body}}).encode()))  # fmt: skip
    code, _, err = run_main(capsys, "merge", reviews, "--results", chat, completions)
    assert code == 2
    assert "come from different endpoints: chat.jsonl (/v1/chat/completions) and " in err


def test_sandbox_checks_its_options(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_main(capsys, "sandbox", "--fault-rate", "1.5")[0:2] == (2, "")
    assert run_main(capsys, "sandbox", "--rate", "0")[0] == 2
    with pytest.raises(SystemExit) as stopped:
        cli.main(["sandbox", "--profile", "nope"])
    assert stopped.value.code == 2
    assert (
        "invalid choice: 'nope' (choose from 'openai', 'azure', 'groq'" in capsys.readouterr().err
    )


@pytest.mark.parametrize(
    "args",
    [
        ("convert", "missing.csv", "--template", "{x}"),
        ("merge", "reviews.csv", "--results", "reviews.csv"),
        ("convert", "garbage.csv", "--template", "{x}"),
    ],
)
def test_bad_input_exits_2_with_one_line(reviews: Path, args: tuple[str, ...]) -> None:
    (reviews.parent / "garbage.csv").write_bytes(bytes(range(256)) * 8)
    done = run_cli(*args, cwd=reviews.parent)
    assert done.returncode == 2
    assert done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "Traceback" not in done.stderr


def test_bad_arguments_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        cli.main(["convert", "x.csv", "--template", "{x}", "--endpoint", "nope"])
    assert stopped.value.code == 2
    assert "'nope' is not an endpoint" in capsys.readouterr().err


def test_missing_files_and_bad_output_names_are_one_line(
    reviews: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_main(capsys, "merge", reviews, "--results", reviews.with_name("no.jsonl"))
    assert code == 2
    assert (
        err
        == f"Batchdash cannot use '{reviews.with_name('no.jsonl')}': No such file or directory. Check the path and try again.\n"
    )
    code, _, err = run_main(capsys, "merge", reviews, "--results", reviews, "--out", "a.txt")
    assert code == 2
    assert err == "The output file 'a.txt' must end in .csv or .xlsx, e.g. --out answers.xlsx.\n"


def test_convert_in_a_subprocess(reviews: Path) -> None:
    done = run_cli("convert", reviews.name, "--template", "{review}", cwd=reviews.parent)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["rows"] == 3
    assert (reviews.parent / "part-0001.jsonl").exists()


def test_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        cli.main(["--help"])
    assert stopped.value.code == 0
    shown = capsys.readouterr().out
    assert all(command in shown for command in ("convert", "merge", "sandbox"))


def test_cli_never_loads_streamlit() -> None:
    code = "import sys, cli; cli.build_parser(); print('streamlit' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT / "dashboard",
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.strip() == "False"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


#: Extra `sandbox` options, and the status `GET /v1/batches` (no key sent) answers with.
SANDBOX_VARIANTS = {
    "default": ((), 200),
    "gemini": (("--profile", "gemini"), 405),  # its compatibility layer lists no batches
    "require-key": (("--require-key",), 401),
}


@pytest.fixture(params=list(SANDBOX_VARIANTS))
def sandbox_process(
    tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[tuple[subprocess.Popen[str], int, str]]:
    """`cli.py sandbox` in a child process: it, its port and the name of its variant."""
    port = free_port()
    command = [sys.executable, str(CLI), "sandbox", "--port", str(port)]
    options, _ = SANDBOX_VARIANTS[request.param]
    command += ["--data-dir", str(tmp_path / "sandbox"), "--rate", "50", *options]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        yield process, port, request.param
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_sandbox_serves_the_batches_api(
    sandbox_process: tuple[subprocess.Popen[str], int, str], tmp_path: Path
) -> None:
    process, port, variant = sandbox_process
    assert process.stdout is not None
    started = json.loads(process.stdout.readline())
    profile = "gemini" if variant == "gemini" else "openai"
    wanted = SANDBOX_VARIANTS[variant][1]
    assert started == {
        "base_url": f"http://127.0.0.1:{port}/v1",
        "data_dir": str(tmp_path / "sandbox"),
        "profile": profile,
    }
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"{started['base_url']}/batches", timeout=5) as answer:
                assert json.loads(answer.read())["object"] == "list"
                assert wanted == 200
                break
        except urllib.error.HTTPError as refused:
            assert refused.code == wanted
            break
        except OSError:
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            assert time.monotonic() < deadline, "the sandbox did not start in 30 s"
            time.sleep(0.1)


def test_sandbox_on_a_taken_port_exits_2(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run_cli("sandbox", "--port", port, "--data-dir", tmp_path / "s", cwd=tmp_path)
    assert done.returncode == 2
    assert f"Cannot listen on 127.0.0.1:{port}" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
