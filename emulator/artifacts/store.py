"""The local artifact store: every job's checkpoint sets and model artifacts, indexed, kept safe.

Layout under the store's root::

    index.sqlite3                                          one row per stored item
    <account>/<region>/<job>/checkpoints/<set-id>/...      one directory per checkpoint set
    <account>/<region>/<job>/model/model.tar.gz            the job's model artifact

A training job's name is unique only within its account and region, so both are part of every
key: the directory, the item id (``<account>/<region>/<job>/checkpoints/<set-id>``) and the
lineage a job resumes from. Stores written before that keep their ``<job>/...`` directories and
ids; their rows are read as belonging to the configured account and region.

A checkpoint set is written into a temporary directory, every file fsynced, then renamed into
place and only then indexed: a reader (``list``, ``restore``) sees whole sets or nothing, and a
set that was reported stored survives a killed control plane. On open, temporary and
unindexed directories (a crash mid-copy) are removed. Retention keeps the newest
``keep_last`` sets per lineage (within one account and region: the ``CheckpointConfig.S3Uri``
jobs share, else the job name).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, BinaryIO

from emulator.core.atomic import fsync_directory
from emulator.core.safepath import SkipReporter, fresh_target, tree_files
from emulator.core.sqlite import open_database

_SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    item_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,            -- 'checkpoint' or 'model'
    account TEXT NOT NULL,
    region TEXT NOT NULL,
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
# the columns a store from before accounts and regions lacks, and what its rows get
_SCOPE_COLUMNS = ("account", "region")
_COLUMNS = "item_id, kind, account, region, job, lineage, created, size, file_count, checksum, path"
_CHUNK = 1 << 20
_TEMP_PREFIX = ".tmp-"
# where a crash can leave a half-written set or model: both layouts, legacy ``<job>/...`` and scoped
_SET_GLOBS = ("*/checkpoints/*", "*/*/*/checkpoints/*")
_MODEL_TEMP_GLOBS = (f"*/model/{_TEMP_PREFIX}*", f"*/*/*/model/{_TEMP_PREFIX}*")


@dataclass(frozen=True)
class JobKey:
    """Whose artifacts: a training job, named uniquely within its account and region."""

    account: str
    region: str
    name: str

    @property
    def directory(self) -> str:
        return f"{self.account}/{self.region}/{self.name}"


@dataclass(frozen=True)
class StoredItem:
    """One checkpoint set or model artifact in the index."""

    item_id: str
    kind: str
    account: str
    region: str
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
        legacy_account / legacy_region: whose rows an index from before accounts and regions holds
            (the server's configured account and region).
    """

    def __init__(self, root: Path, keep_last: int = 5, legacy_account: str = "123456789012",
                 legacy_region: str = "us-east-1") -> None:
        if keep_last < 1:
            raise ValueError(f"ArtifactStore keep_last must be at least 1, got {keep_last}")
        self.root = root
        self.keep_last = keep_last
        root.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = open_database(root / "index.sqlite3", synchronous="FULL")
        self._db.execute(_SCHEMA)
        self._add_scope_columns(legacy_account, legacy_region)
        self._sweep()

    # -- checkpoints --------------------------------------------------------------
    def put_checkpoint(self, job: JobKey, lineage: str, source: Path, within: Path | None = None,
                       on_skip: SkipReporter | None = None) -> StoredItem | None:
        """Copy ``source`` (a job's checkpoint directory) in as a new set of ``lineage`` (in ``job``'s account
        and region).

        Only its regular files are copied, read without following any symlink
        (:func:`~emulator.core.safepath.tree_files`; ``within`` and ``on_skip`` are passed on).

        Returns:
            The stored set, or ``None`` when ``source`` holds no files or is unchanged since the
            lineage's newest set (nothing new to keep).
        """
        set_id = f"{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{uuid.uuid4().hex[:8]}"
        final = self.root / job.directory / "checkpoints" / set_id
        temporary = final.parent / (_TEMP_PREFIX + set_id)
        temporary.mkdir(parents=True)
        try:
            manifest = [_copy_file(entry.reader, temporary / entry.relative, entry.relative)  # type: ignore[arg-type]
                        for entry in tree_files(source, within, on_skip)]
            if not manifest:
                shutil.rmtree(temporary)
                return None
            checksum = _manifest_checksum(manifest)
            newest = self.latest_checkpoint(job, lineage)
            if newest is not None and newest.checksum == checksum:
                shutil.rmtree(temporary)
                return None
            fsync_directory(temporary)
            os.rename(temporary, final)
            fsync_directory(final.parent)
        except BaseException:
            shutil.rmtree(temporary, ignore_errors=True)
            raise
        item = StoredItem(
            item_id=f"{job.directory}/checkpoints/{set_id}", kind="checkpoint", account=job.account,
            region=job.region, job=job.name, lineage=lineage, created=time.time(),
            size=sum(entry[1] for entry in manifest), file_count=len(manifest), checksum=checksum,
            path=str(final.relative_to(self.root)),
        )
        self._insert(item, manifest)
        self._retain(job, lineage)
        return item

    def latest_checkpoint(self, job: JobKey, lineage: str) -> StoredItem | None:
        """The newest set of ``lineage`` in ``job``'s account and region."""
        rows = self._select("kind = 'checkpoint' AND account = ? AND region = ? AND lineage = ? "
                            "ORDER BY created DESC LIMIT 1", (job.account, job.region, lineage))
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
    def put_model(self, job: JobKey, archive: Path) -> StoredItem:
        """Keep a copy of a job's ``model.tar.gz`` (replacing an earlier one of the same job)."""
        final = self.root / job.directory / "model" / "model.tar.gz"
        final.parent.mkdir(parents=True, exist_ok=True)
        temporary = final.with_name(_TEMP_PREFIX + uuid.uuid4().hex[:8])
        with open(archive, "rb") as reader:
            entry = _copy_file(reader, temporary, "model.tar.gz")
        os.replace(temporary, final)
        fsync_directory(final.parent)
        item = StoredItem(
            item_id=f"{job.directory}/model", kind="model", account=job.account, region=job.region, job=job.name,
            lineage=job.name, created=time.time(), size=entry[1], file_count=1, checksum=entry[2],
            path=str(final.relative_to(self.root)),
        )
        self._insert(item, [entry])
        return item

    # -- reading ----------------------------------------------------------------------
    def list(self, job: str | None = None, region: str | None = None, account: str | None = None) -> list[StoredItem]:
        """Stored items, optionally only those of a job name, a region, an account."""
        filters = [(column, value) for column, value in (("job", job), ("region", region), ("account", account))
                   if value is not None]
        where = " AND ".join(f"{column} = ?" for column, _ in filters) or "1 = 1"
        return self._select(f"{where} ORDER BY account, region, job, created", tuple(v for _, v in filters))

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
                f"INSERT OR REPLACE INTO items ({_COLUMNS}, manifest) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (item.item_id, item.kind, item.account, item.region, item.job, item.lineage, item.created,
                 item.size, item.file_count, item.checksum, item.path, json.dumps(manifest)),
            )

    def _select(self, where: str, params: tuple[Any, ...]) -> list[StoredItem]:
        with self._lock:
            rows = self._db.execute(f"SELECT {_COLUMNS} FROM items WHERE {where}", params).fetchall()
        return [StoredItem(*row) for row in rows]

    def _add_scope_columns(self, account: str, region: str) -> None:
        """An index from before accounts and regions: add the columns; its rows are the configured ones'."""
        with self._lock:
            present = {row[1] for row in self._db.execute("PRAGMA table_info(items)")}
            missing = [column for column in _SCOPE_COLUMNS if column not in present]
            if not missing:
                return
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for column in missing:
                    self._db.execute(f"ALTER TABLE items ADD COLUMN {column} TEXT NOT NULL DEFAULT ''")
                self._db.execute("UPDATE items SET account = ? WHERE account = ''", (account,))
                self._db.execute("UPDATE items SET region = ? WHERE region = ''", (region,))
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _retain(self, job: JobKey, lineage: str) -> None:
        stale = self._select("kind = 'checkpoint' AND account = ? AND region = ? AND lineage = ? "
                             "ORDER BY created DESC LIMIT -1 OFFSET ?",
                             (job.account, job.region, lineage, self.keep_last))
        for item in stale:
            with self._lock:
                self._db.execute("DELETE FROM items WHERE item_id = ?", (item.item_id,))
            shutil.rmtree(self.root / item.path, ignore_errors=True)

    def _sweep(self) -> None:
        """Remove what a crash left half-written: temporary and unindexed checkpoint directories."""
        indexed = {Path(item.path) for item in self._select("1 = 1", ())}
        # a stored item's own files, and the directories above stored items, are never leftovers
        # (a set may hold a user's ``checkpoints/`` subdirectory that one of the globs also matches)
        protected = indexed | {parent for path in indexed for parent in path.parents}
        for pattern in _SET_GLOBS:
            for directory in self.root.glob(pattern):
                relative = directory.relative_to(self.root)
                if relative in protected or any(parent in indexed for parent in relative.parents):
                    continue
                shutil.rmtree(directory, ignore_errors=True)
        for pattern in _MODEL_TEMP_GLOBS:
            for leftover in self.root.glob(pattern):
                relative = leftover.relative_to(self.root)
                if not any(parent in indexed for parent in relative.parents):
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
