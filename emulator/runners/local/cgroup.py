"""A memory limit for one host of a process-runner job: a cgroup holding its instance type's memory.

SageMaker gives a container its instance type's memory and no more; the Docker runner asks the
engine for that, the process runner asks the kernel. Each host's process joins a fresh cgroup
(cgroup v2 ``memory.max``, else the cgroup v1 memory controller's ``memory.limit_in_bytes``)
before it runs the job's command, so the job and every process it starts count against the
limit and the kernel's OOM killer ends the job that exceeds it, not the machine. The cgroup
also lists every process of the host, however detached, so ending the job ends them all.
Where neither hierarchy can be written (no root, a read-only ``/sys/fs/cgroup``, no memory
controller) :func:`create` says why, and the runner puts that sentence in the job's log.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
SELF_CGROUP = Path("/proc/self/cgroup")
_PREFIX = "mlharbor-"
#: an empty cgroup of ours older than this is a dead control plane's leftover (a live one holds its job)
_LEFTOVER_AGE_SECONDS = 120


class CgroupUnavailable(Exception):
    """No memory cgroup can be made here; the message says why."""


@dataclass(frozen=True)
class MemoryCgroup:
    """One host's cgroup.

    Args:
        path: its directory.
        version: 1 (the v1 memory controller) or 2 (the unified hierarchy).
        limit_bytes: the memory limit written into it.
    """

    path: Path
    version: int
    limit_bytes: int

    @property
    def description(self) -> str:
        return "cgroup v2 memory.max" if self.version == 2 else "cgroup v1 memory controller"

    def join(self) -> None:
        """Move the calling process in (run in the child before exec: what it starts is counted too)."""
        descriptor = os.open(self.path / "cgroup.procs", os.O_WRONLY)
        try:
            os.write(descriptor, str(os.getpid()).encode())
        finally:
            os.close(descriptor)

    def members(self) -> list[int]:
        try:
            return [int(line) for line in (self.path / "cgroup.procs").read_text().split()]
        except (OSError, ValueError):
            return []

    def kill(self, rounds: int = 20) -> None:
        """SIGKILL every process in the cgroup (``cgroup.kill`` where the kernel has it)."""
        kill_file = self.path / "cgroup.kill"
        if self.version == 2 and kill_file.exists():
            with contextlib.suppress(OSError):
                kill_file.write_text("1")
        for _ in range(rounds):
            members = self.members()
            if not members:
                return
            for pid in members:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.05)

    def remove(self) -> None:
        """End what is left in it and remove it (a cgroup with processes cannot be removed)."""
        self.kill()
        for _ in range(20):
            try:
                self.path.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError:
                time.sleep(0.05)  # the last members are still exiting


def create(name: str, limit_bytes: int, root: Path | None = None, self_cgroup: Path | None = None) -> MemoryCgroup:
    """A new cgroup ``mlharbor-<name>`` limited to ``limit_bytes``, beside or below this process's own.

    ``root`` and ``self_cgroup`` default to this machine's ``/sys/fs/cgroup`` and ``/proc/self/cgroup``.

    Raises:
        CgroupUnavailable: neither a v2 memory controller nor a writable v1 memory hierarchy.
    """
    memberships = _memberships(self_cgroup or SELF_CGROUP)
    reasons = []
    for attempt in (_create_v2, _create_v1):
        try:
            return attempt(name, limit_bytes, root or CGROUP_ROOT, memberships)
        except CgroupUnavailable as error:
            reasons.append(str(error))
    raise CgroupUnavailable("; ".join(reasons))


def from_record(path: str, version: int) -> MemoryCgroup | None:
    """The cgroup a pid file names, if it is one of ours (a restarted control plane removes it)."""
    candidate = Path(path)
    if not candidate.name.startswith(_PREFIX) or not candidate.is_dir():
        return None
    return MemoryCgroup(candidate, version, 0)


def _memberships(self_cgroup: Path) -> dict[str, str]:
    """Controller (``""`` for the unified hierarchy) → this process's cgroup path in it."""
    try:
        text = self_cgroup.read_text()
    except OSError:
        return {}
    found: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        for controller in controllers.split(",") if controllers else [""]:
            found[controller] = path
    return found


