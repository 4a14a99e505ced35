"""The SQLite file that keeps CloudWatch Logs and CloudWatch metrics across restarts.

moto holds both services in memory; :mod:`emulator.observability.durable_backends` writes
every change through to this store before the API answers and loads it back at start. The
store holds state, not a request log: a deleted log group or stream takes its events with
it, and on open events older than their group's retention and metric points older than
CloudWatch's 15 months are dropped, so the file grows with what CloudWatch would still
hold. WAL mode with ``synchronous=NORMAL`` (as :mod:`emulator.services.sagemaker.store`): a write that
returned survives a killed process.

Rows are keyed by the moto account and region they belong to; the store knows nothing of moto.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emulator.core.sqlite import open_database

_SCHEMA = """
CREATE TABLE IF NOT EXISTS log_groups (
    account TEXT NOT NULL, region TEXT NOT NULL, name TEXT NOT NULL,
    created INTEGER NOT NULL, retention_days INTEGER, kms_key_id TEXT, tags TEXT NOT NULL,
    PRIMARY KEY (account, region, name)
);
CREATE TABLE IF NOT EXISTS log_streams (
    account TEXT NOT NULL, region TEXT NOT NULL, log_group TEXT NOT NULL, name TEXT NOT NULL,
    created INTEGER NOT NULL, stored_bytes INTEGER NOT NULL, sequence_token INTEGER NOT NULL,
    last_ingestion INTEGER,
    PRIMARY KEY (account, region, log_group, name)
);
-- rowid order is the order the events were put in
CREATE TABLE IF NOT EXISTS log_events (
    account TEXT NOT NULL, region TEXT NOT NULL, log_group TEXT NOT NULL, log_stream TEXT NOT NULL,
    timestamp INTEGER NOT NULL, ingestion_time INTEGER NOT NULL, message TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS log_events_by_stream ON log_events (account, region, log_group, log_stream);
CREATE TABLE IF NOT EXISTS metric_data (
    account TEXT NOT NULL, region TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
    dimensions TEXT NOT NULL, timestamp REAL NOT NULL, unit TEXT, value REAL, statistics TEXT
);
CREATE TABLE IF NOT EXISTS alarms (
    account TEXT NOT NULL, region TEXT NOT NULL, name TEXT NOT NULL, definition TEXT NOT NULL,
    PRIMARY KEY (account, region, name)
);
"""
# CloudWatch keeps hourly data points for 455 days; nothing older can be read back there.
METRIC_RETENTION_SECONDS = 455 * 86400


@dataclass(frozen=True)
class Scope:
    """The moto account and region a row belongs to."""

    account: str
    region: str


@dataclass(frozen=True)
class LogGroupRow:
    scope: Scope
    name: str
    created: int  # epoch milliseconds
    retention_days: int | None = None
    kms_key_id: str | None = None
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class LogStreamRow:
    scope: Scope
    log_group: str
    name: str
    created: int  # epoch milliseconds
    stored_bytes: int = 0
    sequence_token: int = 0
    last_ingestion: int | None = None


@dataclass(frozen=True)
class LogEventRow:
    timestamp: int  # epoch milliseconds, as the client sent it
    ingestion_time: int  # epoch milliseconds, when it was first put
    message: str


@dataclass(frozen=True)
class MetricRow:
    """One data point: a single ``value`` or a ``statistics`` set (Sum, Minimum, Maximum, SampleCount)."""

    scope: Scope
    namespace: str
    name: str
    dimensions: list[tuple[str, str]]
    timestamp: float  # epoch seconds
    unit: str | None = None
    value: float | None = None
    statistics: dict[str, float] | None = None


@dataclass(frozen=True)
class AlarmRow:
    scope: Scope
    name: str
    definition: dict[str, Any]  # the PutMetricAlarm arguments, JSON-shaped


class ObservabilityStore:
    """CloudWatch Logs and metrics state on disk.

    Args:
        path: the SQLite file (created with its parent directory).
    """

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = open_database(path)
        self._db.executescript(_SCHEMA)

    # -- log groups and streams ---------------------------------------------------------
    def put_log_group(self, row: LogGroupRow) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO log_groups VALUES (?, ?, ?, ?, ?, ?, ?)",
                (*_key(row.scope), row.name, row.created, row.retention_days, row.kms_key_id, json.dumps(row.tags)),
            )

    def delete_log_group(self, scope: Scope, name: str) -> None:
        with self._transaction() as db:
            for table, column in (("log_groups", "name"), ("log_streams", "log_group"), ("log_events", "log_group")):
                db.execute(f"DELETE FROM {table} WHERE account = ? AND region = ? AND {column} = ?",
                           (*_key(scope), name))

    def put_log_stream(self, row: LogStreamRow) -> None:
        with self._transaction() as db:
            self._write_stream(db, row)

    def delete_log_stream(self, scope: Scope, log_group: str, name: str) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM log_streams WHERE account = ? AND region = ? AND log_group = ? AND name = ?",
                       (*_key(scope), log_group, name))
            db.execute(
                "DELETE FROM log_events WHERE account = ? AND region = ? AND log_group = ? AND log_stream = ?",
                (*_key(scope), log_group, name),
            )

    def append_log_events(self, stream: LogStreamRow, events: list[LogEventRow]) -> None:
        """Add events to a stream and record the stream's new counters, in one transaction."""
        with self._transaction() as db:
            db.executemany(
                "INSERT INTO log_events VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(*_key(stream.scope), stream.log_group, stream.name, event.timestamp, event.ingestion_time,
                  event.message) for event in events],
            )
            self._write_stream(db, stream)

    # -- metrics and alarms ---------------------------------------------------------------
    def append_metrics(self, rows: list[MetricRow]) -> None:
        with self._transaction() as db:
            db.executemany(
                "INSERT INTO metric_data VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(*_key(row.scope), row.namespace, row.name, json.dumps(row.dimensions), row.timestamp, row.unit,
                  row.value, json.dumps(row.statistics) if row.statistics is not None else None) for row in rows],
            )

    def put_alarm(self, row: AlarmRow) -> None:
        with self._transaction() as db:
            db.execute("INSERT OR REPLACE INTO alarms VALUES (?, ?, ?, ?)",
                       (*_key(row.scope), row.name, json.dumps(row.definition)))

    def delete_alarms(self, scope: Scope, names: list[str]) -> None:
        with self._transaction() as db:
            db.executemany("DELETE FROM alarms WHERE account = ? AND region = ? AND name = ?",
                           [(*_key(scope), name) for name in names])

    def forget(self, scope: Scope, service: str) -> None:
        """Drop everything of one account and region: ``service`` is ``logs`` or ``cloudwatch``."""
        tables = ("log_groups", "log_streams", "log_events") if service == "logs" else ("metric_data", "alarms")
        with self._transaction() as db:
            for table in tables:
                db.execute(f"DELETE FROM {table} WHERE account = ? AND region = ?", _key(scope))

    # -- reading back -----------------------------------------------------------------------
    def log_groups(self) -> list[LogGroupRow]:
        rows = self._query("SELECT account, region, name, created, retention_days, kms_key_id, tags FROM log_groups "
                           "ORDER BY account, region, name")
        return [LogGroupRow(Scope(a, r), name, created, retention, kms, json.loads(tags))
                for a, r, name, created, retention, kms, tags in rows]

    def log_streams(self) -> list[LogStreamRow]:
        rows = self._query("SELECT account, region, log_group, name, created, stored_bytes, sequence_token, "
                           "last_ingestion FROM log_streams ORDER BY account, region, log_group, name")
        return [LogStreamRow(Scope(a, r), *rest) for a, r, *rest in rows]

    def log_events(self, scope: Scope, log_group: str, log_stream: str) -> list[LogEventRow]:
        rows = self._query(
            "SELECT timestamp, ingestion_time, message FROM log_events "
            "WHERE account = ? AND region = ? AND log_group = ? AND log_stream = ? ORDER BY rowid",
            (*_key(scope), log_group, log_stream),
        )
        return [LogEventRow(*row) for row in rows]

    def metrics(self) -> Iterator[MetricRow]:
        rows = self._query("SELECT account, region, namespace, name, dimensions, timestamp, unit, value, statistics "
                           "FROM metric_data ORDER BY rowid")
        for account, region, namespace, name, dimensions, timestamp, unit, value, statistics in rows:
            yield MetricRow(Scope(account, region), namespace, name, [tuple(pair) for pair in json.loads(dimensions)],
                            timestamp, unit, value, json.loads(statistics) if statistics is not None else None)

    def alarms(self) -> list[AlarmRow]:
        rows = self._query("SELECT account, region, name, definition FROM alarms ORDER BY account, region, name")
        return [AlarmRow(Scope(a, r), name, json.loads(definition)) for a, r, name, definition in rows]

    # -- upkeep -------------------------------------------------------------------------------
    def expire(self, now: float | None = None) -> int:
        """Drop what CloudWatch would no longer hold; returns how many rows went.

        Log events older than their group's ``RetentionInDays`` (by event timestamp, as
        CloudWatch ages them) and metric points older than :data:`METRIC_RETENTION_SECONDS`.
        """
        now = time.time() if now is None else now
        with self._transaction() as db:
            events = db.execute(
                "DELETE FROM log_events WHERE timestamp < ? - 86400000 * (SELECT retention_days FROM log_groups g "
                "WHERE g.account = log_events.account AND g.region = log_events.region "
                "AND g.name = log_events.log_group AND g.retention_days IS NOT NULL)",
                (int(now * 1000),),
            ).rowcount
            metrics = db.execute("DELETE FROM metric_data WHERE timestamp < ?",
                                 (now - METRIC_RETENTION_SECONDS,)).rowcount
        return events + metrics

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- internals ------------------------------------------------------------------------------
    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    @staticmethod
    def _write_stream(db: sqlite3.Connection, row: LogStreamRow) -> None:
        db.execute(
            "INSERT OR REPLACE INTO log_streams VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (*_key(row.scope), row.log_group, row.name, row.created, row.stored_bytes, row.sequence_token,
             row.last_ingestion),
        )


def _key(scope: Scope) -> tuple[str, str]:
    return scope.account, scope.region
