"""The graph read for an export: one consistent read, grouped into per-label node and edge tables.

Everything is copied while the graph is held shared (``store.lock.reading()``), so a write that
commits during the export is either wholly in it or wholly out of it; formatting the copied values
as CSV cells happens afterwards, without the lock. A vertex's type is its label as the graph shows it
(``a::b`` for a vertex with several labels); an edge's type is (from-vertex type, edge label,
to-vertex type), so edges of one label between different vertex types are separate tables, as
neptune-export writes them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from emulator.services.neptune.store import GraphStore

EdgeType = tuple[str, str, str]
#: how multi-valued properties are written in one CSV cell (neptune-export's array separator)
MULTI_VALUE_SEPARATOR = ";"


@dataclass
class Table:
    """The rows of one node or edge type: ids, (for edges) end ids, and each property's values per row."""

    ids: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    targets: list[str] = field(default_factory=list)
    rows: list[dict[str, list[Any]]] = field(default_factory=list)

    def property_names(self) -> list[str]:
        """Every property some row has, in first-seen order (the CSV's column order)."""
        seen: dict[str, None] = {}
        for row in self.rows:
            for name in row:
                seen.setdefault(name)
        return list(seen)

    def column(self, name: str) -> list[list[Any]]:
        return [row.get(name, []) for row in self.rows]


@dataclass
class GraphSnapshot:
    nodes: dict[str, Table]
    edges: dict[EdgeType, Table]


def take_snapshot(store: GraphStore, node_labels: Iterable[str] | None = None,
                  edge_labels: Iterable[str] | None = None) -> GraphSnapshot:
    """Copy the graph (optionally only some vertex and edge labels) in one consistent read.

    An edge is exported when its label is selected and both its end vertices are.
    """
    wanted_nodes = set(node_labels) if node_labels is not None else None
    wanted_edges = set(edge_labels) if edge_labels is not None else None
    nodes: dict[str, Table] = {}
    edges: dict[EdgeType, Table] = {}
    with store.lock.reading():
        for vertex in store.vertices.values():
            if wanted_nodes is not None and not any(vertex.has_label(label) for label in wanted_nodes):
                continue
            table = nodes.setdefault(vertex.label, Table())
            table.ids.append(vertex.id)
            table.rows.append({key: list(values) for key, values in vertex.props.items()})
        for edge in store.edges.values():
            if wanted_edges is not None and edge.label not in wanted_edges:
                continue
            if edge.out_v.label not in nodes or edge.in_v.label not in nodes:
                continue  # an end vertex was not selected
            table = edges.setdefault((edge.out_v.label, edge.label, edge.in_v.label), Table())
            table.ids.append(edge.id)
            table.sources.append(edge.out_v.id)
            table.targets.append(edge.in_v.id)
            table.rows.append({key: [value] for key, value in edge.props.items()})
    return GraphSnapshot(nodes, edges)


def schema(snapshot: GraphSnapshot) -> tuple[dict[str, set[str]], dict[EdgeType, set[str]]]:
    """Each node type's and edge type's property names (what a request's targets may name)."""
    return ({label: set(table.property_names()) for label, table in snapshot.nodes.items()},
            {key: set(table.property_names()) for key, table in snapshot.edges.items()})


def cell(values: list[Any]) -> str:
    """One CSV cell: the values joined by ``;``, empty when the element lacks the property."""
    return MULTI_VALUE_SEPARATOR.join(format_value(value) for value in values)


def format_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    return str(value)


def value_kind(values: list[list[Any]]) -> str:
    """What a column holds, for the automatic feature choice: numeric, datetime, multi or string."""
    present = [row for row in values if row]
    if any(len(row) > 1 for row in present):
        return "multi"
    flat = [row[0] for row in present]
    if flat and all(isinstance(v, int | float) and not isinstance(v, bool) for v in flat):
        return "numeric"
    if flat and all(isinstance(v, dt.datetime) for v in flat):
        return "datetime"
    return "string"
