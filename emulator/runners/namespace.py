"""A private ``/opt/ml`` for a process-runner job, through a mount namespace.

``unshare --mount --propagation private`` gives the job its own mount table; this module's
``__main__`` then bind-mounts the job's tree on ``/opt/ml`` and a hosts file that resolves the
job's host names (``algo-1``…, as SageMaker's cluster DNS does) on ``/etc/hosts``, and execs the
job's command. Scripts that hard-code ``/opt/ml/...`` work without Docker, toolkits that wait
for ``algo-N`` to resolve go on, and concurrent jobs never see each other's trees. Every
argument travels as argv: no shell ever parses a user string.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from pathlib import Path

from emulator.contract import DEFAULT_BASE_DIR


@functools.cache
def namespace_available() -> bool:
    """Whether this machine lets us make mount namespaces (root and ``unshare`` present)."""
    if os.geteuid() != 0 or shutil.which("unshare") is None or shutil.which("mount") is None:
        return False
    try:
        DEFAULT_BASE_DIR.mkdir(parents=True, exist_ok=True)
        probe = subprocess.run(
            ["unshare", "--mount", "--propagation", "private", "mount", "--bind", "/tmp", str(DEFAULT_BASE_DIR)],
            capture_output=True,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


def hosts_file_text(hosts: list[str], current: str = "/etc/hosts") -> str:
    """The machine's hosts file plus a line resolving every job host to loopback."""
    try:
        original = Path(current).read_text()
    except OSError:
        original = "127.0.0.1 localhost\n"
    return original.rstrip("\n") + "\n127.0.0.1 " + " ".join(hosts) + "\n"


def wrap(command: list[str], tree: str, hosts_file: str) -> list[str]:
    """The argv that runs ``command`` with ``tree`` on ``/opt/ml`` and ``hosts_file`` on ``/etc/hosts``."""
    return [
        "unshare", "--mount", "--propagation", "private", "--",
        sys.executable, "-m", "emulator.runners.namespace", tree, hosts_file, "--", *command,
    ]


def _enter(argv: list[str]) -> None:
    """Inside the new namespace: bind the tree and hosts file, then become the job's command."""
    tree, hosts_file, separator, *command = argv
    if separator != "--" or not command:
        raise SystemExit("usage: python -m emulator.runners.namespace TREE HOSTS_FILE -- COMMAND...")
    subprocess.run(["mount", "--bind", tree, str(DEFAULT_BASE_DIR)], check=True)
    subprocess.run(["mount", "--bind", hosts_file, "/etc/hosts"], check=True)
    os.chdir(str(DEFAULT_BASE_DIR))
    os.execvp(command[0], command)


if __name__ == "__main__":
    _enter(sys.argv[1:])
