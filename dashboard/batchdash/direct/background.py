"""A direct run in a background thread of this process: how the app starts one from the
Streamlit server without holding up the page.

The thread runs `DirectJobs.run`; the page keeps the handle (in `st.session_state`, never a
module global) to stop it or to show its last report, and reads the job's progress from the
registry (`DirectJobs.progress`) like any other process would. A stop leaves the rows not sent
waiting for a resume; a cancel (`DirectJobs.cancel`, from any process) ends them `cancelled`.
"""

from __future__ import annotations

import threading

from batchdash.direct.jobs import DirectJobs
from batchdash.direct.progress import DirectProgress


class DirectRunHandle:
    """One job's direct run in a daemon thread."""

    def __init__(self, jobs: DirectJobs, job_id: str) -> None:
        #: The job being run.
        self.job_id = job_id
        #: The runner's last report (rows of the part it sends), None before the first.
        self.latest: DirectProgress | None = None
        #: Why the run stopped early, if it did (a DirectBusy, a refused key, ...): the page
        #: shows `str(error)`, a plain sentence.
        self.error: BaseException | None = None
        self._jobs = jobs
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"batchdash-direct-{job_id}", daemon=True
        )

    def start(self) -> DirectRunHandle:
        """Start the thread; the handle."""
        self._thread.start()
        return self

    @property
    def running(self) -> bool:
        """Whether the thread still runs."""
        return self._thread.is_alive()

    def stop(self) -> None:
        """Stop sending between two calls; the calls under way finish and are recorded, and
        the rows not sent wait for a resume (`start_direct_run` again)."""
        self._stop.set()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the thread to end (at most `timeout` seconds); whether it ended."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self) -> None:
        def report(progress: DirectProgress) -> None:
            self.latest = progress

        try:
            self._jobs.run(self.job_id, on_progress=report, stop=self._stop)
        except BaseException as error:  # kept for the page: a thread's error is seen nowhere
            self.error = error


def start_direct_run(jobs: DirectJobs, job_id: str) -> DirectRunHandle:
    """Start (or resume) the job's direct run in a background thread; its handle."""
    return DirectRunHandle(jobs, job_id).start()
