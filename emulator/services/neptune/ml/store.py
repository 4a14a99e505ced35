"""Neptune ML's records on disk: one SQLite file beside the graph, so jobs and endpoints survive a restart."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from emulator.core.sqlite import open_database
from emulator.services.neptune.ml.records import MlRecord

STORE_FILE = "neptune-ml.sqlite"


class MlStore:
    """Records by (kind, id), listed newest first; every method is safe from any thread."""

    def __init__(self, path: Path) -> None:
        self._db = open_database(path)
        self._lock = threading.Lock()
        self._db.execute("CREATE TABLE IF NOT EXISTS ml_records (kind TEXT NOT NULL, id TEXT NOT NULL, "
                         "created_ms INTEGER NOT NULL, body TEXT NOT NULL, PRIMARY KEY (kind, id))")

    def put(self, record: MlRecord) -> None:
        body = json.dumps(record.to_json())
        with self._lock:
            self._db.execute("INSERT INTO ml_records (kind, id, created_ms, body) VALUES (?, ?, ?, ?) "
                             "ON CONFLICT (kind, id) DO UPDATE SET body = excluded.body",
                             (record.kind, record.id, record.created_ms, body))

    def get(self, kind: str, ml_id: str) -> MlRecord | None:
        with self._lock:
            row = self._db.execute("SELECT body FROM ml_records WHERE kind = ? AND id = ?", (kind, ml_id)).fetchone()
        return MlRecord.from_json(json.loads(row[0])) if row else None

    def delete(self, kind: str, ml_id: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM ml_records WHERE kind = ? AND id = ?", (kind, ml_id))

    def ids(self, kind: str, limit: int) -> list[str]:
        with self._lock:
            rows = self._db.execute("SELECT id FROM ml_records WHERE kind = ? ORDER BY created_ms DESC, rowid DESC "
                                    "LIMIT ?", (kind, limit)).fetchall()
        return [row[0] for row in rows]

    def all(self) -> list[MlRecord]:
        with self._lock:
            rows = self._db.execute("SELECT body FROM ml_records ORDER BY created_ms").fetchall()
        return [MlRecord.from_json(json.loads(row[0])) for row in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()
