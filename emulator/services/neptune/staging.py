"""A bulk load's changes built beside the graph, then published in one short step.

A load of a million edges takes many seconds to apply; doing it under the graph's write lock
would stop every read for that long. :class:`StagedLoad` offers the few
:class:`~emulator.services.neptune.store.Transaction` methods the loader uses, but keeps every
change in its own records: new vertices and edges, and copies ("shadows") of the existing ones it
changes. Readers go on seeing the graph as it was. :meth:`StagedLoad.publish` then checks that
nobody changed what the load read, writes the rows to SQLite (readers still going on) and takes
the graph alone only to link the new records in: the load appears whole, at once, or not at all.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import islice
from operator import attrgetter
from typing import Any, Generic, TypeVar

from emulator.services.neptune.store import (
    DEFAULT_VERTEX_LABEL,
    EdgeRecord,
    GraphError,
    GraphStore,
    VertexRecord,
    check_value,
    edge_row,
    put_vertex_value,
    vertex_row,
)

Record = TypeVar("Record", VertexRecord, EdgeRecord)
_ID, _OUT_V, _IN_V = attrgetter("id"), attrgetter("out_v"), attrgetter("in_v")
_OUT_E, _IN_E = attrgetter("out_e"), attrgetter("in_e")


class StagedMap(Generic[Record]):
    """``get``/``in`` over the staged records first (each layer in turn), then the live graph's."""

    def __init__(self, *layers: dict[str, Record]) -> None:
        self.layers = layers

    def get(self, key: str, default: Record | None = None) -> Record | None:
        for layer in self.layers:
            found = layer.get(key)
            if found is not None:
                return found
        return default

    def __contains__(self, key: object) -> bool:
        return any(key in layer for layer in self.layers)


class StagedGraph:
    """What the loader's row appliers read: the graph with the load's changes on top."""

    def __init__(self, load: StagedLoad) -> None:
        self.vertices = StagedMap(load.vertices, load.live.vertices)
        self.edges = StagedMap(load.edges, load.edge_shadows, load.live.edges)


class LoadConflict(GraphError):
    """Something the load read was changed by another request before the load was published."""


