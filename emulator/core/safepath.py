"""Path safety for what a job or a request controls: joining untrusted names, walking a job's tree.

Three rules live here, so every reader and writer of a job's files applies the same ones:

* :func:`safe_join`: an untrusted relative path (S3 key, archive member, channel name) stays under
  its root; :func:`fresh_target` is the same for a file about to be written, replacing a symlink
  that sits where the file goes instead of writing through it.
* :func:`walk_tree` / :func:`open_job_file`: the server reads a job's tree (checkpoints, model,
  outputs) without ever following a symlink the job planted, and without opening anything that
  is not a regular file (a FIFO would hang the reader, a device node would read the host's
  device). Each directory is opened relative to its parent with ``O_NOFOLLOW`` and each file is
  checked on the descriptor it is read from, so swapping a file for a symlink between the check
  and the open gains nothing.
* :func:`container_path`: a path a request names inside the container (``CheckpointConfig.LocalPath``,
  a processing ``LocalPath``) is absolute, normalised and under its root, checked at Create.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

log = logging.getLogger(__name__)

#: how a skipped entry is reported (the job's log, usually): one line saying what and why
SkipReporter = Callable[[str], None]

#: deeper directories are skipped: each level holds a descriptor and a generator frame
MAX_DEPTH = 128
_DIRECTORY_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
#: O_PATH opens nothing (no FIFO wait, no device open); the file is reopened only once it is known regular
_PROBE_FLAGS = getattr(os, "O_PATH", os.O_RDONLY | os.O_NONBLOCK) | os.O_NOFOLLOW | os.O_CLOEXEC


class UnsafePathError(ValueError):
    """A relative path that would land outside its root."""


def safe_join(root: Path, relative: str) -> Path:
    """``root / relative``, guaranteed to stay inside ``root``.

    Raises:
        UnsafePathError: the path is empty, absolute, or climbs out with ``..`` or a symlink.
    """
    target = _lexical_join(root, relative)
    if not target.resolve().is_relative_to(root.resolve()):
        raise UnsafePathError(f"{relative!r} would be written outside {root}")
    return target


def fresh_target(root: Path, relative: str) -> Path:
    """Where a new file ``relative`` goes under ``root``: a symlink already there is removed first.

    What a job left in a tree (a previous attempt's, a restored one) must not redirect a write
    of the server's: the final name is never written through, and every directory above it must
    resolve inside ``root`` (:func:`safe_join`).

    Raises:
        UnsafePathError: as :func:`safe_join`.
    """
    target = _lexical_join(root, relative)
    if target.is_symlink():
        target.unlink()
    return safe_join(root, relative)


def _lexical_join(root: Path, relative: str) -> Path:
    parts = PurePosixPath(relative).parts
    if not parts or relative.startswith("/") or any(part in ("..", "") for part in parts):
        raise UnsafePathError(f"{relative!r} would be written outside {root}")
    return root.joinpath(*parts)


# -- reading a job's tree ---------------------------------------------------------------
@dataclass(frozen=True)
class TreeEntry:
    """One directory or regular file found by :func:`walk_tree`.

    ``reader`` (files only) is open on the very file that was checked, and closes when the walk
    moves on: read it before asking for the next entry.
    """

    relative: str
    is_dir: bool
    size: int
    mode: int
    mtime: float
    reader: BinaryIO | None = None


def walk_tree(root: Path, within: Path | None = None, on_skip: SkipReporter | None = None) -> Iterator[TreeEntry]:
    """Every directory and regular file under ``root``, parents before children, names sorted.

    Symlinks (to files or directories) and special files (FIFOs, sockets, devices) are skipped and
    reported to ``on_skip``; nothing outside ``root`` is ever opened. A missing ``root`` is an empty
    tree.

    Args:
        root: the directory to walk (the job controls everything under ``within``).
        within: the trusted directory ``root`` lies in (the server made it); every component from
            there down to ``root`` must be a real directory. Default: ``root``'s parent.
        on_skip: told about each entry left out (default: this module's logger).
    """
    report = on_skip or _log_skip
    descriptor = _open_directory(root, within or root.parent, report)
    if descriptor is None:
        return
    try:
        yield from _walk(descriptor, "", report, 0)
    finally:
        os.close(descriptor)


def tree_files(root: Path, within: Path | None = None, on_skip: SkipReporter | None = None) -> Iterator[TreeEntry]:
    """The regular files of :func:`walk_tree` (each with its open ``reader``)."""
    return (entry for entry in walk_tree(root, within, on_skip) if not entry.is_dir)


def open_job_file(path: Path, within: Path) -> BinaryIO | None:
    """``path`` (under the trusted ``within``) opened for reading if it is a regular file, else ``None``.

    For single files a job writes for the server to read (``output/failure``): a symlink, a FIFO
    or a directory there reads as "no file".
    """
    directory = _open_directory(path.parent, within, _ignore)
    if directory is None:
        return None
    try:
        return _open_regular(path.name, directory)
    finally:
        os.close(directory)


def _walk(directory: int, prefix: str, report: SkipReporter, depth: int) -> Iterator[TreeEntry]:
    for name in sorted(os.listdir(directory)):
        relative = prefix + name
        try:
            info = os.stat(name, dir_fd=directory, follow_symlinks=False)
        except FileNotFoundError:
            continue  # removed while we walked
        if stat.S_ISDIR(info.st_mode):
            if depth >= MAX_DEPTH:
                report(f"{relative}: skipped, directories nested deeper than {MAX_DEPTH} are not read")
                continue
            try:
                child = os.open(name, _DIRECTORY_FLAGS, dir_fd=directory)
            except OSError as error:  # swapped for a symlink or a file since the stat
                report(f"{relative}: skipped, not a directory any more ({error.strerror})")
                continue
            try:
                yield TreeEntry(relative, True, 0, info.st_mode, info.st_mtime)
                yield from _walk(child, relative + "/", report, depth + 1)
            finally:
                os.close(child)
        elif stat.S_ISREG(info.st_mode):
            reader = _open_regular(name, directory)
            if reader is None:
                report(f"{relative}: skipped, it cannot be opened as a regular file")
                continue
            with reader:
                opened = os.fstat(reader.fileno())
                yield TreeEntry(relative, False, opened.st_size, opened.st_mode, opened.st_mtime, reader)
        else:
            report(f"{relative}: skipped, a {_kind(info.st_mode)} is never followed or read")


def _open_directory(path: Path, within: Path, report: SkipReporter) -> int | None:
    """A descriptor on ``path``, reached from ``within`` without following any symlink; ``None`` if absent."""
    try:
        parts = path.relative_to(within).parts
    except ValueError:
        raise UnsafePathError(f"{path} is not under {within}") from None
    try:
        descriptor = os.open(within, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    for depth, part in enumerate(parts):
        try:
            child = os.open(part, _DIRECTORY_FLAGS, dir_fd=descriptor)
        except FileNotFoundError:
            os.close(descriptor)
            return None
        except OSError as error:  # ELOOP (a symlink) or ENOTDIR (a file, a FIFO…)
            os.close(descriptor)
            report(f"{PurePosixPath(*parts[: depth + 1])}: skipped, not a directory ({error.strerror})")
            return None
        os.close(descriptor)
        descriptor = child
    return descriptor


def _open_regular(name: str, directory: int) -> BinaryIO | None:
    """``name`` in ``directory`` opened for reading if (and only if) it is a regular file."""
    try:
        probe = os.open(name, _PROBE_FLAGS, dir_fd=directory)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(probe).st_mode):
            return None
        if _PROBE_FLAGS & os.O_NONBLOCK:  # no O_PATH: the probe is already a readable descriptor
            os.set_blocking(probe, True)
            reader, probe = os.fdopen(probe, "rb"), -1
            return reader
        # reopen the inode the probe holds (not the name, which may have changed since)
        return open(f"/proc/self/fd/{probe}", "rb")  # noqa: SIM115 - the caller closes it
    except OSError:
        return None
    finally:
        if probe >= 0:
            os.close(probe)


def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "symlink"
    if stat.S_ISFIFO(mode):
        return "FIFO"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device node"
    return "special file"


def _log_skip(message: str) -> None:
    log.warning("job tree: %s", message)


def _ignore(message: str) -> None:
    """Nothing to report: a missing or odd single file simply reads as absent."""


# -- paths a request names inside the container -------------------------------------------
def container_path(value: str, under: str = "/opt/ml", allow_root: bool = False) -> PurePosixPath:
    """``value`` as a container path, checked: absolute, normalised (no ``.``/``..``/empty parts), under ``under``.

    Args:
        value: the path the request names (a trailing ``/`` is allowed).
        under: the directory it must lie in (``/`` for anywhere but ``/`` itself).
        allow_root: whether ``under`` itself is allowed.

    Raises:
        UnsafePathError: with the rule the path breaks (the API's message).
    """
    if not value.startswith("/"):
        raise UnsafePathError(f"{value!r} must be an absolute path")
    parts = value.rstrip("/").split("/")[1:]
    if "\x00" in value or any(part in ("", ".", "..") for part in parts):
        raise UnsafePathError(f"{value!r} must be a normalised path (no '.', '..' or empty parts)")
    path = PurePosixPath(value)
    root = PurePosixPath(under)
    if not path.is_relative_to(root) or (path == root and not allow_root):
        raise UnsafePathError(f"{value!r} must be under {root}" if under != "/" else f"{value!r} is not a directory")
    return path
