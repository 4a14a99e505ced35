"""The property graph's state: in-memory records, transactions with rollback, SQLite durability.

Traversals read the in-memory records directly (fast adjacency through object references);
every mutating request runs inside one :class:`Transaction`, which snapshots each element
before its first change. ``commit`` writes exactly the touched elements to SQLite in one
SQLite transaction (and any extra bookkeeping rows, such as a bulk-load job's final status),
so a crash leaves the file either before or after the whole request. ``rollback`` restores the
snapshots in memory.

Concurrency (:mod:`emulator.services.neptune.rwlock`): a request holds the graph shared until its
first change, then alone until it ends, so read-only requests run side by side and never see a
write in progress. A session (:meth:`GraphStore.session_scope`) keeps one transaction open across
the requests of one block; generated ids come from an :class:`IdSource` so that a session can
rebuild its uncommitted state exactly (see :mod:`emulator.services.neptune.sessions`).

Neptune's data model, as emulated here
(https://docs.aws.amazon.com/neptune/latest/userguide/access-graph-gremlin-differences.html):

* ids are strings (generated UUIDs when not given);
* vertex properties have ``set`` cardinality by default and no meta-properties;
* a vertex may carry several labels, shown joined with ``::``;
* edge properties hold a single value.
"""

from __future__ import annotations

import datetime as dt
import json
import json.encoder
import math
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from itertools import chain
from pathlib import Path
from typing import Any

from emulator.core.sqlite import open_database
from emulator.services.neptune.errors import ConcurrentModification
from emulator.services.neptune.rwlock import ReadWriteLock, UpgradeConflict

LABEL_SEPARATOR = "::"
DEFAULT_VERTEX_LABEL = "vertex"
DEFAULT_EDGE_LABEL = "edge"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS vertices (id TEXT PRIMARY KEY, label TEXT NOT NULL, props TEXT);
CREATE TABLE IF NOT EXISTS edges (id TEXT PRIMARY KEY, label TEXT NOT NULL,
                                  out_v TEXT NOT NULL, in_v TEXT NOT NULL, props TEXT);
CREATE TABLE IF NOT EXISTS load_jobs (id TEXT PRIMARY KEY, created REAL NOT NULL, record TEXT NOT NULL);
"""


class GraphError(Exception):
    """A request broke a rule of the graph (duplicate id, unsupported value...)."""


class VertexRecord:
    """A vertex: id, label (``a::b`` when several), ``{key: [values]}`` and its incident edges."""

    __slots__ = ("id", "label", "props", "out_e", "in_e")

    def __init__(self, vid: str, label: str, props: dict[str, list[Any]] | None = None) -> None:
        self.id = vid
        self.label = label
        self.props: dict[str, list[Any]] = props if props is not None else {}
        self.out_e: list[EdgeRecord] = []
        self.in_e: list[EdgeRecord] = []

    def has_label(self, label: str) -> bool:
        """True when ``label`` is this vertex's label or one of its labels."""
        own = self.label
        if own == label:
            return True
        return LABEL_SEPARATOR in own and label in own.split(LABEL_SEPARATOR)

    def __repr__(self) -> str:
        return f"v[{self.id}]"


class EdgeRecord:
    """An edge between two :class:`VertexRecord` objects, with single-valued properties."""

    __slots__ = ("id", "label", "out_v", "in_v", "props")

    def __init__(self, eid: str, label: str, out_v: VertexRecord, in_v: VertexRecord,
                 props: dict[str, Any] | None = None) -> None:
        self.id = eid
        self.label = label
        self.out_v = out_v
        self.in_v = in_v
        self.props: dict[str, Any] = props if props is not None else {}

    def has_label(self, label: str) -> bool:
        return self.label == label

    def __repr__(self) -> str:
        return f"e[{self.id}][{self.out_v.id}-{self.label}->{self.in_v.id}]"


Element = VertexRecord | EdgeRecord

SUPPORTED_VALUE_TYPES = (str, bool, int, float, dt.datetime)


def check_value(value: Any) -> Any:
    """Return ``value`` if Neptune can store it as a property value, else raise GraphError."""
    if isinstance(value, SUPPORTED_VALUE_TYPES):
        return value
    if value is None:
        raise GraphError("Property value can not be null")
    raise GraphError(f"Unsupported property value type: {type(value).__name__} "
                     "(Neptune stores strings, booleans, numbers and dates; no collections)")


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return {"$date": value.isoformat()}
    raise TypeError(f"cannot store {type(value).__name__}")


