"""Who holds a claim: a process named by its machine, its pid and its start time, so that a
claim left by a process that is gone is recognised at once instead of after its lease.

The registry may be one SQLite file or a PostgreSQL database shared by app replicas on several
machines, so "gone" is decided only where it is certain: a holder on this machine (the same
boot of the same kernel, in the same pid namespace) whose pid no longer runs, or runs a process
that started at another moment (the pid was reused). A holder on another machine, or on a
system without /proc, is never judged here: its claim lasts while its heartbeat renews it.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from batchdash.i18n import Message, _l

_PROC = Path("/proc")
#: Separates a holder's fields in the text the registry keeps (never in a host name).
_SEPARATOR = "|"


@dataclass(frozen=True)
class Holder:
    """One sender: the process and, within it, one run of a submission."""

    #: This machine as a submitter sees it: host name, boot and pid namespace.
    machine: str
    #: The process id.
    pid: int
    #: When the process started (clock ticks after boot; "" when unknown).
    started: str
    #: One submission of that process (two threads of one process send apart).
    run: str

    def text(self) -> str:
        """The holder as the registry keeps it."""
        return _SEPARATOR.join((self.machine, str(self.pid), self.started, self.run))

    def describe(self) -> Message:
        """For the analyst, worded when shown: "process 1234 on app-1"."""
        return _l("process {pid} on {machine}", pid=self.pid, machine=self.machine.split(" ", 1)[0])


def parse_holder(text: str | None) -> Holder | None:
    """The holder the registry kept; None for a claim made before holders were recorded."""
    fields = (text or "").split(_SEPARATOR)
    if len(fields) != 4 or not fields[1].isdigit():
        return None
    return Holder(fields[0], int(fields[1]), fields[2], fields[3])


def this_run() -> Holder:
    """A new holder for one submission by this process."""
    return Holder(_machine(), os.getpid(), _started(os.getpid()) or "", uuid.uuid4().hex[:12])


def holder_of(pid: int, run: str = "") -> Holder | None:
    """The holder naming another running process of this machine; None when it runs no more."""
    started = _started(pid)
    return None if started is None else Holder(_machine(), pid, started, run)


def is_gone(text: str | None) -> bool:
    """Whether the holder's process is known to have ended (only ever True on its machine)."""
    holder = parse_holder(text)
    if holder is None or not holder.started or holder.machine != _machine():
        return False
    fields = _stat(holder.pid)
    if fields is None:
        # /proc may hide other users' processes: only "no such process" is proof.
        return not _exists(holder.pid)
    return fields[0] in ("Z", "X") or fields[19] != holder.started


@cache
def _machine() -> str:
    # A host name alone is not enough: two containers may share one, or one machine's pids may
    # be seen from several pid namespaces; the boot id and the namespace tell them apart.
    boot = _read(_PROC / "sys/kernel/random/boot_id").strip()
    try:
        namespace = str(os.stat(_PROC / "self/ns/pid").st_ino)
    except OSError:
        namespace = ""
    return f"{socket.gethostname()} {boot} {namespace}".strip()


def _started(pid: int) -> str | None:
    """The process's start time, or None when it cannot be read or the process has ended."""
    fields = _stat(pid)
    if fields is None or fields[0] in ("Z", "X"):
        return None
    return fields[19]


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (state first, start time 20th)."""
    stat = _read(_PROC / str(pid) / "stat")
    # The command name in parentheses may hold spaces: the fields follow its last ")".
    fields = stat.rsplit(")", 1)[-1].split()
    return fields if len(fields) >= 20 else None


def _exists(pid: int) -> bool:
    """Whether a process of that id exists, ours or another user's (signal 0 sends nothing).

    Reached only where /proc gave a start time (Linux): on Windows, signal 0 would end it."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""
