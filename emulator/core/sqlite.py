"""The one way mlharbor opens a SQLite file: shared across threads, autocommit, write-ahead log.

Every store (job records, artifacts index, logs and metrics, the graph) keeps its state in one
SQLite file and serialises writers itself, so the connection is shared across threads and each
store opens explicit transactions where it needs them (``isolation_level=None``). In WAL mode,
``synchronous=NORMAL`` survives a process crash (not a power cut), the promise of every store but
the artifact index, whose rows must not outlive the files they name: it asks for ``FULL``.
https://www.sqlite.org/wal.html, https://www.sqlite.org/pragma.html#pragma_synchronous
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Literal


def open_database(path: Path, synchronous: Literal["NORMAL", "FULL"] = "NORMAL") -> sqlite3.Connection:
    """A connection to ``path`` (its directory made if missing) in WAL mode, for use from any thread."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute(f"PRAGMA synchronous={synchronous}")
    return db
