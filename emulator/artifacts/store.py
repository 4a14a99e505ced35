"""The local artifact store: every job's checkpoint sets and model artifacts, indexed, kept safe.

Layout under the store's root::

    index.sqlite3                      one row per stored item (job, kind, time, size, checksum)
    <job>/checkpoints/<set-id>/...     one directory per checkpoint set, files as the job wrote them
    <job>/model/model.tar.gz           the job's model artifact

A checkpoint set is written into a temporary directory, every file fsynced, then renamed into
place and only then indexed: a reader (``list``, ``restore``) sees whole sets or nothing, and a
set that was reported stored survives a killed control plane. On open, temporary and
unindexed directories (a crash mid-copy) are removed. Retention keeps the newest
``keep_last`` sets per lineage (the ``CheckpointConfig.S3Uri`` jobs share, else the job name).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import threading
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, BinaryIO

from emulator.safepath import SkipReporter, fresh_target, tree_files

_SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    item_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,            -- 'checkpoint' or 'model'
    job TEXT NOT NULL,
    lineage TEXT NOT NULL,
    created REAL NOT NULL,
    size INTEGER NOT NULL,
    file_count INTEGER NOT NULL,
    checksum TEXT NOT NULL,        -- sha256 of the manifest (checkpoints) or of the file (models)
    manifest TEXT NOT NULL,        -- JSON: [[relative path, size, sha256], ...]
    path TEXT NOT NULL             -- relative to the store root
)
"""
_CHUNK = 1 << 20
_TEMP_PREFIX = ".tmp-"