def _unified_mount(root: Path) -> Path | None:
    for candidate in (root, root / "unified"):
        if (candidate / "cgroup.controllers").exists():
            return candidate
    return None


def _create_v2(name: str, limit_bytes: int, root: Path, memberships: dict[str, str]) -> MemoryCgroup:
    mount = _unified_mount(root)
    if mount is None or "" not in memberships:
        raise CgroupUnavailable("no cgroup v2 hierarchy")
    own = mount / memberships[""].lstrip("/")
    # below our own cgroup when it can delegate memory, else beside it (v2 keeps processes out of
    # a cgroup whose children have controllers, so our own may refuse to enable one)
    for parent in (own, own.parent):
        if not _enable_memory(parent):
            continue
        path = parent / f"{_PREFIX}{name}"
        sweep_leftovers(parent)
        try:
            path.mkdir()
            (path / "memory.max").write_text(str(limit_bytes))
        except OSError as error:
            _discard(path)
            raise CgroupUnavailable(f"cannot make a cgroup v2 memory limit at {path}: {error}") from None
        with contextlib.suppress(OSError):
            (path / "memory.swap.max").write_text("0")  # an instance has no swap
        return MemoryCgroup(path, 2, limit_bytes)
    raise CgroupUnavailable(f"cgroup v2 at {mount} has no memory controller to delegate")


def _enable_memory(parent: Path) -> bool:
    """Whether ``parent``'s children get the memory controller (enabling it where we may)."""
    try:
        if "memory" in (parent / "cgroup.subtree_control").read_text().split():
            return True
        if "memory" not in (parent / "cgroup.controllers").read_text().split():
            return False
        (parent / "cgroup.subtree_control").write_text("+memory")
        return True
    except OSError:
        return False


def _create_v1(name: str, limit_bytes: int, root: Path, memberships: dict[str, str]) -> MemoryCgroup:
    if "memory" not in memberships:
        raise CgroupUnavailable("no cgroup v1 memory controller")
    mount = next((directory for directory in _v1_mounts(root) if "memory" in directory.name.split(",")), None)
    if mount is None:
        raise CgroupUnavailable(f"the cgroup v1 memory controller is not mounted under {root}")
    path = mount / memberships["memory"].lstrip("/") / f"{_PREFIX}{name}"
    sweep_leftovers(path.parent)
    try:
        path.mkdir()
        (path / "memory.limit_in_bytes").write_text(str(limit_bytes))
    except OSError as error:
        _discard(path)
        raise CgroupUnavailable(f"cannot make a cgroup v1 memory limit at {path}: {error}") from None
    with contextlib.suppress(OSError):
        (path / "memory.memsw.limit_in_bytes").write_text(str(limit_bytes))  # an instance has no swap
    return MemoryCgroup(path, 1, limit_bytes)


def sweep_leftovers(parent: Path, now: float | None = None) -> None:
    """Remove our cgroups under ``parent`` that are empty and old: a control plane that died left them.

    Its restart's reap removes those of the jobs it knew; this catches the rest (a data directory
    thrown away). A live job's cgroup is never empty for long, so only old empty ones go.
    """
    now = time.time() if now is None else now
    try:
        entries = [entry for entry in parent.iterdir() if entry.name.startswith(_PREFIX) and entry.is_dir()]
    except OSError:
        return
    for entry in entries:
        with contextlib.suppress(OSError, ValueError):
            if (now - entry.stat().st_mtime > _LEFTOVER_AGE_SECONDS
                    and not (entry / "cgroup.procs").read_text().split()):
                entry.rmdir()


def _v1_mounts(root: Path) -> list[Path]:
    try:
        return [entry for entry in root.iterdir() if entry.is_dir() and (entry / "cgroup.procs").exists()]
    except OSError:
        return []


def _discard(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.rmdir()