class StagedLoad:
    """The changes of one bulk load, kept apart from the graph until :meth:`publish`."""

    def __init__(self, store: GraphStore) -> None:
        self.live = store
        self.vertices: dict[str, VertexRecord] = {}  # new vertices and shadows of changed ones
        self.edges: dict[str, EdgeRecord] = {}  # new edges
        self.edge_shadows: dict[str, EdgeRecord] = {}  # copies of the existing edges the load changes
        # id -> (label, props) of an existing element when it was first shadowed, to see a change meanwhile
        self.vertex_seen: dict[str, tuple[str, dict[str, list[Any]]]] = {}
        self.edge_seen: dict[str, dict[str, Any]] = {}
        # new edges whose end is an existing vertex: that vertex's list gets them at publish
        self.pending_out: list[EdgeRecord] = []
        self.pending_in: list[EdgeRecord] = []
        # SQLite rows of edges added by :meth:`add_new_edges` with their rows; the rows of the others (and of
        # those changed after) are made at publish, from the records
        self.edge_rows: dict[str, tuple[Any, ...]] = {}
        self.late_edges: dict[str, None] = {}
        self.store = StagedGraph(self)

    # -- what the appliers call --------------------------------------------------------
    def add_vertex(self, vid: str, label: str = DEFAULT_VERTEX_LABEL,
                   props: dict[str, list[Any]] | None = None) -> VertexRecord:
        """A new vertex; ``props`` are values already checked (the loader's converted cells)."""
        if vid in self.store.vertices:
            raise GraphError(f"Vertex with id already exists: {vid}")
        if not label:
            raise GraphError("Label can not be empty")
        vertex = self.vertices[vid] = VertexRecord(vid, label, props)
        return vertex

    def add_new_vertices(self, vertices: list[VertexRecord]) -> None:
        """New vertices whose ids the caller found free (in the load and in the graph), labels set."""
        self.vertices.update(zip(map(_ID, vertices), vertices, strict=True))

    def set_vertex_label(self, vertex: VertexRecord, label: str) -> None:
        self._own_vertex(vertex).label = label

    def set_vertex_property(self, vertex: VertexRecord, key: str, value: Any, cardinality: str = "set") -> None:
        check_value(value)
        put_vertex_value(self._own_vertex(vertex).props, key, value, cardinality)

    def add_edge(self, eid: str, label: str, out_v: VertexRecord, in_v: VertexRecord,
                 props: dict[str, Any] | None = None) -> EdgeRecord:
        """A new edge; ``props`` are values already checked (the loader's converted cells)."""
        if eid in self.edges or eid in self.live.edges:
            raise GraphError(f"Edge with id already exists: {eid}")
        if not label:
            raise GraphError("Label can not be empty")
        edge = EdgeRecord(eid, label, out_v, in_v, props)
        self.add_new_edges([edge])
        self.late_edges[eid] = None
        return edge

    def add_new_edges(self, edges: list[EdgeRecord], rows: list[tuple[Any, ...]] | None = None,
                      ends_staged: bool = False) -> None:
        """New edges, in file order: ids free, labels set, ends found (staged or live) by the caller.

        A new vertex is not reachable by readers yet, so it gets its edges now, in order; an existing
        vertex gets them at publish. ``rows`` are the edges' SQLite rows, when the caller made them;
        ``ends_staged``: the caller found every end among the staged vertices.
        """
        if ends_staged and not self.vertex_seen:  # every end is a new vertex: a fresh load's case, in C loops
            deque(map(list.append, map(_OUT_E, map(_OUT_V, edges)), edges), maxlen=0)
            deque(map(list.append, map(_IN_E, map(_IN_V, edges)), edges), maxlen=0)
        else:
            staged_vertices, shadowed = self.vertices, self.vertex_seen
            for edge in edges:
                out_v, in_v = edge.out_v, edge.in_v
                if staged_vertices.get(out_v.id) is out_v and out_v.id not in shadowed:
                    out_v.out_e.append(edge)
                else:
                    self.pending_out.append(edge)
                if staged_vertices.get(in_v.id) is in_v and in_v.id not in shadowed:
                    in_v.in_e.append(edge)
                else:
                    self.pending_in.append(edge)
        self.edges.update(zip(map(_ID, edges), edges, strict=True))
        if rows is None:
            self.late_edges.update(dict.fromkeys(map(_ID, edges)))
        else:
            self.edge_rows.update(zip(map(_ID, edges), rows, strict=True))

    def set_edge_property(self, edge: EdgeRecord, key: str, value: Any) -> None:
        check_value(value)
        self._own_edge(edge).props[key] = value
        self.late_edges[edge.id] = None

    def _own_vertex(self, vertex: VertexRecord) -> VertexRecord:
        staged = self.vertices.get(vertex.id)
        if staged is not None:
            return staged
        props = {k: list(v) for k, v in vertex.props.items()}
        self.vertex_seen[vertex.id] = (vertex.label, {k: list(v) for k, v in props.items()})
        shadow = self.vertices[vertex.id] = VertexRecord(vertex.id, vertex.label, props)
        return shadow

    def _own_edge(self, edge: EdgeRecord) -> EdgeRecord:
        staged = self.edges.get(edge.id) or self.edge_shadows.get(edge.id)
        if staged is not None:
            return staged
        self.edge_seen[edge.id] = dict(edge.props)
        shadow = self.edge_shadows[edge.id] = EdgeRecord(edge.id, edge.label, edge.out_v, edge.in_v,
                                                         dict(edge.props))
        return shadow

    # -- publishing --------------------------------------------------------------------
    def publish(self, extra: Iterable[tuple[str, tuple[Any, ...]]] = ()) -> None:
        """Write the rows, then link the records in; readers wait only for the linking.

        Rows are encoded first, with no lock (the staged records are the load's own). Then the load
        reserves the writer's place: readers go on, other writers are refused (retryable
        ``ConcurrentModificationException``) while it checks for conflicts, prepares the links and
        writes SQLite; then it has the graph alone just to merge the new records in (:meth:`_link`).

        Raises:
            LoadConflict: another request created, changed or dropped what the load used meanwhile.
        """
        store = self.live
        vertex_rows = list(map(vertex_row, self.vertices.values()))
        edge_rows = self._edge_rows()
        lock = store.lock
        lock.reserve()
        try:
            links = self._prepare_links()
            store.write_rows(vertex_rows, edge_rows, extra)
            lock.promote()
        except BaseException:
            lock.cancel_reservation()
            raise
        try:
            self._link(links)
        finally:
            lock.release()

    def _edge_rows(self) -> list[tuple[Any, ...]]:
        """The SQLite rows of the new edges in file order (the order a restart reads them back in), then of
        the changed ones; a row made with its edge is used while the edge is unchanged since."""
        made, late = self.edge_rows, self.late_edges
        if not late:
            return list(made.values())
        rows = [made[eid] if eid in made and eid not in late else edge_row(edge) for eid, edge in self.edges.items()]
        rows.extend(map(edge_row, self.edge_shadows.values()))
        return rows

    def _prepare_links(self) -> Links:
        """Check for conflicts and prepare everything linking needs, while readers go on (the writer's
        place is reserved): the staged vertices, the changed edges, the new edges' ids in one set
        test, and the new edges that end at an existing vertex.

        New vertices already hold their new edges (:meth:`add_new_edges`); only appends to live
        vertices wait for the lock. A conflict leaves new records half-linked: the load is dropped.
        """
        live_vertices, live_edges = self.live.vertices, self.live.edges
        staged_vertices, vertex_seen, edge_seen = self.vertices, self.vertex_seen, self.edge_seen
        links = Links()
        new_vertices, live_out, live_in = links.new_vertices, links.live_out, links.live_in
        for vid, staged in staged_vertices.items():
            seen = vertex_seen.get(vid)
            current = live_vertices.get(vid)
            if seen is None:
                if current is not None:
                    raise LoadConflict(f"Vertex {vid} was created by another request during the load")
                new_vertices[vid] = staged
            else:
                if current is None or (current.label, current.props) != seen:
                    raise LoadConflict(f"Vertex {vid} was changed by another request during the load")
                links.vertex_shadows.append((current, staged))
        for eid, seen_props in edge_seen.items():
            current_edge = live_edges.get(eid)
            if current_edge is None or current_edge.props != seen_props:
                raise LoadConflict(f"Edge {eid} was changed by another request during the load")
            links.edge_shadows.append((current_edge, self.edge_shadows[eid]))
        clash = first_shared(self.edges, live_edges)
        if clash is not None:
            raise LoadConflict(f"Edge {clash} was created by another request during the load")
        for edge in self.pending_out:
            edge.out_v = self._live_end(edge.out_v, edge, live_out)
        for edge in self.pending_in:
            edge.in_v = self._live_end(edge.in_v, edge, live_in)
        # the merged dictionaries are built here, while readers go on (no writer can change the live ones
        # during the reservation): merging a million entries in place held every reader for 0.7 s
        links.vertices = merged(live_vertices, new_vertices)
        links.edges = merged(live_edges, self.edges)
        return links

    def _live_end(self, end: VertexRecord, edge: EdgeRecord, appends: dict[str, list[EdgeRecord]]) -> VertexRecord:
        """The live record of an existing vertex at an end of a new edge (which its list gets at linking)."""
        current = self.live.vertices.get(end.id)
        if current is None or (current is not end and end.id not in self.vertices):
            raise LoadConflict(f"Vertex {end.id} of edge {edge.id} was removed by another request during the load")
        appends.setdefault(end.id, []).append(edge)
        return current

    def _link(self, links: Links) -> None:
        """Make the load visible (hold the write lock): the merged dictionaries replace the live ones, the
        changed records take their new values and the live vertices their new edges."""
        live = self.live
        live.vertices, live.edges = links.vertices, links.edges
        live_vertices = links.vertices
        for current, staged in links.vertex_shadows:  # edges keep pointing at the live record
            current.label, current.props = staged.label, staged.props
        for current_edge, staged_edge in links.edge_shadows:
            current_edge.props = staged_edge.props
        for vid, edges in links.live_out.items():
            live_vertices[vid].out_e.extend(edges)
        for vid, edges in links.live_in.items():
            live_vertices[vid].in_e.extend(edges)


