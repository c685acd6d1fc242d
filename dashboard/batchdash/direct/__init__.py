"""Direct runs (DESIGN.md contract 11): each row of a job sent to the endpoint's synchronous
route (chat completions, responses, embeddings, completions), a few calls at once, instead of
through a batch: for servers without a Batch API (a model on the analyst's own machine) and
rows needed now.

The job is an ordinary job of the registry with the same recipe and preflight; its rows are
one part of kind "direct" (a repair adds another with the rows' custom_ids). Each answer is
recorded in the registry the moment it arrives (`registry.direct_lines`), as a line of the
Batch API's output format keyed by part and custom_id, so that:

- the merged table (contract 6) is made by the same merge as a batch job's, in the same
  shape; its `batch_id` lineage says `direct` (`recipe.DIRECT_BATCH_ID`), and `cost_usd` is
  at the normal (non-batch) price, or 0 when the provider profile says `direct_free`;
- a run killed at any moment (even SIGKILL) resumes where it stopped: only rows without a
  line are sent, so at most the calls that were in flight are made twice, and never a row
  whose answer was recorded;
- progress can be read from any process.

A runner holds the part with the claim batch submitters use (`registry.claims`,
`registry.holders`): two runners never send the same part, and a runner whose process is gone
is recognised at once. It rides out rate limits (429 and Retry-After honoured, fewer calls at
once while the server pushes back, more again when it stops: `adaptive_limit`), retries passing
failures with growing waits up to a cap and then records the row's error, and records a
refusal of the request itself (a 4xx) as the row's error at once, like a batch's error line.

The API, for the CLI and the app (every call works from any thread; the registry is shared):

    from batchdash.direct.jobs import DirectJobs
    from batchdash.direct.runner import RunSettings
    from batchdash.direct.background import start_direct_run

    jobs = DirectJobs(job_service, RunSettings(concurrency=8))   # a jobs.service.JobService
    job_id = jobs.create("Reviews", frame, recipe, source_name="reviews.csv")
    handle = start_direct_run(jobs, job_id)   # a daemon thread; keep the handle in session state
    jobs.progress(job_id)   # DirectProgress: answered, failed, cancelled, in_flight, left,
                            # calls, concurrency, state ("running" | "stopped" | "cancelling"
                            # | "done" | "none"); from the registry, in any process
    handle.stop()           # stop sending; the rows left wait for `start_direct_run` again
    jobs.cancel(job_id)     # from any process: the runner stops between calls, unsent rows
                            # end as `cancelled` (JobService.cancel does the same)
    jobs.repair(job_id, ["error"]); start_direct_run(jobs, job_id)   # failed rows again
    jobs.run(job_id, on_progress=print)   # the same in this thread (the CLI's foreground)

`JobService.status(job_id).direct` is the same DirectProgress, and its `unsent_note` says what
a stopped direct run left; `handle.error` holds what stopped a background run (DirectBusy when
another live runner has the job, a refused key, ...), a plain sentence for the page.
"""