@dataclass(frozen=True)
class StoredItem:
    """One checkpoint set or model artifact in the index."""

    item_id: str
    kind: str
    job: str
    lineage: str
    created: float
    size: int
    file_count: int
    checksum: str
    path: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class ArtifactStore:
    """Checkpoints and model artifacts on local disk.

    Args:
        root: the store's directory (created).
        keep_last: checkpoint sets kept per lineage; older ones are deleted.
    """

    def __init__(self, root: Path, keep_last: int = 5) -> None:
        if keep_last < 1:
            raise ValueError(f"ArtifactStore keep_last must be at least 1, got {keep_last}")
        self.root = root
        self.keep_last = keep_last
        root.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(root / "index.sqlite3"), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(_SCHEMA)
        self._sweep()

    # -- checkpoints --------------------------------------------------------------
    def put_checkpoint(self, job: str, lineage: str, source: Path, within: Path | None = None,
                       on_skip: SkipReporter | None = None) -> StoredItem | None:
        """Copy ``source`` (a job's checkpoint directory) in as a new set.

        Only its regular files are copied, read without following any symlink
        (:func:`~emulator.safepath.tree_files`; ``within`` and ``on_skip`` are passed on).

        Returns:
            The stored set, or ``None`` when ``source`` holds no files or is unchanged since the
            lineage's newest set (nothing new to keep).
        """
        set_id = f"{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{uuid.uuid4().hex[:8]}"
        final = self.root / job / "checkpoints" / set_id
        temporary = final.parent / (_TEMP_PREFIX + set_id)
        temporary.mkdir(parents=True)
        try:
            manifest = [_copy_file(entry.reader, temporary / entry.relative, entry.relative)  # type: ignore[arg-type]
                        for entry in tree_files(source, within, on_skip)]
            if not manifest:
                shutil.rmtree(temporary)
                return None
            checksum = _manifest_checksum(manifest)
            newest = self.latest_checkpoint(lineage)
            if newest is not None and newest.checksum == checksum:
                shutil.rmtree(temporary)
                return None
            _fsync_directory(temporary)
            os.rename(temporary, final)
            _fsync_directory(final.parent)
        except BaseException:
            shutil.rmtree(temporary, ignore_errors=True)
            raise
        item = StoredItem(
            item_id=f"{job}/checkpoints/{set_id}", kind="checkpoint", job=job, lineage=lineage,
            created=time.time(), size=sum(entry[1] for entry in manifest), file_count=len(manifest),
            checksum=checksum, path=str(final.relative_to(self.root)),
        )
        self._insert(item, manifest)
        self._retain(lineage)
        return item

    def latest_checkpoint(self, lineage: str) -> StoredItem | None:
        rows = self._select("kind = 'checkpoint' AND lineage = ? ORDER BY created DESC LIMIT 1", (lineage,))
        return rows[0] if rows else None

    def restore(self, item: StoredItem, destination: Path) -> int:
        """Copy a checkpoint set's files into ``destination``; returns the file count."""
        source = self.root / item.path
        count = 0
        for relative, _, _ in self.manifest(item):
            target = fresh_target(destination, relative)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source / relative, target)
            count += 1
        return count

    # -- models ---------------------------------------------------------------------
    def put_model(self, job: str, archive: Path) -> StoredItem:
        """Keep a copy of a job's ``model.tar.gz`` (replacing an earlier one)."""
        final = self.root / job / "model" / "model.tar.gz"
        final.parent.mkdir(parents=True, exist_ok=True)
        temporary = final.with_name(_TEMP_PREFIX + uuid.uuid4().hex[:8])
        with open(archive, "rb") as reader:
            entry = _copy_file(reader, temporary, "model.tar.gz")
        os.replace(temporary, final)
        _fsync_directory(final.parent)
        item = StoredItem(
            item_id=f"{job}/model", kind="model", job=job, lineage=job, created=time.time(), size=entry[1],
            file_count=1, checksum=entry[2], path=str(final.relative_to(self.root)),
        )
        self._insert(item, [entry])
        return item

    # -- reading ----------------------------------------------------------------------
    def list(self, job: str | None = None) -> list[StoredItem]:
        if job is None:
            return self._select("1 = 1 ORDER BY job, created", ())
        return self._select("job = ? ORDER BY created", (job,))

    def get(self, item_id: str) -> StoredItem | None:
        rows = self._select("item_id = ?", (item_id,))
        return rows[0] if rows else None

    def manifest(self, item: StoredItem) -> list[tuple[str, int, str]]:
        with self._lock:
            row = self._db.execute("SELECT manifest FROM items WHERE item_id = ?", (item.item_id,)).fetchone()
        return [tuple(entry) for entry in json.loads(row[0])] if row else []  # type: ignore[misc]

    def verify(self, item: StoredItem) -> bool:
        """Whether every file of the item is on disk with its recorded checksum."""
        base = self.root / item.path
        for relative, size, digest in self.manifest(item):
            path = base if item.kind == "model" else base / relative
            if not path.is_file() or path.stat().st_size != size or _sha256(path) != digest:
                return False
        return True

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- internals -------------------------------------------------------------------
    def _insert(self, item: StoredItem, manifest: list[tuple[str, int, str]]) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO items VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (item.item_id, item.kind, item.job, item.lineage, item.created, item.size, item.file_count,
                 item.checksum, json.dumps(manifest), item.path),
            )

    def _select(self, where: str, params: tuple[Any, ...]) -> list[StoredItem]:
        columns = "item_id, kind, job, lineage, created, size, file_count, checksum, path"
        with self._lock:
            rows = self._db.execute(f"SELECT {columns} FROM items WHERE {where}", params).fetchall()
        return [StoredItem(*row) for row in rows]

    def _retain(self, lineage: str) -> None:
        stale = self._select("kind = 'checkpoint' AND lineage = ? ORDER BY created DESC LIMIT -1 OFFSET ?",
                             (lineage, self.keep_last))
        for item in stale:
            with self._lock:
                self._db.execute("DELETE FROM items WHERE item_id = ?", (item.item_id,))
            shutil.rmtree(self.root / item.path, ignore_errors=True)

    def _sweep(self) -> None:
        """Remove what a crash left half-written: temporary and unindexed checkpoint directories."""
        indexed = {item.path for item in self._select("kind = 'checkpoint'", ())}
        for directory in self.root.glob("*/checkpoints/*"):
            relative = str(directory.relative_to(self.root))
            if directory.name.startswith(_TEMP_PREFIX) or relative not in indexed:
                shutil.rmtree(directory, ignore_errors=True)
        for leftover in self.root.glob(f"*/model/{_TEMP_PREFIX}*"):
            leftover.unlink(missing_ok=True)


def _copy_file(reader: BinaryIO, target: Path, relative: str) -> tuple[str, int, str]:
    """Copy an open file with a running sha256, fsync the copy; returns (relative, size, sha256)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    with open(target, "wb") as writer:
        while chunk := reader.read(_CHUNK):
            digest.update(chunk)
            writer.write(chunk)
            size += len(chunk)
        writer.flush()
        os.fsync(writer.fileno())
    return relative, size, digest.hexdigest()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as reader:
        while chunk := reader.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _manifest_checksum(manifest: list[tuple[str, int, str]]) -> str:
    return hashlib.sha256(json.dumps(manifest, separators=(",", ":")).encode()).hexdigest()


def _fsync_directory(path: Path) -> None:
    descriptor = os.open(str(path), os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
