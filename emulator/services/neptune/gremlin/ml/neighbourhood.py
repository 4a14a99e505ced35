"""The subgraph an inductive inference query sends: every vertex and edge within ``layers`` hops.

Neptune builds the neighbourhood the trained GNN needs (``num-layer`` hops from the targets) and the
endpoint featurizes it; here the walk follows edges both ways from the asked vertices (for an edge: both
its ends) and takes properties raw, a multi-valued vertex property joined by ``;`` as the export writes it.
"""

from __future__ import annotations

import datetime
import decimal
from collections.abc import Iterable
from typing import Any

from emulator.services.neptune.gremlin.ml.query import Subgraph
from emulator.services.neptune.store import EdgeRecord, VertexRecord

DEFAULT_LAYERS = 2


def raw_value(value: Any) -> Any:
    """A property value as JSON carries it (dates as ISO text, decimals as numbers)."""
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    return str(value)


def vertex_properties(vertex: VertexRecord) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, values in vertex.props.items():
        if len(values) == 1:
            found[key] = raw_value(values[0])
        elif values:
            found[key] = ";".join(str(raw_value(v)) for v in values)
    return found


def neighbourhood(start: Iterable[VertexRecord], layers: int = DEFAULT_LAYERS,
                  extra_edges: Iterable[EdgeRecord] = ()) -> Subgraph:
    """The vertices within ``layers`` hops of ``start`` and the edges walked to reach them, in visit order."""
    vertices: dict[str, VertexRecord] = {}
    edges: dict[str, EdgeRecord] = {edge.id: edge for edge in extra_edges}
    frontier: list[VertexRecord] = []
    for vertex in start:
        if vertex.id not in vertices:
            vertices[vertex.id] = vertex
            frontier.append(vertex)
    for _ in range(layers):
        reached: list[VertexRecord] = []
        for vertex in frontier:
            for edge in (*vertex.out_e, *vertex.in_e):
                edges.setdefault(edge.id, edge)
                for end in (edge.out_v, edge.in_v):
                    if end.id not in vertices:
                        vertices[end.id] = end
                        reached.append(end)
        frontier = reached
    return Subgraph(
        vertices=[{"id": v.id, "label": v.label, "properties": vertex_properties(v)} for v in vertices.values()],
        edges=[{"id": e.id, "label": e.label, "from": e.out_v.id, "to": e.in_v.id,
                "properties": {k: raw_value(v) for k, v in e.props.items()}}
               for e in edges.values() if e.out_v.id in vertices and e.in_v.id in vertices])
