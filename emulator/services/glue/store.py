"""Glue's durable state in one SQLite file: jobs, their runs, bookmarks and connections.

Each is a JSON document keyed by (kind, region, scope, name): a job's scope is empty, a run's is its job's
name, so a job's runs are one indexed query. Every change is written through before the API answers
(WAL mode, :mod:`emulator.core.sqlite`), so a server killed with SIGKILL loses no acknowledged change.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from emulator.core.sqlite import open_database

JOB = "job"
RUN = "run"
BOOKMARK = "bookmark"
CONNECTION = "connection"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    kind TEXT NOT NULL,
    region TEXT NOT NULL,
    scope TEXT NOT NULL,
    name TEXT NOT NULL,
    ordinal REAL NOT NULL,
    document TEXT NOT NULL,
    PRIMARY KEY (kind, region, scope, name)
)
"""


class GlueStore:
    """A thread-safe document store; ``ordinal`` orders a listing (creation time).

    Args:
        path: the SQLite file (created with its directory).
    """

    def __init__(self, path: Path) -> None:
        self._lock = threading.Lock()
        self._db = open_database(path)
        self._db.execute(_SCHEMA)

    def put(self, kind: str, region: str, scope: str, name: str, ordinal: float, document: dict[str, Any]) -> None:
        text = json.dumps(document, separators=(",", ":"))
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO documents VALUES (?, ?, ?, ?, ?, ?)",
                             (kind, region, scope, name, ordinal, text))

    def get(self, kind: str, region: str, scope: str, name: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute("SELECT document FROM documents WHERE kind=? AND region=? AND scope=? AND name=?",
                                   (kind, region, scope, name)).fetchone()
        return None if row is None else json.loads(row[0])

    def list(self, kind: str, region: str | None = None, scope: str | None = None,
             newest_first: bool = False) -> list[dict[str, Any]]:
        """Every document of ``kind`` (in ``region`` and ``scope`` when given), oldest first unless told."""
        where, values = ["kind=?"], [kind]
        if region is not None:
            where.append("region=?")
            values.append(region)
        if scope is not None:
            where.append("scope=?")
            values.append(scope)
        order = "DESC" if newest_first else "ASC"
        with self._lock:
            rows = self._db.execute(f"SELECT document FROM documents WHERE {' AND '.join(where)} "
                                    f"ORDER BY ordinal {order}, name {order}", values).fetchall()
        return [json.loads(text) for (text,) in rows]

    def delete(self, kind: str, region: str, scope: str, name: str | None = None) -> None:
        """Delete one document, or (``name`` None) every document of the scope."""
        with self._lock:
            if name is None:
                self._db.execute("DELETE FROM documents WHERE kind=? AND region=? AND scope=?", (kind, region, scope))
            else:
                self._db.execute("DELETE FROM documents WHERE kind=? AND region=? AND scope=? AND name=?",
                                 (kind, region, scope, name))

    def close(self) -> None:
        with self._lock:
            self._db.close()
