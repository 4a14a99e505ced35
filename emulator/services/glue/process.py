"""One run's process: started in its own session, its output handed on line by line, waited for until it
exits, its deadline passes or a stop is asked for; then its whole process group is ended.

A ``glueetl`` run is ``spark-submit`` (a JVM) with the Python driver as its child: only the group, not the
leader alone, ends all of it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO

import psutil

from emulator.runners.lines import LineSplitter
from emulator.runners.local.children import die_with_parent, signal_group
from emulator.services.glue.launch import LaunchPlan

EXITED, TIMED_OUT, STOP_ASKED = "exited", "timed-out", "stop-asked"
#: stderr lines kept for an ErrorMessage when the driver left no error file
_KEPT_STDERR_LINES = 20
_POLL_SECONDS = 0.2

LineSink = Callable[[str, str], None]  # (stream "stdout" | "stderr", line)


@dataclass(frozen=True)
class Ending:
    """How a run's process ended."""

    reason: str
    exit_code: int | None
    seconds: float
    last_stderr: list[str]


class RunProcess:
    """A started run process.

    Args:
        plan: what to start.
        base_env: the environment it inherits (the plan's additions go over it).
        on_line: gets every output line, tagged with its stream.
    """

    def __init__(self, plan: LaunchPlan, base_env: dict[str, str], on_line: LineSink) -> None:
        self.started = time.monotonic()
        self._stderr_tail: deque[str] = deque(maxlen=_KEPT_STDERR_LINES)
        self._on_line = on_line
        self.process = subprocess.Popen(
            plan.argv, cwd=plan.cwd, env={**base_env, **plan.env}, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True, preexec_fn=die_with_parent,
        )
        self.pid = self.process.pid
        self._pumps = [threading.Thread(target=self._pump, args=(stream, name), daemon=True, name=f"glue-{name}")
                       for stream, name in ((self.process.stdout, "stdout"), (self.process.stderr, "stderr"))]
        for pump in self._pumps:
            pump.start()

    def wait(self, deadline: float, stop: threading.Event, grace_seconds: float) -> Ending:
        """Block until the process exits, ``deadline`` (``time.time()``) passes or ``stop`` is set."""
        reason = EXITED
        while self.process.poll() is None:
            if stop.is_set():
                reason = STOP_ASKED
                break
            if time.time() >= deadline:
                reason = TIMED_OUT
                break
            time.sleep(_POLL_SECONDS)
        if reason != EXITED:
            self.end(grace_seconds)
        code = self.process.wait()
        signal_group(self.pid, signal.SIGKILL)  # what the leader left behind in its group
        for pump in self._pumps:
            pump.join(5)
        return Ending(reason, code, time.monotonic() - self.started, list(self._stderr_tail))

    def end(self, grace_seconds: float) -> None:
        """SIGTERM to the group, SIGKILL after ``grace_seconds``."""
        signal_group(self.pid, signal.SIGTERM)
        try:
            self.process.wait(grace_seconds)
        except subprocess.TimeoutExpired:
            signal_group(self.pid, signal.SIGKILL)

    def _pump(self, stream: IO[bytes] | None, name: str) -> None:
        if stream is None:
            return
        splitter = LineSplitter()
        with stream:
            for chunk in iter(lambda: os.read(stream.fileno(), 64 * 1024), b""):
                for line in splitter.feed(chunk):
                    self._hand_on(name, line)
        for line in splitter.close():
            self._hand_on(name, line)

    def _hand_on(self, name: str, line: str) -> None:
        if name == "stderr" and line.strip():
            self._stderr_tail.append(line)
        self._on_line(name, line)


def end_leftovers(name: str, value: str) -> int:
    """SIGKILL every process of this user whose environment has ``name=value``; how many there were."""
    ended = 0
    for process in psutil.process_iter(["pid"]):
        with contextlib.suppress(psutil.Error):
            if process.pid != os.getpid() and process.environ().get(name) == value:
                process.kill()
                ended += 1
    return ended
