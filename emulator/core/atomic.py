"""The one atomic file write: a reader (or a crash) sees the old file or the new one, never half of one.

The bytes go to ``<name>.tmp`` beside the file, are fsynced, renamed over it (atomic on POSIX) and
the directory is fsynced, so the rename itself survives a crash. Used for every small state file
the server writes for later (server info, pid and container records, the S3 journal); the
artifact store streams larger files its own way but fsyncs directories with :func:`fsync_directory`.
"""

from __future__ import annotations

import os
from pathlib import Path

#: what a temporary file's name ends with (a glob for ``*.json`` never sees one)
TEMPORARY_SUFFIX = ".tmp"


def write_atomic(path: Path, data: bytes | str) -> None:
    """Replace ``path`` with ``data`` (text is written as UTF-8), making its directory if missing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + TEMPORARY_SUFFIX)
    with open(temporary, "wb") as handle:
        handle.write(data.encode() if isinstance(data, str) else data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    fsync_directory(path.parent)


def fsync_directory(path: Path) -> None:
    """Make a rename or a new entry in ``path`` durable."""
    descriptor = os.open(str(path), os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
