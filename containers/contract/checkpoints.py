"""Epoch checkpoints in ``SM_CHECKPOINT_DIR`` (torch files): written atomically, the newest readable one restored.

The runner copies the checkpoint directory out while the job runs, at a stop and at a spot
interruption, and restores it into the next job of the lineage. A copy can be taken at any
moment, so each file is written under a temporary name, fsynced and renamed (atomic on POSIX),
and restore skips anything that does not load: a stray temporary file or a damaged newest
checkpoint costs an epoch, never the job. Every built-in that trains checkpoints this way; each
names its files with its own prefix (``epoch-000003.pt``, ``checkpoint-000003.pt``).
https://docs.aws.amazon.com/sagemaker/latest/dg/model-checkpoints.html
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

#: the image classifier's file names (``epoch-000003.pt``); another built-in passes its own prefix
PREFIX = "epoch-"

#: Checkpoints kept in the directory: the newest plus one in case the newest is damaged.
KEEP = 2


@dataclass(frozen=True)
class Restored:
    """A checkpoint that loaded: its epoch, its contents and the file it came from."""

    epoch: int
    state: dict[str, Any]
    path: Path


def checkpoint_name(epoch: int, prefix: str = PREFIX) -> str:
    return f"{prefix}{epoch:06d}.pt"


def checkpoint_epochs(directory: Path, prefix: str = PREFIX) -> list[tuple[int, Path]]:
    """The checkpoint files in ``directory``, newest first (temporary files excluded)."""
    if not directory.is_dir():
        return []
    name = re.compile(rf"^{re.escape(prefix)}(\d{{6}})\.pt$")
    found = [(int(match.group(1)), path) for path in directory.iterdir()
             if path.is_file() and (match := name.match(path.name))]
    return sorted(found, reverse=True)


def save_checkpoint(directory: Path, epoch: int, state: dict[str, Any], keep: int = KEEP,
                    prefix: str = PREFIX) -> Path:
    """Write ``state`` as the checkpoint of ``epoch`` (temp file, fsync, rename, directory fsync), then prune
    all but the ``keep`` newest."""
    directory.mkdir(parents=True, exist_ok=True)
    final = directory / checkpoint_name(epoch, prefix)
    temporary = directory / f".{final.name}.tmp"
    with open(temporary, "wb") as handle:
        torch.save({**state, "epoch": epoch}, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, final)
    _fsync_directory(directory)  # the rename itself survives a crash
    for _, old in checkpoint_epochs(directory, prefix)[keep:]:
        old.unlink(missing_ok=True)
    return final


def _fsync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def restore_newest(directory: Path, prefix: str = PREFIX) -> tuple[Restored | None, list[str]]:
    """The newest checkpoint that loads, and a note for each newer one that did not.

    Loaded with ``weights_only=True``: a checkpoint may come from an S3 prefix anyone could
    write to, and unpickling arbitrary objects would run their code.
    """
    skipped: list[str] = []
    for epoch, path in checkpoint_epochs(directory, prefix):
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as error:  # any damage (truncation, foreign pickle) makes this one unusable
            skipped.append(f"{path.name}: {type(error).__name__}: {error}")
            continue
        if not isinstance(state, dict) or state.get("epoch") != epoch:
            skipped.append(f"{path.name}: not a checkpoint of epoch {epoch}")
            continue
        return Restored(epoch, state, path), skipped
    return None, skipped
