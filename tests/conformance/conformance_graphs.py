"""The suite's test graphs (GraphSON 3 star-graph lines) loaded into the graph server through gremlinpython.

Ids are loaded as strings of the file's ids (Neptune's ids are strings, and user-supplied ids are allowed:
https://docs.aws.amazon.com/neptune/latest/userguide/access-graph-gremlin-differences.html). Multi-valued
properties (the crew graph) are added with set cardinality; meta-properties are dropped, since Neptune has
none (scenarios that need them are skipped by tag).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance_compare import Lookups
from gremlin_python.process.graph_traversal import GraphTraversalSource, __
from gremlin_python.process.traversal import Cardinality, T
from gremlin_python.structure.graph import Edge, Vertex, VertexProperty
from gremlin_python.structure.io.graphsonV3d0 import GraphSONReader

GRAPH_FILES = {"modern": "tinkerpop-modern.json", "classic": "tinkerpop-classic.json",
               "crew": "tinkerpop-crew.json", "sink": "tinkerpop-sink.json", "grateful": "grateful-dead.json"}
#: vertices (or edges) added per request
BATCH = 50


@dataclass
class StarVertex:
    id: str
    label: str
    properties: list[tuple[str, Any]]
    out_edges: list[tuple[str, str, str, dict[str, Any]]]  # (edge id, label, in-vertex id, properties)


def read_graph(path: Path) -> list[StarVertex]:
    """The vertices (with their out-edges) of a GraphSON 3 adjacency-list file."""
    reader = GraphSONReader()
    vertices = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        raw = json.loads(line)
        properties = [(key, reader.to_object(item["value"]))
                      for key, items in raw.get("properties", {}).items() for item in items]
        edges = [(str(reader.to_object(edge["id"])), label, str(reader.to_object(edge["inV"])),
                  {key: reader.to_object(value) for key, value in edge.get("properties", {}).items()})
                 for label, items in raw.get("outE", {}).items() for edge in items]
        vertices.append(StarVertex(str(reader.to_object(raw["id"])), raw["label"], properties, edges))
    return vertices


def load_graph(g: GraphTraversalSource, vertices: list[StarVertex]) -> None:
    """Clear the server's graph and add ``vertices`` and their edges, a batch of elements per request."""
    g.V().drop().iterate()
    for start in range(0, len(vertices), BATCH):
        traversal: Any = g
        for vertex in vertices[start:start + BATCH]:
            traversal = traversal.add_v(vertex.label).property(T.id, vertex.id)
            counts: dict[str, int] = {}
            for key, _ in vertex.properties:
                counts[key] = counts.get(key, 0) + 1
            for key, value in vertex.properties:
                if counts[key] > 1:
                    traversal = traversal.property(Cardinality.set_, key, value)
                else:
                    traversal = traversal.property(key, value)
        traversal.iterate()
    edges = [(vertex.id, edge) for vertex in vertices for edge in vertex.out_edges]
    for start in range(0, len(edges), BATCH):
        traversal = g
        for out_id, (edge_id, label, in_id, properties) in edges[start:start + BATCH]:
            traversal = traversal.V(out_id).add_e(label).to(__.V(in_id)).property(T.id, edge_id)
            for key, value in properties.items():
                traversal = traversal.property(key, value)
        traversal.iterate()


def graph_lookups(g: GraphTraversalSource) -> Lookups:
    """The names the notation uses (``v[marko]``, ``e[marko-knows->vadas]``, ``vp[marko-name->marko]``), read
    back from the server with plain steps only."""
    vertices: dict[str, Vertex] = {}
    names: dict[Any, str] = {}
    for vertex in g.V().to_list():
        found = g.V(vertex.id).values("name").to_list()
        if found:
            vertices[str(found[-1])] = vertex
            names[vertex.id] = str(found[-1])
    edges: dict[str, Edge] = {}
    for edge in g.E().to_list():
        out_name, in_name = names.get(edge.outV.id), names.get(edge.inV.id)
        if out_name is not None and in_name is not None:
            edges[f"{out_name}-{edge.label}->{in_name}"] = edge

    cache: dict[str, VertexProperty] = {}

    def vertex_properties() -> dict[str, VertexProperty]:
        if not cache:
            for name, vertex in vertices.items():
                for prop in g.V(vertex.id).properties().to_list():
                    cache[f"{name}-{prop.label}->{_typed_notation(prop.value)}"] = prop
        return cache

    return Lookups(vertices, edges, vertex_properties)


def _typed_notation(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    return f"d[{value}].i" if isinstance(value, int) else f"d[{value}].d"