#: entries merged per call: one C-level call holds the interpreter lock, and a reader needs it too
MERGE_CHUNK = 20_000


def first_shared(keys: dict[str, Any], other: dict[str, Any]) -> str | None:
    """A key of ``keys`` that ``other`` has too, or ``None``: set tests in C a chunk at a time."""
    own = iter(keys)
    while chunk := list(islice(own, MERGE_CHUNK)):
        if not other.keys().isdisjoint(chunk):
            return next(key for key in chunk if key in other)
    return None


def merged(live: dict[str, Record], new: dict[str, Record]) -> dict[str, Record]:
    """A copy of ``live`` with ``new``'s entries after its own, merged a chunk at a time (a million-entry
    ``update`` in one call kept every request of the process waiting for 0.7 s)."""
    if not new:
        return live
    result = dict(live)
    entries = iter(new.items())
    while chunk := list(islice(entries, MERGE_CHUNK)):
        result.update(chunk)
    return result


@dataclass
class Links:
    """A staged load, ready to be linked into the graph."""

    new_vertices: dict[str, VertexRecord] = field(default_factory=dict)
    vertex_shadows: list[tuple[VertexRecord, VertexRecord]] = field(default_factory=list)
    edge_shadows: list[tuple[EdgeRecord, EdgeRecord]] = field(default_factory=list)
    #: the graph's dictionaries once the load is in: the live ones and the new records, in that order
    vertices: dict[str, VertexRecord] = field(default_factory=dict)
    edges: dict[str, EdgeRecord] = field(default_factory=dict)
    live_out: dict[str, list[EdgeRecord]] = field(default_factory=dict)
    live_in: dict[str, list[EdgeRecord]] = field(default_factory=dict)
