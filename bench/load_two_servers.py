"""Bench: two app servers on one PostgreSQL registry, ten browser sessions at once.

Starts a private PostgreSQL cluster (tests/postgres.py), one sandbox process whose batches run
at `--rate` requests per second, and two `streamlit run` servers on free 127.0.0.1 ports that
share the registry and the sandbox (BATCHDASH_DB_URL, BATCHDASH_SANDBOX_URL). Each server is
first visited once, as by the first analyst after a start (imports, token tables: its seconds
are reported, its runs left out of the figures). Then ten Playwright contexts in Debian's
Chromium, five on each server, each upload a CSV of `--rows` rows, submit it and watch the Jobs
page follow the job for `--watch` seconds, all at once.

Measured and checked:

- errors: exceptions or error boxes drawn in any page, page errors and console errors in the
  browser, tracebacks in the servers' logs (budget: none);
- duplicates: the sandbox's own list of batches, read afterwards, holds exactly one batch per
  job and part (budget: none twice), and the registry holds the ten jobs;
- reruns, timed twice: in the browser, from Streamlit's own websocket messages (the page's
  `rerun_script`, or the server's `new_session` when the server starts the run, to
  `script_finished`), and inside the servers, where `run_timing/sitecustomize.py` logs each
  script run's wall-clock and CPU seconds and its page. Budgets: the Jobs page's refresh (its
  timed fragment) within 500 ms at the median inside the servers, as for one analyst; and in
  the browser 95% of all runs within 2 s, none over 10 s. The whole-page runs that submit a
  job (upload, create: a progress dialog, seconds by design) are left out of the browser
  budget and reported on their own;
- also: seconds from the Submit click to the Jobs page, jobs finished at the end of the watch,
  the servers' peak memory and the machine's load average.

    .venv/bin/python bench/load_two_servers.py [--sessions 10] [--rows 150] [--rate 1.5]
        [--watch 120] [--browser-nice 10]

The ten browsers share this machine's cores with the servers, which analysts' browsers (on
their own computers) do not; `--browser-nice` runs Chromium at that lower priority, so the
browsers use what the servers leave (0 runs them as equals).

Exits 1 when a budget is exceeded.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import os
import re
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "dashboard"), str(ROOT)]

from playwright.async_api import (  # noqa: E402
    Browser,
    ConsoleMessage,
    FilePayload,
    Page,
    WebSocket,
    async_playwright,
    expect,
)
from streamlit.proto.BackMsg_pb2 import BackMsg  # noqa: E402
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg  # noqa: E402

from batchdash.api.batch_tags import JOB_TAG, PART_TAG  # noqa: E402
from batchdash.api.gateway import Gateway  # noqa: E402
from batchdash.jobs.service import JobService  # noqa: E402
from batchdash.registry.store import Registry  # noqa: E402
from batchdash.settings import owner_scope  # noqa: E402
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, ServedApp, serving  # noqa: E402
from tests.postgres import fresh_database, private_cluster  # noqa: E402
from tests.reliability.processes import SandboxProcess  # noqa: E402

STEP_MS = 120_000
RERUN_P95_BUDGET_S = 2.0
RERUN_MAX_BUDGET_S = 10.0
REFRESH_MEDIAN_BUDGET_S = 0.5
RUN_TIMING = Path(__file__).resolve().parent / "run_timing"
#: Seconds between looks at a watched page for errors.
LOOK_EVERY = 5.0


ERRORS_DRAWN = "[data-testid=stException], [data-testid=stAlertContentError]"


class RunTimer:
    """Times each script run of one page from the websocket frames Streamlit exchanges."""

    def __init__(self) -> None:
        #: (kind, seconds) of each finished run: "page", "fragment" or "submit".
        self.runs: list[tuple[str, float]] = []
        #: Set to "submit" while the runs of a submission (click to the Jobs page) go on.
        self.label: str | None = None
        self._asked: tuple[str, float] | None = None
        self._started: tuple[str, float] | None = None

    def watch(self, socket: WebSocket) -> None:
        """Follow one websocket of the page."""
        socket.on("framesent", self._sent)
        socket.on("framereceived", self._received)

    def _sent(self, payload: str | bytes) -> None:
        message = BackMsg()
        message.ParseFromString(payload if isinstance(payload, bytes) else payload.encode())
        if message.WhichOneof("type") == "rerun_script":
            kind = "fragment" if message.rerun_script.fragment_id else "page"
            self._asked = (self.label or kind, time.monotonic())

    def _received(self, payload: str | bytes) -> None:
        message = ForwardMsg()
        message.ParseFromString(payload if isinstance(payload, bytes) else payload.encode())
        kind = message.WhichOneof("type")
        if kind == "new_session" and self._started is None:
            self._started = self._asked or (self.label or "page", time.monotonic())
            self._asked = None
        elif kind == "script_finished" and self._started is not None:
            self.runs.append((self._started[0], time.monotonic() - self._started[1]))
            self._started = None


@dataclass
class Session:
    """What one browser session saw."""

    #: 0-based number of the session.
    index: int
    #: The server it used.
    server: str
    #: The job's name.
    name: str
    #: Seconds from the Submit click to the Jobs page.
    submit_seconds: float = 0.0
    #: (kind, seconds) of each script run the page saw.
    reruns: list[tuple[str, float]] = field(default_factory=list)
    #: Errors drawn in the page, page errors and console errors.
    errors: list[str] = field(default_factory=list)
    #: The job's status words at the end of the watch ("" if not seen).
    final: str = ""


def reviews_csv(rows: int, session: int) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["id", "prompt"])
    writer.writerows(
        [f"{n:04d}", f"Session {session}, review {n}: arrived on time, works as described."]
        for n in range(1, rows + 1)
    )
    return out.getvalue().encode()


async def wait_idle(page: Page) -> None:
    """As tests/e2e/conftest.wait_idle: the running indicator gone and the network quiet."""
    await page.wait_for_timeout(400)
    await expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=STEP_MS)
    await page.wait_for_load_state("networkidle", timeout=STEP_MS)


async def run_session(
    browser: Browser, app: ServedApp, session: Session, rows: int, watch: float
) -> Session:
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(STEP_MS)
    page = await context.new_page()
    timer = RunTimer()
    page.on("websocket", timer.watch)
    page.on("pageerror", lambda error: session.errors.append(f"page error: {error}"))

    def console(message: ConsoleMessage) -> None:
        # This machine has no internet: icons the page would fetch from a font CDN fail.
        local = message.location.get("url", "").startswith(app.url)
        if message.type == "error" and (local or "ERR_NAME_NOT_RESOLVED" not in message.text):
            session.errors.append(f"console: {message.text} ({message.location.get('url')})")

    page.on("console", console)
    try:
        await page.goto(app.url)
        await expect(page.get_by_test_id("stSidebar")).to_be_visible(timeout=STEP_MS)
        await wait_idle(page)
        data = reviews_csv(rows, session.index)
        upload: FilePayload = {
            "name": f"load-{session.index}.csv",
            "mimeType": "text/csv",
            "buffer": data,
        }
        await page.locator("input[type=file]").set_input_files(files=[upload])
        await expect(page.get_by_text(f"{rows} rows").first).to_be_visible(timeout=STEP_MS)
        await wait_idle(page)
        await page.get_by_role("button", name="Submit job…").click()
        dialog = page.get_by_role("dialog")
        await expect(dialog).to_be_visible(timeout=STEP_MS)
        field_ = dialog.get_by_role("textbox", name="Job name")
        await field_.fill(session.name)
        await field_.press("Enter")
        await wait_idle(page)
        clicked = time.monotonic()
        timer.label = "submit"
        await dialog.get_by_role("button", name="Submit", exact=True).click()
        await expect(page).to_have_url(re.compile(r"/jobs$"), timeout=STEP_MS)
        session.submit_seconds = time.monotonic() - clicked
        await wait_idle(page)
        timer.label = None
        deadline = time.monotonic() + watch
        while time.monotonic() < deadline:
            await page.wait_for_timeout(LOOK_EVERY * 1000)
            for drawn in await page.locator(ERRORS_DRAWN).all_inner_texts():
                session.errors.append(f"drawn: {drawn[:200]}")
        heading = page.get_by_text(re.compile(rf"^{re.escape(session.name)} · "))
        if await heading.count():
            session.final = (await heading.first.inner_text()).split(" · ", 1)[1]
    except Exception as error:  # the bench reports every failure instead of stopping
        session.errors.append(f"driver: {type(error).__name__}: {str(error)[:300]}")
    finally:
        session.reruns = list(timer.runs)
        await context.close()
    return session


async def warm_up(browser: Browser, app: ServedApp) -> float:
    """One visit that opens New job with a 3-row upload and the Jobs page, as the first analyst
    of a freshly started server does (imports, token tables, price list); its seconds."""
    started = time.monotonic()
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(STEP_MS)
    try:
        page = await context.new_page()
        await page.goto(app.url)
        await expect(page.get_by_test_id("stSidebar")).to_be_visible(timeout=STEP_MS)
        await wait_idle(page)
        upload: FilePayload = {
            "name": "warm-up.csv",
            "mimeType": "text/csv",
            "buffer": reviews_csv(3, 0),
        }
        await page.locator("input[type=file]").set_input_files(files=[upload])
        await expect(page.get_by_text("3 rows").first).to_be_visible(timeout=STEP_MS)
        await wait_idle(page)
        await page.goto(f"{app.url}/jobs")
        await expect(page.get_by_text("No job yet").first).to_be_visible(timeout=STEP_MS)
        await wait_idle(page)
    finally:
        await context.close()
    return time.monotonic() - started


async def run_browsers(
    apps: list[ServedApp], sessions: int, rows: int, watch: float, executable: str
) -> tuple[list[float], float, list[Session]]:
    """The servers' warm-up seconds, when the warm-ups ended (Unix time), and the sessions."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            warm = list(await asyncio.gather(*(warm_up(browser, app) for app in apps)))
            warmed_at = time.time()
            planned = [
                Session(i, apps[i % len(apps)].url, f"Load {i + 1}") for i in range(sessions)
            ]
            ran = await asyncio.gather(
                *(run_session(browser, apps[s.index % len(apps)], s, rows, watch) for s in planned)
            )
            return warm, warmed_at, list(ran)
        finally:
            await browser.close()


