"""Snapshot reads: a read-only request that finds a writer holding the graph reads the last commit instead.

The in-memory graph has one writer at a time, and a writer has it alone (:mod:`rwlock`), so a long
write traversal, a session's write request or a load's final linking step would hold every read
back. But SQLite, in write-ahead-log mode, gives each connection a consistent snapshot of the last
commit while one writer writes (https://www.sqlite.org/wal.html#concurrency), and every commit of the
graph writes exactly what changed (:meth:`GraphStore.commit`): the file *is* the graph as it was before
the writer began. So a read-only traversal that arrives while another request writes runs on its own
read-only connection, inside one read transaction, over records built lazily from the rows
(:class:`SnapshotGraph`): no Python lock against the writer, and it sees the pre-write state whole.
When no writer is active it reads the in-memory graph as before (the fast path).

What is read-only is decided from the bytecode (:func:`writes`): any mutating step, at any depth,
sends the request to the in-memory graph and its writer's lock. A graph without a file (tests,
``GraphStore()``) has no snapshot: reads wait for the writer there, as before.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from emulator.services.neptune import quick
from emulator.services.neptune.errors import ConcurrentModification
from emulator.services.neptune.gremlin.bytecode import Bytecode, Pred, Strategy
from emulator.services.neptune.gremlin.strategies import MUTATING_STEPS
from emulator.services.neptune.store import EdgeRecord, GraphStore, Transaction, VertexRecord, decode_props

#: ids per ``WHERE id IN (...)`` lookup (SQLite allows 32766 parameters; smaller keeps statements short)
IDS_PER_QUERY = 500


def writes(value: Any) -> bool:
    """True if a request value (bytecode, with its child traversals and strategies) may change the graph."""
    if isinstance(value, Bytecode):
        return any(name in MUTATING_STEPS or writes(args) for name, args in value.steps) or \
            any(writes(args) for _, args in value.sources)
    if isinstance(value, list | tuple | set | frozenset):
        return any(writes(item) for item in value)
    if isinstance(value, dict):
        return any(writes(key) or writes(item) for key, item in value.items())
    if isinstance(value, Pred):
        return writes(value.args)
    if isinstance(value, Strategy):
        return writes(value.config)
    return False


def graph_for(store: GraphStore, gremlin: Bytecode) -> GraphStore | ReadView:
    """What one sessionless traversal runs on: the store (and its writer's lock) if it may write, else a
    :class:`ReadView`, which reads the last commit while another request writes."""
    return store if writes(gremlin) else ReadView(store)


class SnapshotVertex(VertexRecord):
    """A vertex read from the snapshot; its edges are read when a step first walks them."""

    __slots__ = ("_graph", "_out", "_in")

    def __init__(self, graph: SnapshotGraph, vid: str, label: str, props: dict[str, list[Any]]) -> None:
        # VertexRecord's edge lists are replaced by the lazy properties below
        self.id, self.label, self.props = vid, label, props
        self._graph = graph
        self._out: list[EdgeRecord] | None = None
        self._in: list[EdgeRecord] | None = None

    @property  # type: ignore[override]
    def out_e(self) -> list[EdgeRecord]:
        if self._out is None:
            self._out = self._graph.edges_at(self.id, "out_v")
        return self._out

    @property  # type: ignore[override]
    def in_e(self) -> list[EdgeRecord]:
        if self._in is None:
            self._in = self._graph.edges_at(self.id, "in_v")
        return self._in


class _Table(Mapping[str, Any]):
    """One table of the snapshot as the read-only mapping the steps read (``get``, ``in``, ``values()``)."""

    def __init__(self, graph: SnapshotGraph, vertices: bool) -> None:
        self._graph = graph
        self._vertices = vertices

    def _cache(self) -> dict[str, Any]:
        return self._graph.vertex_cache if self._vertices else self._graph.edge_cache

    def get(self, key: object, default: Any = None) -> Any:
        if not isinstance(key, str):
            return default
        found = self._cache().get(key)
        if found is None:
            found = self._graph.vertex(key) if self._vertices else self._graph.edge(key)
        return default if found is None else found

    def __getitem__(self, key: str) -> Any:
        found = self.get(key)
        if found is None:
            raise KeyError(key)
        return found

    def __contains__(self, key: object) -> bool:
        return self.get(key) is not None

    def _all(self) -> dict[str, Any]:
        return self._graph.all_vertices() if self._vertices else self._graph.all_edges()

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._all()))

    def __len__(self) -> int:
        return len(self._all())

    def values(self) -> Any:
        return self._all().values()


class SnapshotGraph:
    """The graph as of one SQLite read transaction: records built on demand, each once (same id, same object).

    Args:
        db: a connection inside an open read transaction (the snapshot).
    """

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self.vertex_cache: dict[str, VertexRecord] = {}
        self.edge_cache: dict[str, EdgeRecord] = {}
        self._all_vertices = False
        self._all_edges = False
        self._linked = False  # every vertex's edge lists filled (edges_at)
        self.vertices = _Table(self, vertices=True)
        self.edges = _Table(self, vertices=False)

    def vertex(self, vid: str) -> VertexRecord | None:
        found = self.vertex_cache.get(vid)
        if found is None and not self._all_vertices:
            self._load_vertices([vid])
            found = self.vertex_cache.get(vid)
        return found

    def edge(self, eid: str) -> EdgeRecord | None:
        found = self.edge_cache.get(eid)
        if found is None and not self._all_edges:
            rows = self.db.execute("SELECT id, label, out_v, in_v, props FROM edges WHERE id = ?", (eid,)).fetchall()
            self._edges_from(rows)
            found = self.edge_cache.get(eid)
        return found

    def all_vertices(self) -> dict[str, VertexRecord]:
        if not self._all_vertices:
            cache = self.vertex_cache
            for vid, label, props in self.db.execute("SELECT id, label, props FROM vertices ORDER BY rowid"):
                if vid not in cache:
                    cache[vid] = SnapshotVertex(self, vid, label, decode_props(props))
            self._all_vertices = True
        return self.vertex_cache

    def all_edges(self) -> dict[str, EdgeRecord]:
        if not self._all_edges:
            self.all_vertices()
            self._edges_from(self.db.execute("SELECT id, label, out_v, in_v, props FROM edges ORDER BY rowid"))
            self._all_edges = True
        return self.edge_cache

    def edges_at(self, vid: str, end: str) -> list[EdgeRecord]:
        """The edges whose ``end`` (``out_v`` or ``in_v``) is ``vid``, in the order they were written.

        The edges table has no index by endpoint (one would slow every bulk load by a third), so the
        first walk of a snapshot reads all edges once and links every vertex's lists.
        """
        if not self._linked:
            for vertex in self.all_vertices().values():
                vertex._out, vertex._in = [], []  # type: ignore[attr-defined]
            for edge in self.all_edges().values():
                edge.out_v._out.append(edge)  # type: ignore[attr-defined]
                edge.in_v._in.append(edge)  # type: ignore[attr-defined]
            self._linked = True
        vertex = self.vertex_cache[vid]
        return vertex._out if end == "out_v" else vertex._in  # type: ignore[attr-defined, no-any-return]

    def _edges_from(self, rows: Iterable[tuple[str, str, str, str, str | None]]) -> list[EdgeRecord]:
        rows = list(rows)
        cache = self.edge_cache
        if not self._all_vertices:
            self._load_vertices({end for row in rows for end in (row[2], row[3]) if end not in self.vertex_cache})
        found = []
        for eid, label, out_id, in_id, props in rows:
            edge = cache.get(eid)
            if edge is None:
                out_v, in_v = self.vertex_cache.get(out_id), self.vertex_cache.get(in_id)
                if out_v is None or in_v is None:
                    continue  # cannot happen with our commits; never hand out a dangling edge
                edge = cache[eid] = EdgeRecord(eid, label, out_v, in_v, decode_props(props))
            found.append(edge)
        return found

    def _load_vertices(self, ids: Iterable[str]) -> None:
        wanted = [vid for vid in ids if vid not in self.vertex_cache]
        cache = self.vertex_cache
        for start in range(0, len(wanted), IDS_PER_QUERY):
            chunk = wanted[start:start + IDS_PER_QUERY]
            marks = ",".join("?" * len(chunk))
            for vid, label, props in self.db.execute(f"SELECT id, label, props FROM vertices WHERE id IN ({marks})",
                                                     chunk):
                cache[vid] = SnapshotVertex(self, vid, label, decode_props(props))


class _SnapshotTransaction(Transaction):
    """The transaction of a snapshot read: it never writes (writes are sent to the live graph)."""

    def _write(self) -> None:
        raise ConcurrentModification("A read on the graph's last commit can not write; retry the request")


class ReadView:
    """The graph one read-only request reads: what :func:`execute_stream` takes in place of the store.

    ``vertices``/``edges`` are the live graph's, or, from :meth:`transaction` on, the snapshot's when
    another request is writing (see the module docstring).
    """

    def __init__(self, store: GraphStore) -> None:
        self.live = store
        self.vertices: Any = store.vertices
        self.edges: Any = store.edges
        self.snapshot: SnapshotGraph | None = None  # set while the request reads a snapshot

    @contextmanager
    def transaction(self, extra: Iterable[tuple[str, tuple[Any, ...]]] = ()) -> Iterator[Transaction]:
        store = self.live
        if store.path is None or store.in_session() or not store.lock.writer_active():
            with store.transaction(extra) as tx:
                # the dictionaries as of the lock: a bulk load replaces them (staging.StagedLoad._link)
                self.vertices, self.edges = store.vertices, store.edges
                yield tx
            return
        quick.give_up_if_attempting()  # a snapshot is read from the file: work for a worker
        db = sqlite3.connect(f"file:{store.path}?mode=ro", uri=True, check_same_thread=False, isolation_level=None)
        try:
            db.execute("BEGIN")
            db.execute("SELECT 1 FROM vertices LIMIT 1").fetchall()  # the read transaction, so the snapshot, starts
            self.snapshot = SnapshotGraph(db)
            self.vertices, self.edges = self.snapshot.vertices, self.snapshot.edges
            yield _SnapshotTransaction(store)
        finally:
            self.snapshot = None
            self.vertices, self.edges = store.vertices, store.edges
            db.close()  # ends the read transaction
