"""Every process of one process-runner job, found and ended, where no PID namespace holds them.

Each job host's process runs in its own session and dies with the control plane, but what it
starts does not: a user script under the toolkit, its children, a ``setsid`` daemon. Without a
PID namespace (see :mod:`emulator.runners.local.namespace`) they are found three ways, each catching
what the others miss: the leader's descendants, scanned while the job runs (a daemon whose
parent died is no one's descendant any more, so it must be seen before); every process whose
environment carries the run's marker variable (what a restarted control plane, which never saw
the descendants, relies on); and the members of the job's cgroup, where there is one.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

import psutil

#: variable set in every job process's environment: which run of which job it belongs to
RUN_MARKER_ENV = "MLHARBOR_RUN_ID"
#: seconds between descendant scans while a job runs
SCAN_SECONDS = 0.5

#: a process as seen once: its pid and when it started (a reused pid starts later)
Sighting = tuple[int, float]


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie has ended for our purpose)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def descendants(pid: int) -> list[Sighting]:
    """Every process below ``pid`` now (empty once it has gone)."""
    try:
        children = psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []
    found = []
    for child in children:
        with contextlib.suppress(psutil.Error):
            found.append((child.pid, child.create_time()))
    return found


def marked(marker: str) -> list[int]:
    """Live processes whose environment has ``RUN_MARKER_ENV=marker``."""
    found = []
    for process in psutil.process_iter():
        try:
            if process.environ().get(RUN_MARKER_ENV) == marker and process.status() != psutil.STATUS_ZOMBIE:
                found.append(process.pid)
        except psutil.Error:
            continue
    return found


def group_members(pgid: int) -> list[int]:
    """Live processes of the process group ``pgid``."""
    found = []
    for process in psutil.process_iter():
        try:
            if process.status() != psutil.STATUS_ZOMBIE and _pgid(process.pid) == pgid:
                found.append(process.pid)
        except psutil.Error:
            continue
    return found


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except OSError:
        return None


def kill_sightings(sightings: Iterable[Sighting]) -> None:
    """SIGKILL each process still running as the one that was seen (never a reused pid)."""
    for pid, started in sightings:
        with contextlib.suppress(psutil.Error):
            process = psutil.Process(pid)
            if process.create_time() == started:
                process.send_signal(signal.SIGKILL)


def kill_pids(pids: Iterable[int]) -> None:
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            psutil.Process(pid).send_signal(signal.SIGKILL)


@dataclass
class DescendantWatch:
    """Scans the descendants of a job's host processes while it runs, so none is lost to ``setsid``.

    Args:
        leaders: the host processes' pids.
        marker: the run's marker (``RUN_MARKER_ENV``).
    """

    leaders: list[int]
    marker: str
    seen: dict[int, float] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, daemon=True, name=f"watch-{self.marker}")
        self._thread.start()

    def scan(self) -> None:
        for leader in self.leaders:
            self.seen.update(descendants(leader))

    def _loop(self) -> None:
        self.scan()
        while not self._stop.wait(SCAN_SECONDS):
            self.scan()

    def kill_all(self) -> None:
        """End every process of the run: those seen below a leader and those carrying its marker."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.scan()
        kill_sightings(self.seen.items())
        kill_marked(self.marker)


def kill_marked(marker: str, rounds: int = 3) -> None:
    """SIGKILL every process carrying ``marker``, again while any forked one in the meantime."""
    for _ in range(rounds):
        pids = marked(marker)
        if not pids:
            return
        kill_pids(pids)
