"""A private ``/opt/ml`` and a private PID space for a process-runner job, through namespaces.

``unshare --mount --propagation private`` gives the job its own mount table; this module's
``__main__`` then bind-mounts the job's tree on ``/opt/ml`` and a hosts file that resolves the
job's host names (``algo-1``…, as SageMaker's cluster DNS does) on ``/etc/hosts``. Scripts that
hard-code ``/opt/ml/...`` work without Docker, toolkits that wait for ``algo-N`` to resolve go on,
and concurrent jobs never see each other's trees.

Where the machine also makes PID namespaces, ``--pid --fork --kill-child --mount-proc`` puts the
job in its own one, and this module is its init (pid 1): it starts the job's command, reaps
orphans, and exits with the command's status. When the init ends, for whatever reason, the kernel
kills every process left in the namespace, ``setsid`` daemons included; ``--kill-child`` ends the
init when ``unshare`` dies, and ``unshare`` itself dies with the control plane
(``PR_SET_PDEATHSIG``). So no process of a job outlives its job or its control plane. ``/proc``
is remounted inside, so the job sees its own pids. Every argument travels as argv: no shell
ever parses a user string.
"""

from __future__ import annotations

import functools
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from containers.contract import DEFAULT_BASE_DIR

#: ``unshare`` flags of a job's own PID namespace (see the module docstring)
PID_NAMESPACE_FLAGS = ("--pid", "--fork", "--kill-child", "--mount-proc")
#: exit status of a command that could not be executed at all (as a shell reports it)
_CANNOT_EXEC = 127


def _probe(argv: list[str]) -> bool:
    try:
        return subprocess.run(argv, capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@functools.cache
def namespace_available() -> bool:
    """Whether this machine lets us make mount namespaces (root and ``unshare`` present)."""
    if os.geteuid() != 0 or shutil.which("unshare") is None or shutil.which("mount") is None:
        return False
    try:
        DEFAULT_BASE_DIR.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return _probe(["unshare", "--mount", "--propagation", "private", "mount", "--bind", "/tmp",
                   str(DEFAULT_BASE_DIR)])


@functools.cache
def pid_namespace_available() -> bool:
    """Whether this machine also makes PID namespaces with their own ``/proc`` (checked once)."""
    return namespace_available() and _probe(["unshare", "--mount", "--propagation", "private",
                                             *PID_NAMESPACE_FLAGS, "true"])


def hosts_file_text(hosts: list[str], current: str = "/etc/hosts") -> str:
    """The machine's hosts file plus a line resolving every job host to loopback."""
    try:
        original = Path(current).read_text()
    except OSError:
        original = "127.0.0.1 localhost\n"
    return original.rstrip("\n") + "\n127.0.0.1 " + " ".join(hosts) + "\n"


def wrap(command: list[str], tree: str, hosts_file: str, own_pids: bool = False) -> list[str]:
    """The argv that runs ``command`` with ``tree`` on ``/opt/ml`` and ``hosts_file`` on ``/etc/hosts``.

    ``own_pids``: in a PID namespace of its own, whose every process ends with the command.
    """
    pid_flags = list(PID_NAMESPACE_FLAGS) if own_pids else []
    return [
        "unshare", "--mount", "--propagation", "private", *pid_flags, "--",
        sys.executable, "-m", "emulator.runners.local.namespace", tree, hosts_file, "--", *command,
    ]


def exit_status(wait_status: int) -> int:
    """A child's wait status as a shell's exit code: its own code, or 128 + the signal that ended it."""
    if os.WIFSIGNALED(wait_status):
        return 128 + os.WTERMSIG(wait_status)
    return os.waitstatus_to_exitcode(wait_status)


def run_as_init(command: list[str]) -> int:
    """Start ``command`` and reap every child until it ends; returns its exit status.

    As pid 1 of its namespace this process ignores every signal it has no handler for (the
    kernel's rule for an init). Its one handler is SIGTERM's, which a stop sends to the whole
    process group: from then on it waits for every process of the namespace, not only the
    command, so a toolkit that exits at once on SIGTERM does not cut short the user script
    saving its last checkpoint in the grace period (the runner's SIGKILL ends the wait).
    """
    stopping = False

    def on_stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, on_stop)
    child = os.fork()
    if child == 0:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        try:
            os.execvp(command[0], command)
        except OSError as error:
            os.write(2, f"cannot run {command[0]}: {error}\n".encode())
        os._exit(_CANNOT_EXEC)
    status: int | None = None
    while True:
        try:
            pid, wait_status = os.wait()
        except ChildProcessError:
            return _CANNOT_EXEC if status is None else status  # the namespace is empty
        if pid == child:
            status = exit_status(wait_status)
        if status is not None and not stopping:
            return status


def _enter(argv: list[str]) -> None:
    """Inside the new namespace: bind the tree and hosts file, then run the job's command."""
    tree, hosts_file, separator, *command = argv
    if separator != "--" or not command:
        raise SystemExit("usage: python -m emulator.runners.local.namespace TREE HOSTS_FILE -- COMMAND...")
    subprocess.run(["mount", "--bind", tree, str(DEFAULT_BASE_DIR)], check=True)
    subprocess.run(["mount", "--bind", hosts_file, "/etc/hosts"], check=True)
    os.chdir(str(DEFAULT_BASE_DIR))
    if os.getpid() != 1:
        os.execvp(command[0], command)  # no PID namespace: nothing to reap, become the command
    sys.stdout.flush()
    os._exit(run_as_init(command))


if __name__ == "__main__":
    _enter(sys.argv[1:])
