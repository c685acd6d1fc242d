"""`cli.py watch`: move every active job the key serves, with no page open (contract 12).

    python dashboard/cli.py watch
    python dashboard/cli.py watch --every 10
    python dashboard/cli.py watch --once

The first runs a round every 30 s until Ctrl+C or SIGTERM; the last runs one round and prints
one JSON object.

It moves the jobs of every scope of OPENAI_API_KEY's fingerprint at OPENAI_BASE_URL (with
sign-in on, every user's jobs sent with that key) and, when BATCHDASH_SANDBOX_URL names a shared
sandbox, every Sandbox job too (whichever provider the sandbox imitated for it). Each round prints one JSON line on stdout: the jobs it moved (as
`status` prints them), the jobs another watcher held, and what failed; a failure is also told on
stderr in one line and the next round goes on.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import partial
from types import FrameType
from typing import TYPE_CHECKING, Any

import cli_jobs

from batchdash.errors import InputError
from batchdash.i18n import _, n_
from batchdash.settings import SANDBOX_URL, WATCH_EVERY, Settings, read_settings

if TYPE_CHECKING:
    from batchdash.api.gateway import Gateway
    from batchdash.jobs.watching import Hook, WatchedKey, Watcher, WatchRound
    from batchdash.providers.profiles import ProviderProfile
    from batchdash.registry.store import Registry

_SubParsers = Any  # argparse's _SubParsersAction is private

#: The bounds of --every, in seconds: faster polls nothing sooner, slower leaves batches unseen.
_EVERY_RANGE = (1.0, 86_400.0)
#: The key sent to the shared sandbox, as the pages send it (it checks none).
_SANDBOX_KEY = "sandbox"


def _deliver_notifications(registry: Registry) -> int:
    """Send the notifications the round's refreshes recorded (and any still waiting)."""
    from batchdash.notify import deliver_pending  # the SMTP client loads for `watch` only

    return deliver_pending(registry)


#: Hooks every round runs after its jobs moved (`batchdash.jobs.watching.Hook`: a callable
#: taking the registry), in this order. Tidying needs none: each refresh deletes the input
#: files of the batches it saw end (`jobs.tidying`).
ROUND_HOOKS: list[Hook] = [_deliver_notifications]


def add_watch(commands: _SubParsers, plain_line: Callable[[BaseException], str]) -> None:
    """Declare `watch`; `plain_line` words a round's failure as the CLI's one line."""
    parser = commands.add_parser(
        "watch",
        help=_("move every active job of the key with no page open"),
        description=_(
            "Refresh every active job of the key (and of the shared sandbox), fetch finished "
            "results and send waiting parts, a round every few seconds; one JSON line per round."
        ),
    )
    parser.add_argument(
        "--every",
        default=str(WATCH_EVERY),
        metavar="S",
        help=_("seconds between two rounds (default {default})", default=int(WATCH_EVERY)),
    )
    parser.add_argument("--once", action="store_true", help=_("run one round and stop"))
    parser.set_defaults(handler=partial(run_watch, plain_line=plain_line))


def run_watch(
    args: argparse.Namespace, plain_line: Callable[[BaseException], str]
) -> dict[str, Any] | None:
    every = checked_every(args.every)
    # A single round leaves nothing resting: the next `--once`, whoever runs it, moves all.
    watcher = _watcher(read_settings(os.environ), every, rest=0.0 if args.once else every)
    line = partial(_round_line, plain_line=plain_line)
    if args.once:
        try:
            return line(watcher.run_round())
        finally:
            watcher.stop()
    _watch(watcher, line)
    return None


def checked_every(text: str) -> float:
    """The seconds --every gives; InputError for anything but a number in range."""
    low, high = _EVERY_RANGE
    try:
        every = float(text)
    except ValueError:
        every = math.nan
    if not low <= every <= high:  # NaN fails both
        raise InputError(
            _(
                "--every is {given}; give the seconds between two rounds, from {low:g} to "
                "{high:g}.",
                given=text,
                low=low,
                high=high,
            )
        )
    return every


