"""Durable job records in SQLite under the data dir.

Every change to a record is written through before the API answers, in WAL mode, so a
control plane killed with SIGKILL loses no acknowledged change. Records are stored as
JSON documents keyed by (kind, region, name); the few columns beside the document are
what listing needs.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from emulator.core.sqlite import open_database

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    kind TEXT NOT NULL,
    region TEXT NOT NULL,
    name TEXT NOT NULL,
    document TEXT NOT NULL,
    PRIMARY KEY (kind, region, name)
)
"""


class RecordStore:
    """A small thread-safe document store.

    Args:
        path: the SQLite file (created with its parent directory).
    """

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = open_database(path)
        self._db.execute(_SCHEMA)

    def put(self, kind: str, region: str, name: str, document: dict[str, Any]) -> None:
        text = json.dumps(document, separators=(",", ":"))
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO records (kind, region, name, document) VALUES (?, ?, ?, ?)",
                (kind, region, name, text),
            )

    def load(self, kind: str) -> Iterator[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute("SELECT document FROM records WHERE kind = ?", (kind,)).fetchall()
        for (text,) in rows:
            yield json.loads(text)

    def delete(self, kind: str, region: str, name: str) -> None:
        with self._lock:
            self._db.execute(
                "DELETE FROM records WHERE kind = ? AND region = ? AND name = ?", (kind, region, name)
            )

    def close(self) -> None:
        with self._lock:
            self._db.close()
