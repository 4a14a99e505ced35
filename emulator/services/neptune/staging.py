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

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from emulator.services.neptune.store import (
    DEFAULT_VERTEX_LABEL,
    EdgeRecord,
    GraphError,
    GraphStore,
    VertexRecord,
    check_value,
    encode_props,
    put_vertex_value,
)

Record = TypeVar("Record", VertexRecord, EdgeRecord)


class StagedMap(Generic[Record]):
    """``get``/``in`` over the staged records first, then the live graph's."""

    def __init__(self, staged: dict[str, Record], live: dict[str, Record]) -> None:
        self.staged = staged
        self.live = live

    def get(self, key: str, default: Record | None = None) -> Record | None:
        found = self.staged.get(key)
        return found if found is not None else self.live.get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self.staged or key in self.live


class StagedGraph:
    """What the loader's row appliers read: the graph with the load's changes on top."""

    def __init__(self, load: StagedLoad) -> None:
        self.vertices = StagedMap(load.vertices, load.live.vertices)
        self.edges = StagedMap(load.edges, load.live.edges)


class LoadConflict(GraphError):
    """Something the load read was changed by another request before the load was published."""


class StagedLoad:
    """The changes of one bulk load, kept apart from the graph until :meth:`publish`."""

    def __init__(self, store: GraphStore) -> None:
        self.live = store
        self.vertices: dict[str, VertexRecord] = {}  # new vertices and shadows of changed ones
        self.edges: dict[str, EdgeRecord] = {}
        # id -> (label, props) of an existing element when it was first shadowed, to see a change meanwhile
        self.vertex_seen: dict[str, tuple[str, dict[str, list[Any]]]] = {}
        self.edge_seen: dict[str, dict[str, Any]] = {}
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

    def set_vertex_label(self, vertex: VertexRecord, label: str) -> None:
        self._own_vertex(vertex).label = label

    def set_vertex_property(self, vertex: VertexRecord, key: str, value: Any, cardinality: str = "set") -> None:
        check_value(value)
        put_vertex_value(self._own_vertex(vertex).props, key, value, cardinality)

    def add_edge(self, eid: str, label: str, out_v: VertexRecord, in_v: VertexRecord,
                 props: dict[str, Any] | None = None) -> EdgeRecord:
        """A new edge; ``props`` are values already checked (the loader's converted cells)."""
        edges = self.edges
        if eid in edges or eid in self.live.edges:
            raise GraphError(f"Edge with id already exists: {eid}")
        if not label:
            raise GraphError("Label can not be empty")
        edge = edges[eid] = EdgeRecord(eid, label, out_v, in_v, props)  # endpoints resolved at publish
        return edge

    def set_edge_property(self, edge: EdgeRecord, key: str, value: Any) -> None:
        check_value(value)
        self._own_edge(edge).props[key] = value

    def _own_vertex(self, vertex: VertexRecord) -> VertexRecord:
        staged = self.vertices.get(vertex.id)
        if staged is not None:
            return staged
        props = {k: list(v) for k, v in vertex.props.items()}
        self.vertex_seen[vertex.id] = (vertex.label, {k: list(v) for k, v in props.items()})
        shadow = self.vertices[vertex.id] = VertexRecord(vertex.id, vertex.label, props)
        return shadow

    def _own_edge(self, edge: EdgeRecord) -> EdgeRecord:
        staged = self.edges.get(edge.id)
        if staged is not None:
            return staged
        self.edge_seen[edge.id] = dict(edge.props)
        shadow = self.edges[edge.id] = EdgeRecord(edge.id, edge.label, edge.out_v, edge.in_v, dict(edge.props))
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
        vertex_rows = [(v.id, v.label, encode_props(v.props) if v.props else None) for v in self.vertices.values()]
        edge_rows = [(e.id, e.label, e.out_v.id, e.in_v.id, encode_props(e.props) if e.props else None)
                     for e in self.edges.values()]
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

    def _prepare_links(self) -> Links:
        """Check for conflicts and prepare everything linking needs, while readers go on (the writer's
        place is reserved), in one pass over the staged records.

        New records are not reachable yet, so their edge lists are filled here; only appends to
        live vertices wait for the lock. A conflict leaves new records half-linked: the load is dropped.
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
        new_edges = links.new_edges
        for eid, edge in self.edges.items():
            seen_props = edge_seen.get(eid)
            current_edge = live_edges.get(eid)
            if seen_props is not None:
                if current_edge is None or current_edge.props != seen_props:
                    raise LoadConflict(f"Edge {eid} was changed by another request during the load")
                links.edge_shadows.append((current_edge, edge))
                continue
            if current_edge is not None:
                raise LoadConflict(f"Edge {eid} was created by another request during the load")
            end = edge.out_v
            out_v = new_vertices.get(end.id)
            if out_v is not None:
                out_v.out_e.append(edge)
            else:
                out_v = live_vertices.get(end.id)
                if out_v is None or (out_v is not end and end.id not in staged_vertices):
                    raise LoadConflict(f"Vertex {end.id} of edge {eid} was removed by another request during the load")
                live_out.setdefault(end.id, []).append(edge)
            end = edge.in_v
            in_v = new_vertices.get(end.id)
            if in_v is not None:
                in_v.in_e.append(edge)
            else:
                in_v = live_vertices.get(end.id)
                if in_v is None or (in_v is not end and end.id not in staged_vertices):
                    raise LoadConflict(f"Vertex {end.id} of edge {eid} was removed by another request during the load")
                live_in.setdefault(end.id, []).append(edge)
            edge.out_v, edge.in_v = out_v, in_v
            new_edges[eid] = edge
        return links

    def _link(self, links: Links) -> None:
        """Make the load visible (hold the write lock): dictionary merges and the live vertices' appends."""
        live_vertices, live_edges = self.live.vertices, self.live.edges
        live_vertices.update(links.new_vertices)
        for current, staged in links.vertex_shadows:  # edges keep pointing at the live record
            current.label, current.props = staged.label, staged.props
        for current_edge, staged_edge in links.edge_shadows:
            current_edge.props = staged_edge.props
        live_edges.update(links.new_edges)
        for vid, edges in links.live_out.items():
            live_vertices[vid].out_e.extend(edges)
        for vid, edges in links.live_in.items():
            live_vertices[vid].in_e.extend(edges)


@dataclass
class Links:
    """A staged load, ready to be linked into the graph."""

    new_vertices: dict[str, VertexRecord] = field(default_factory=dict)
    vertex_shadows: list[tuple[VertexRecord, VertexRecord]] = field(default_factory=list)
    edge_shadows: list[tuple[EdgeRecord, EdgeRecord]] = field(default_factory=list)
    new_edges: dict[str, EdgeRecord] = field(default_factory=dict)
    live_out: dict[str, list[EdgeRecord]] = field(default_factory=dict)
    live_in: dict[str, list[EdgeRecord]] = field(default_factory=dict)