def _json_hook(obj: dict[str, Any]) -> Any:
    if len(obj) == 1 and "$date" in obj:
        return dt.datetime.fromisoformat(obj["$date"])
    return obj


def _props_encoder() -> Callable[[dict[str, Any]], str]:
    """One JSON encoder for every row (``json.dumps(..., default=...)`` builds a new one per call): the C
    encoder itself when the interpreter has it (a bulk load encodes a million of these), the same output."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return json.JSONEncoder(separators=(",", ":"), default=_json_default).encode
    # no circular-reference markers: property values are flat (check_value allows no collections)
    chunks = make(None, _json_default, json.encoder.encode_basestring_ascii, None, ":", ",", False, False, True)
    join = "".join
    return lambda props: join(chunks(props, 0))


_encode = _props_encoder()


def encode_props(props: dict[str, Any]) -> str | None:
    """Properties as stored in SQLite (JSON, dates tagged); ``None`` when empty."""
    return _encode(props) if props else None


def encode_props_columns(names: list[str], columns: list[list[Any]]) -> list[str] | None:
    """:func:`encode_props` of every row of whole columns (``names[i]``'s values in ``columns[i]``, none
    missing), the same text built a column at a time; ``None`` for a column of another type than
    str, int or finite float (the caller encodes those rows one by one)."""
    fragments = []
    for name, values in zip(names, columns, strict=True):
        kinds = set(map(type, values))
        if kinds == {str}:
            texts = map(json.encoder.encode_basestring_ascii, values)
        elif kinds == {int} or kinds == {float} and math.isfinite(sum(values)):  # NaN and inf: not JSON
            texts = map(repr, values)
        elif not values:
            texts = iter(())
        else:
            return None
        key = json.encoder.encode_basestring_ascii(name) + ":"
        fragments.append([key + text for text in texts])
    if not fragments:
        return []
    return ["{" + ",".join(row) + "}" for row in zip(*fragments, strict=True)]


def vertex_row(vertex: VertexRecord) -> tuple[str, str, str | None]:
    """A vertex as a row of the ``vertices`` table."""
    return vertex.id, vertex.label, encode_props(vertex.props)


def edge_row(edge: EdgeRecord) -> tuple[str, str, str, str, str | None]:
    """An edge as a row of the ``edges`` table."""
    return edge.id, edge.label, edge.out_v.id, edge.in_v.id, encode_props(edge.props)


def decode_props(text: str | None) -> dict[str, Any]:
    return json.loads(text, object_hook=_json_hook) if text else {}


class IdSource:
    """The ids a transaction generates: new UUIDs, or, while a session replays its requests, the same
    ones again in the same order."""

    def __init__(self) -> None:
        self.issued: list[str] = []
        self.cursor = 0

    def new_id(self) -> str:
        if self.cursor < len(self.issued):
            value = self.issued[self.cursor]
        else:
            value = str(uuid.uuid4())
            self.issued.append(value)
        self.cursor += 1
        return value

    def rewind(self) -> None:
        self.cursor = 0

    def forget_after(self, count: int) -> None:
        """Drop the ids issued after the first ``count`` (a failed request's)."""
        del self.issued[count:]
        self.cursor = min(self.cursor, count)


class Transaction:
    """The changes of one request: snapshots for rollback, touched ids for commit.

    Every mutation of the graph goes through one of these methods; the first one makes the
    request the graph's one writer (it waits for the other readers to finish).
    """

    def __init__(self, store: GraphStore, ids: IdSource | None = None) -> None:
        self.store = store
        self.ids = ids or IdSource()
        self.writes = 0  # changes made (a session keeps only the requests that made some)
        self._writing = False
        # id -> (label, props copy) before the first change, or None if created here
        self.vertex_before: dict[str, tuple[str, dict[str, list[Any]]] | None] = {}
        # id -> (label, out id, in id, props copy), or None if created here
        self.edge_before: dict[str, tuple[str, str, str, dict[str, Any]] | None] = {}

    @property
    def changed(self) -> bool:
        return bool(self.vertex_before or self.edge_before)

    def _write(self) -> None:
        """Count a change; become the graph's writer before the first one (see :mod:`rwlock`)."""
        self.writes += 1
        if self._writing:
            return
        lock = self.store.lock
        if not lock.held_for_write():
            try:
                lock.upgrade()
            except UpgradeConflict:
                raise ConcurrentModification("Another request is changing the graph at the same time; "
                                             "retry the request") from None
        self._writing = True

    # -- snapshots ---------------------------------------------------------------------
    def _touch_vertex(self, vertex: VertexRecord) -> None:
        self._write()
        if vertex.id not in self.vertex_before:
            self.vertex_before[vertex.id] = (vertex.label, {k: list(v) for k, v in vertex.props.items()})

    def _touch_edge(self, edge: EdgeRecord) -> None:
        self._write()
        if edge.id not in self.edge_before:
            self.edge_before[edge.id] = (edge.label, edge.out_v.id, edge.in_v.id, dict(edge.props))

    # -- vertices ----------------------------------------------------------------------
    def add_vertex(self, vid: str | None, label: str = DEFAULT_VERTEX_LABEL) -> VertexRecord:
        """Create a vertex; ``vid=None`` generates a UUID string like Neptune."""
        self._write()
        vertices = self.store.vertices
        if vid is None:
            vid = self.ids.new_id()
        elif not isinstance(vid, str):
            vid = str(vid)
        if vid in vertices:
            raise GraphError(f"Vertex with id already exists: {vid}")
        if not label:
            raise GraphError("Label can not be empty")
        vertex = VertexRecord(vid, label)
        vertices[vid] = vertex
        if vid not in self.vertex_before:
            self.vertex_before[vid] = None
        return vertex

    def set_vertex_label(self, vertex: VertexRecord, label: str) -> None:
        self._touch_vertex(vertex)
        vertex.label = label

    def set_vertex_property(self, vertex: VertexRecord, key: str, value: Any, cardinality: str = "set") -> None:
        """Add a value (``set``: kept once; ``single``: replaces all values)."""
        check_value(value)
        self._touch_vertex(vertex)
        put_vertex_value(vertex.props, key, value, cardinality)

    def remove_vertex_property(self, vertex: VertexRecord, key: str, value: Any = None,
                               match_value: bool = False) -> None:
        """Remove all values of ``key``, or only ``value`` when ``match_value``."""
        if key not in vertex.props:
            return
        self._touch_vertex(vertex)
        if not match_value:
            del vertex.props[key]
            return
        remaining = [v for v in vertex.props[key] if not _same_value(v, value)]
        if remaining:
            vertex.props[key] = remaining
        else:
            del vertex.props[key]

    def drop_vertex(self, vertex: VertexRecord) -> None:
        """Remove a vertex and its incident edges."""
        if self.store.vertices.get(vertex.id) is not vertex:
            return
        for edge in list(vertex.out_e) + list(vertex.in_e):
            self.drop_edge(edge)
        self._touch_vertex(vertex)
        del self.store.vertices[vertex.id]

    # -- edges -------------------------------------------------------------------------
    def add_edge(self, eid: str | None, label: str, out_v: VertexRecord, in_v: VertexRecord) -> EdgeRecord:
        self._write()
        edges = self.store.edges
        if eid is None:
            eid = self.ids.new_id()
        elif not isinstance(eid, str):
            eid = str(eid)
        if eid in edges:
            raise GraphError(f"Edge with id already exists: {eid}")
        if not label:
            raise GraphError("Label can not be empty")
        vertices = self.store.vertices
        if vertices.get(out_v.id) is not out_v or vertices.get(in_v.id) is not in_v:
            raise GraphError("Cannot add an edge to a vertex that was removed")
        edge = EdgeRecord(eid, label, out_v, in_v)
        edges[eid] = edge
        out_v.out_e.append(edge)
        in_v.in_e.append(edge)
        if eid not in self.edge_before:
            self.edge_before[eid] = None
        return edge

    def set_edge_property(self, edge: EdgeRecord, key: str, value: Any) -> None:
        check_value(value)
        self._touch_edge(edge)
        edge.props[key] = value

    def remove_edge_property(self, edge: EdgeRecord, key: str) -> None:
        if key in edge.props:
            self._touch_edge(edge)
            del edge.props[key]

    def drop_edge(self, edge: EdgeRecord) -> None:
        if self.store.edges.get(edge.id) is not edge:
            return
        self._touch_edge(edge)
        del self.store.edges[edge.id]
        _unlink(edge)

    # -- end ---------------------------------------------------------------------------
    def rollback(self) -> None:
        """Put every touched element back as it was before this transaction."""
        store = self.store
        for eid in self.edge_before:
            edge = store.edges.pop(eid, None)
            if edge is not None:
                _unlink(edge)
        for vid, before in self.vertex_before.items():
            current = store.vertices.get(vid)
            if before is None:
                if current is not None:
                    del store.vertices[vid]
            elif current is not None:
                current.label, current.props = before[0], before[1]
            else:
                store.vertices[vid] = VertexRecord(vid, before[0], before[1])
        for eid, snapshot in self.edge_before.items():
            if snapshot is not None:
                label, out_id, in_id, props = snapshot
                store.link_edge(eid, label, store.vertices[out_id], store.vertices[in_id], props)
        self.vertex_before.clear()
        self.edge_before.clear()


def put_vertex_value(props: dict[str, list[Any]], key: str, value: Any, cardinality: str) -> None:
    """Add a value to a vertex's properties (``set``: kept once; ``single``: replaces all values)."""
    if cardinality == "single":
        props[key] = [value]
    elif cardinality == "set":
        values = props.setdefault(key, [])
        if not any(_same_value(value, old) for old in values):
            values.append(value)
    else:
        raise GraphError(f"Cardinality {cardinality} is not supported by Neptune (use single or set)")


def _unlink(edge: EdgeRecord) -> None:
    _remove_identity(edge.out_v.out_e, edge)
    _remove_identity(edge.in_v.in_e, edge)


def _remove_identity(items: list[EdgeRecord], edge: EdgeRecord) -> None:
    for index in range(len(items) - 1, -1, -1):
        if items[index] is edge:
            del items[index]
            return


def _same_value(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b or (not isinstance(a, bool) and not isinstance(b, bool) and
                                             isinstance(a, int | float) and isinstance(b, int | float) and a == b)


ROWS_PER_INSERT = 100


def insert_rows(db: sqlite3.Connection, head: str, rows: list[tuple[Any, ...]], width: int) -> None:
    """Run ``head`` (``INSERT ... VALUES``) for every row, in order, ``ROWS_PER_INSERT`` rows a statement
    (a third less time than one statement a row for a million-edge load)."""
    one = "(" + ",".join("?" * width) + ")"
    whole = len(rows) - len(rows) % ROWS_PER_INSERT
    if whole:
        statement = head + ",".join([one] * ROWS_PER_INSERT)
        flat = chain.from_iterable
        for start in range(0, whole, ROWS_PER_INSERT):
            db.execute(statement, tuple(flat(rows[start:start + ROWS_PER_INSERT])))
    if whole < len(rows):
        db.executemany(head + one, rows[whole:])


class GraphStore:
    """The whole graph in memory, mirrored to a SQLite file.

    Args:
        path: the SQLite file (created if missing); ``None`` keeps the graph in memory only.

    All access goes through :attr:`lock` (:class:`ReadWriteLock`; ``with store.lock`` is the
    exclusive side): readers share the graph, a writer has it alone, so a traversal never
    observes half of another request's writes.
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self.lock = ReadWriteLock()
        self._scopes = threading.local()  # the session transaction open on this thread, if any
        self._db_lock = threading.Lock()  # the SQLite connection, one statement batch at a time
        self.vertices: dict[str, VertexRecord] = {}
        self.edges: dict[str, EdgeRecord] = {}
        self._db: sqlite3.Connection | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = open_database(path)
            self._db.executescript(_SCHEMA)
            self._load()

    # -- reading the file --------------------------------------------------------------
    def _load(self) -> None:
        db = self._require_db()
        vertices = self.vertices
        for vid, label, props in db.execute("SELECT id, label, props FROM vertices"):
            vertices[vid] = VertexRecord(vid, label, decode_props(props))
        for eid, label, out_id, in_id, props in db.execute("SELECT id, label, out_v, in_v, props FROM edges"):
            out_v, in_v = vertices.get(out_id), vertices.get(in_id)
            if out_v is None or in_v is None:
                continue  # cannot happen with our commits; never let a dangling edge in
            self.link_edge(eid, label, out_v, in_v, decode_props(props))

    def link_edge(self, eid: str, label: str, out_v: VertexRecord, in_v: VertexRecord,
                  props: dict[str, Any]) -> EdgeRecord:
        """Insert an edge record without a transaction (loading and rollback only)."""
        edge = EdgeRecord(eid, label, out_v, in_v, props)
        self.edges[eid] = edge
        out_v.out_e.append(edge)
        in_v.in_e.append(edge)
        return edge

    def _require_db(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError("this graph store has no file")
        return self._db

    # -- transactions ------------------------------------------------------------------
    @contextmanager
    def transaction(self, extra: Iterable[tuple[str, tuple[Any, ...]]] = ()) -> Iterator[Transaction]:
        """Run a block as one transaction: committed on success, else rolled back.

        The block reads the graph shared with other readers and has it alone from its first change.
        Inside :meth:`session_scope` it is the session's transaction, ended by the scope.

        Args:
            extra: more SQL statements (with parameters) to commit atomically with the changes.
        """
        ambient: Transaction | None = getattr(self._scopes, "tx", None)
        if ambient is not None:
            yield ambient
            return
        self.lock.acquire_read()
        try:
            tx = Transaction(self)
            try:
                yield tx
            except BaseException:
                tx.rollback()
                raise
            try:
                self.commit(tx, extra)
            except BaseException:
                tx.rollback()
                raise
        finally:
            self.lock.release_read()

    @contextmanager
    def session_scope(self, ids: IdSource, commit: bool = False) -> Iterator[Transaction]:
        """One transaction that every :meth:`transaction` on this thread joins until the block ends.

        At the end it is rolled back (the session's changes are not visible outside the block),
        or committed when ``commit`` and the block succeeded.
        """
        if getattr(self._scopes, "tx", None) is not None:
            raise RuntimeError("session scopes do not nest")
        ids.rewind()
        self.lock.acquire_read()
        tx = Transaction(self, ids)
        self._scopes.tx = tx
        try:
            try:
                yield tx
            except BaseException:
                tx.rollback()
                raise
            if commit:
                try:
                    self.commit(tx)
                except BaseException:
                    tx.rollback()
                    raise
            else:
                tx.rollback()
        finally:
            self._scopes.tx = None
            self.lock.release_read()

    def in_session(self) -> bool:
        """True while this thread runs inside a :meth:`session_scope` (its requests see its uncommitted changes)."""
        return getattr(self._scopes, "tx", None) is not None

    def commit(self, tx: Transaction, extra: Iterable[tuple[str, tuple[Any, ...]]] = ()) -> None:
        """Write every element ``tx`` touched (and ``extra`` statements) in one SQLite transaction."""
        extra = list(extra)
        if self._db is None or (not tx.changed and not extra):
            tx.vertex_before.clear()
            tx.edge_before.clear()
            return
        vertices, edges = self.vertices, self.edges
        vertex_rows, vertex_gone, edge_rows, edge_gone = [], [], [], []
        for vid in tx.vertex_before:
            vertex = vertices.get(vid)
            if vertex is None:
                vertex_gone.append((vid,))
            else:
                vertex_rows.append(vertex_row(vertex))
        for eid in tx.edge_before:
            edge = edges.get(eid)
            if edge is None:
                edge_gone.append((eid,))
            else:
                edge_rows.append(edge_row(edge))
        with self._db_lock:
            self._write_rows(vertex_gone, vertex_rows, edge_gone, edge_rows, extra)
        tx.vertex_before.clear()
        tx.edge_before.clear()

    def write_rows(self, vertex_rows: list[tuple[Any, ...]], edge_rows: list[tuple[Any, ...]],
                   extra: Iterable[tuple[str, tuple[Any, ...]]] = ()) -> None:
        """Insert or replace rows in one SQLite transaction (a staged load's publish; hold ``lock``)."""
        if self._db is None:
            return
        with self._db_lock:
            self._write_rows([], vertex_rows, [], edge_rows, list(extra))

    def _write_rows(self, vertex_gone: list[tuple[str]], vertex_rows: list[tuple[Any, ...]],
                    edge_gone: list[tuple[str]], edge_rows: list[tuple[Any, ...]],
                    extra: list[tuple[str, tuple[Any, ...]]]) -> None:
        db = self._require_db()
        db.execute("BEGIN IMMEDIATE")
        try:
            if edge_gone:
                db.executemany("DELETE FROM edges WHERE id = ?", edge_gone)
            if vertex_gone:
                db.executemany("DELETE FROM vertices WHERE id = ?", vertex_gone)
            insert_rows(db, "INSERT OR REPLACE INTO vertices (id, label, props) VALUES ", vertex_rows, 3)
            insert_rows(db, "INSERT OR REPLACE INTO edges (id, label, out_v, in_v, props) VALUES ", edge_rows, 5)
            for sql, params in extra:
                db.execute(sql, params)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    # -- bookkeeping rows (bulk-load jobs) ---------------------------------------------
    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Run one statement on the file outside graph transactions (autocommit)."""
        if self._db is None:
            return []
        with self._db_lock:
            return self._db.execute(sql, params).fetchall()

    def close(self) -> None:
        """Checkpoint the write-ahead log and close the file."""
        with self.lock, self._db_lock:
            if self._db is not None:
                try:
                    self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                finally:
                    self._db.close()
                    self._db = None

    def counts(self) -> dict[str, int]:
        return {"vertices": len(self.vertices), "edges": len(self.edges)}
