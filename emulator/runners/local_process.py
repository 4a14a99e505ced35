"""What every local process mlharbor starts shares, jobs and serve processes alike.

Each runs in its own session (so its whole group can be signalled), dies with the control
plane (``PR_SET_PDEATHSIG``), inherits the server's environment minus the user's own AWS
session, and is recognised after a restart by a variable in its ``/proc/<pid>/environ``.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
from collections.abc import Callable, Mapping
from typing import IO

import psutil

#: variables of the server's own environment a job or serve process must not inherit
PRIVATE_ENV = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")


def without_private(environ: Mapping[str, str]) -> dict[str, str]:
    """``environ`` minus what a child must not inherit (the user's own AWS session)."""
    return {key: value for key, value in environ.items() if key not in PRIVATE_ENV}


def die_with_parent() -> None:
    """In the child before exec: get SIGKILL when the thread that started it goes away."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def signal_group(pgid: int, signum: int) -> None:
    """Signal a whole process group; one that is gone already is no error."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


def environ_value(pid: int, name: str) -> str | None:
    """The variable ``name`` in a running process's environment (``None``: no such process or variable)."""
    try:
        return psutil.Process(pid).environ().get(name)
    except psutil.Error:
        return None


def pump_lines(stream: IO[bytes] | None, on_line: Callable[[str], None]) -> None:
    """Hand each line a child writes to ``on_line`` (without its newline) until the stream ends."""
    if stream is None:
        return
    for raw in iter(stream.readline, b""):
        on_line(raw.decode(errors="replace").rstrip("\n"))