def niced_chromium(folder: Path, nice: int) -> str:
    """A launcher that runs Debian's Chromium at niceness `nice` (Chromium itself if 0)."""
    if nice == 0:
        return CHROMIUM
    launcher = folder / "chromium-niced"
    launcher.write_text(f'#!/bin/sh\nexec nice -n {nice} {CHROMIUM} "$@"\n')
    launcher.chmod(0o755)
    return str(launcher)


def server_runs(log: Path) -> list[dict[str, Any]]:
    """The script runs one server logged (see run_timing/sitecustomize.py)."""
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


#: What each process is, by a word of its command line.
ROLES = {
    "chromium": "browser",
    "streamlit": "app servers",
    "postgres": "postgresql",
    "sandbox.server": "sandbox",
}


class CpuSampler:
    """CPU seconds used by the browser, the app servers, PostgreSQL and the sandbox started by
    this bench (descendants of `roots`), read from /proc every second in a thread; processes
    that end between samples lose their last second. Other programs on the machine are left
    out."""

    def __init__(self, roots: set[int]) -> None:
        self._roots = roots
        self._first: dict[int, float] = {}
        self._last: dict[int, tuple[str, float]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._tick = os.sysconf("SC_CLK_TCK")

    def __enter__(self) -> CpuSampler:
        self._sample(first=True)
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            self._sample()

    def _sample(self, *, first: bool = False) -> None:
        table: dict[int, tuple[int, str, list[str]]] = {}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                command = stat.with_name("cmdline").read_bytes().replace(b"\0", b" ").decode()
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError, UnicodeDecodeError):
                continue
            table[int(stat.parent.name)] = (int(fields[1]), command, fields)
        for pid, (_parent, command, fields) in table.items():
            role = next((r for word, r in ROLES.items() if word in command), None)
            if role is None or not self._descends(pid, table):
                continue
            seconds = (int(fields[11]) + int(fields[12])) / self._tick
            if first:
                self._first[pid] = seconds
            self._last[pid] = (role, seconds)

    def _descends(self, pid: int, table: dict[int, tuple[int, str, list[str]]]) -> bool:
        while pid > 1:
            if pid in self._roots:
                return True
            pid = table[pid][0] if pid in table else 0
        return False

    def seconds(self) -> dict[str, float]:
        """CPU seconds per role since the sampler started."""
        used: dict[str, float] = {}
        for pid, (role, seconds) in self._last.items():
            used[role] = used.get(role, 0.0) + seconds - self._first.get(pid, 0.0)
        return {role: round(value, 1) for role, value in sorted(used.items())}


