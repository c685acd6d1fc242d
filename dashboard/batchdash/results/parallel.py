"""Independent pieces of work (runs of result lines, slices of a sheet) on every core, in order.

Arrow's kernels and readers release the GIL, so two threads that each take a whole piece keep
two cores busy with few hand-offs between them; on a loaded machine a process with two busy
threads also gets two shares of the CPU. Only a few pieces are in flight at once, so memory
stays that of a few pieces, not of the whole input.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

Piece = TypeVar("Piece")
Result = TypeVar("Result")

#: Threads at most: the work is memory-bound past a few cores, and each holds a piece.
_MOST_WORKERS = 4


def workers() -> int:
    """How many threads share the work: the cores, within _MOST_WORKERS."""
    return max(1, min(_MOST_WORKERS, os.cpu_count() or 1))


def map_in_order(
    work: Callable[[Piece], Result], pieces: Iterable[Piece], threads: int | None = None
) -> Iterator[Result]:
    """`work` of each piece, in the pieces' order, on `threads` threads (default `workers()`).

    At most two pieces per thread are taken from `pieces` ahead of the result being yielded.
    An exception of `work` is raised where its result would have come; the pieces not yet
    started are then dropped."""
    threads = threads or workers()
    if threads == 1:
        yield from map(work, pieces)
        return
    pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="batchdash-piece")
    pending: deque[Future[Result]] = deque()
    try:
        for piece in pieces:
            pending.append(pool.submit(work, piece))
            if len(pending) >= 2 * threads:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
