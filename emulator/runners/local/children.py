"""What every local process mlharbor starts shares, jobs and serve processes alike.

Each runs in its own session (so its whole group can be signalled), dies with the control
plane (``PR_SET_PDEATHSIG``), inherits the server's environment minus the user's own AWS
session (:func:`emulator.runners.environment.without_private`), and is recognised after a
restart by a variable in its ``/proc/<pid>/environ``. Its output is cut into lines by
:mod:`emulator.runners.lines`.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal

import psutil


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