def peak_rss_mib(url: str) -> float | None:
    """The peak memory (VmHWM) of the streamlit server listening at `url`, while it runs."""
    port = url.rsplit(":", 1)[1]
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            words = cmdline.read_bytes().split(b"\0")
            if b"streamlit" in words and port.encode() in words:
                found = re.search(r"VmHWM:\s+(\d+) kB", cmdline.with_name("status").read_text())
                return int(found.group(1)) / 1024 if found else None
        except OSError:
            continue
    return None


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def logged_errors(log: Path) -> list[str]:
    """Each traceback or ERROR line of a server's log, with the lines of its traceback."""
    lines = log.read_text(errors="replace").splitlines()
    found: list[str] = []
    for number, line in enumerate(lines):
        if "Traceback" in line:
            block = [line]
            for following in lines[number + 1 :]:
                block.append(following)
                if not following.startswith((" ", "Traceback")):
                    break  # the exception's own line ends the traceback
            found.append("\n".join(block))
        elif " ERROR " in line:
            found.append(line)
    return found


def spread(values: list[float]) -> list[float]:
    """Median, 95th percentile and maximum, rounded to milliseconds."""
    if not values:
        return []
    return [round(v, 3) for v in (statistics.median(values), percentile(values, 0.95), max(values))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--rows", type=int, default=150)
    parser.add_argument("--rate", type=float, default=1.5, help="sandbox requests/s per batch")
    parser.add_argument("--watch", type=float, default=120.0, help="seconds each job is watched")
    parser.add_argument("--save-runs", type=Path, help="write every timed run to this JSON file")
    parser.add_argument(
        "--browser-nice", type=int, default=10, help="Chromium's niceness (0: as the servers)"
    )
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="batchdash-load-") as tmp, ExitStack() as stack:
        base = Path(tmp)
        cluster = stack.enter_context(private_cluster())
        db_url = stack.enter_context(fresh_database(cluster))
        sandbox = stack.enter_context(
            SandboxProcess(base / "sandbox", log=base / "sandbox.log", rate=args.rate)
        )
        env = {"BATCHDASH_DB_URL": db_url, "BATCHDASH_SANDBOX_URL": sandbox.base_url}
        path = os.pathsep.join(filter(None, [str(RUN_TIMING), os.environ.get("PYTHONPATH")]))
        run_logs = [base / f"app-{n}" / "runs.jsonl" for n in (1, 2)]
        apps = []
        for n, run_log in zip((1, 2), run_logs, strict=True):
            run_log.parent.mkdir()
            timed = {**env, "PYTHONPATH": path, "BATCHDASH_RUN_LOG": str(run_log)}
            apps.append(stack.enter_context(serving(base / f"app-{n}", timed)))
        chromium = niced_chromium(base, args.browser_nice)
        print(f"servers {[app.url for app in apps]}, sandbox {sandbox.base_url}", flush=True)
        watched = time.monotonic()
        postmaster = int((cluster.root / "data" / "postmaster.pid").read_text().split()[0])
        with CpuSampler({os.getpid(), postmaster}) as cpu:
            warm, warmed_at, sessions = asyncio.run(
                run_browsers(apps, args.sessions, args.rows, args.watch, chromium)
            )
        watched = time.monotonic() - watched
        memory = [peak_rss_mib(app.url) for app in apps]
        tracebacks = [f"{app.url}: {block}" for app in apps for block in logged_errors(app.log)]
        duplicates, jobs_seen = count_batches(sandbox.base_url)
        finished = finished_jobs(db_url, sandbox.base_url)
        inside = [
            run for log in run_logs for run in server_runs(log) if run["ended_at"] > warmed_at
        ]
    reruns = [s for session in sessions for kind, s in session.reruns if kind != "submit"]
    fragment_runs = [s for session in sessions for kind, s in session.reruns if kind == "fragment"]
    page_runs = [s for session in sessions for kind, s in session.reruns if kind == "page"]
    submit_runs = [s for session in sessions for kind, s in session.reruns if kind == "submit"]
    refreshes = [run for run in inside if run["kind"] == "fragment" and run["page"] == "Jobs"]
    refresh_seconds = [run["seconds"] for run in refreshes]
    errors = [f"session {s.index + 1}: {e}" for s in sessions for e in s.errors] + tracebacks
    figures: dict[str, Any] = {
        "sessions": args.sessions,
        "servers": len(apps),
        "rows_per_job": args.rows,
        "sandbox_rate": args.rate,
        "watch_seconds": args.watch,
        "jobs_in_sandbox": jobs_seen,
        "parts_with_two_batches_or_more": duplicates,
        "jobs_finished_in_registry": finished,
        "submit_seconds_median": round(statistics.median(s.submit_seconds for s in sessions), 2),
        "submit_seconds_max": round(max(s.submit_seconds for s in sessions), 2),
        "reruns": len(reruns),
        "rerun_seconds_median": round(statistics.median(reruns), 3) if reruns else None,
        "rerun_seconds_p95": round(percentile(reruns, 0.95), 3),
        "rerun_seconds_max": round(max(reruns, default=0.0), 3),
        "page_runs": len(page_runs),
        "page_run_seconds_median_p95_max": spread(page_runs),
        "fragment_runs": len(fragment_runs),
        "fragment_run_seconds_median_p95_max": spread(fragment_runs),
        "submit_runs": len(submit_runs),
        "submit_run_seconds_median_p95_max": spread(submit_runs),
        "server_runs_by_page_and_kind": {
            f"{page} {kind}": {
                "count": len(found),
                "seconds_median_p95_max": spread([run["seconds"] for run in found]),
                "cpu_seconds_median_p95_max": spread([run["cpu_seconds"] for run in found]),
            }
            for page, kind in sorted({(run["page"], run["kind"]) for run in inside})
            if (found := [r for r in inside if (r["page"], r["kind"]) == (page, kind)])
        },
        "jobs_refresh_in_server_seconds_median_p95_max": spread(refresh_seconds),
        "final_words": dict(Counter(s.final for s in sessions)),
        "errors": errors,
        "server_peak_rss_mib": [round(m, 1) if m else None for m in memory],
        "browser_phase_seconds": round(watched, 1),
        "server_warm_up_seconds": [round(seconds, 1) for seconds in warm],
        "cpu_seconds_in_browser_phase": cpu.seconds(),
        "cores": os.cpu_count(),
        "browser_nice": args.browser_nice,
        "load_average_before_after": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "total_seconds": round(time.monotonic() - started, 1),
    }
    print(json.dumps(figures, indent=2))
    if args.save_runs:
        browser_runs = [
            {"session": s.index + 1, "kind": kind, "seconds": seconds}
            for s in sessions
            for kind, seconds in s.reruns
        ]
        args.save_runs.write_text(json.dumps({"server": inside, "browser": browser_runs}))
    over = (
        errors
        or duplicates
        or jobs_seen != args.sessions
        or figures["rerun_seconds_p95"] > RERUN_P95_BUDGET_S
        or figures["rerun_seconds_max"] > RERUN_MAX_BUDGET_S
        or not refresh_seconds
        or statistics.median(refresh_seconds) > REFRESH_MEDIAN_BUDGET_S
    )
    return 1 if over else 0


def count_batches(base_url: str) -> tuple[int, int]:
    """Parts that got more than one batch, and jobs with a batch, from the sandbox's list."""
    gateway = Gateway("sandbox", base_url)
    per_part = Counter(
        (info.metadata.get(JOB_TAG), info.metadata.get(PART_TAG))
        for info in gateway.list_batches()
        if info.metadata.get(JOB_TAG)
    )
    return sum(1 for n in per_part.values() if n > 1), len({job for job, _part in per_part})


def finished_jobs(db_url: str, base_url: str) -> int:
    """Jobs of the sandbox scope that the registry holds as finished with every row ok."""
    registry = Registry(db_url)
    try:
        service = JobService(
            registry, Gateway("sandbox", base_url), owner_scope("sandbox", "sandbox")
        )
        statuses = service.list_jobs()
        return sum(s.state == "finished" and s.counts["ok"] == s.rows for s in statuses)
    finally:
        registry.close()


if __name__ == "__main__":
    sys.exit(main())