def _watcher(settings: Settings, every: float, *, rest: float) -> Watcher:
    """A watcher of the configured key and, with BATCHDASH_SANDBOX_URL, of the shared sandbox."""
    from batchdash.jobs.watching import Watcher
    from batchdash.registry.store import Registry

    shared_sandbox = os.environ.get(SANDBOX_URL, "").strip()
    try:
        configured = [cli_jobs.key_gateway(settings)]
    except InputError:
        if not shared_sandbox:
            raise  # no key and no sandbox: nothing to watch
        configured = []
    registry = Registry.from_settings(settings)
    keys = [_key(registry, *found) for found in configured]
    if shared_sandbox:
        keys.extend(_sandbox_keys(registry, shared_sandbox))
    return Watcher(registry, keys, every=every, hooks=ROUND_HOOKS, rest=timedelta(seconds=rest))


def _key(
    registry: Registry, gateway: Gateway, fingerprint: str, provider: ProviderProfile
) -> WatchedKey:
    from batchdash.jobs.opening import open_job_service
    from batchdash.jobs.watching import WatchedKey

    return WatchedKey(
        fingerprint, lambda scope: open_job_service(registry, gateway, scope, provider=provider)
    )


def _sandbox_keys(registry: Registry, url: str) -> list[WatchedKey]:
    """The shared sandbox's jobs: the pages send them with no key of the analyst's, under one
    scope per provider the sandbox imitated for them (Settings' provider in Sandbox mode)."""
    from batchdash.jobs.opening import provider_gateway
    from batchdash.providers.profiles import PROFILES
    from batchdash.providers.sandbox_scope import sandbox_scope

    return [
        _key(
            registry,
            provider_gateway(_SANDBOX_KEY, url, profile),
            sandbox_scope(None, profile),
            profile,
        )
        for profile in PROFILES
    ]


def _watch(watcher: Watcher, round_line: Callable[[WatchRound], dict[str, Any]]) -> None:
    """Rounds until SIGINT or SIGTERM: the first lets the round in progress end, a second
    stops it at once (its claims are released all the same)."""
    stopping = threading.Event()
    print(
        n_(
            "Watching the jobs of {keys} key, a round every {every:g} s; Ctrl+C stops.",
            "Watching the jobs of {keys} keys, a round every {every:g} s; Ctrl+C stops.",
            len(watcher.keys),
            keys=len(watcher.keys),
            every=watcher.every,
        ),
        file=sys.stderr,
        flush=True,
    )
    try:
        with _stopped_by_signals(stopping):
            for number in itertools.count(1):
                done = watcher.run_round()
                print(json.dumps(round_line(done), ensure_ascii=False), flush=True)
                print(_round_words(number, done), file=sys.stderr, flush=True)
                if stopping.wait(watcher.every):
                    break
    finally:
        watcher.stop()
        print(_("The watcher stopped."), file=sys.stderr, flush=True)


def _round_words(number: int, done: WatchRound) -> str:
    """The round's progress line on stderr, in the language of the command."""
    return n_(
        "Round {number}: {moved} job moved, {held} held by another watcher.",
        "Round {number}: {moved} jobs moved, {held} held by another watcher.",
        len(done.moved),
        number=number,
        moved=len(done.moved),
        held=len(done.skipped),
    )


@contextmanager
def _stopped_by_signals(stopping: threading.Event) -> Iterator[None]:
    def stop(signum: int, _frame: FrameType | None) -> None:
        if stopping.is_set():
            raise KeyboardInterrupt  # a second signal: stop now
        stopping.set()
        print(_("Stopping after this round…"), file=sys.stderr, flush=True)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _round_line(done: WatchRound, plain_line: Callable[[BaseException], str]) -> dict[str, Any]:
    """The round as printed; its failures told on stderr, one line each."""
    from batchdash.registry.holders import parse_holder

    failures = [plain_line(error) for error in done.failures]
    for failure in failures:
        print(_("Note: {note}", note=failure), file=sys.stderr, flush=True)
    skipped = []
    for job_id, holder_text in done.skipped.items():
        holder = parse_holder(holder_text)
        skipped.append({"job_id": job_id, "held_by": str(holder.describe()) if holder else ""})
    return {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "moved": [cli_jobs._job_status(status) for status in done.moved],
        "skipped": skipped,
        "errors": failures,
    }
