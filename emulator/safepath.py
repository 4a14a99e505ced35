"""Joining untrusted relative paths (S3 keys, archive members, channel names) under a root."""

from __future__ import annotations

from pathlib import Path, PurePosixPath


class UnsafePathError(ValueError):
    """A relative path that would land outside its root."""


def safe_join(root: Path, relative: str) -> Path:
    """``root / relative``, guaranteed to stay inside ``root``.

    Raises:
        UnsafePathError: the path is empty, absolute, or climbs out with ``..`` or a symlink.
    """
    parts = PurePosixPath(relative).parts
    if not parts or relative.startswith("/") or any(part in ("..", "") for part in parts):
        raise UnsafePathError(f"{relative!r} would be written outside {root}")
    target = root.joinpath(*parts)
    if not target.resolve().is_relative_to(root.resolve()):
        raise UnsafePathError(f"{relative!r} would be written outside {root}")
    return target
