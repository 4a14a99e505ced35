"""The Cora citation graph, converted to Neptune CSV, bulk-loaded from S3 and read back with gremlinpython."""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from gremlin_python.process.graph_traversal import GraphTraversalSource, __
from gremlin_python.process.traversal import T

from tests.services.neptune.conftest import CORA

Load = Callable[..., dict[str, Any]]


def cora_rows() -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    with open(CORA / "nodes.csv", newline="") as nodes, open(CORA / "edges.csv", newline="") as edges:
        return list(csv.DictReader(nodes)), list(csv.DictReader(edges))


def to_neptune_csv(nodes: list[dict[str, str]], edges: list[dict[str, str]]) -> tuple[str, str]:
    """Cora's raw tables as Gremlin load-data CSV (what the graph-etl job writes)."""
    vertices = io.StringIO()
    writer = csv.writer(vertices, lineterminator="\n")
    writer.writerow(["~id", "~label", "label:Int", "split:String", "features:Int[]"])
    for node in nodes:
        writer.writerow([node["node_id"], "paper", node["label"], node["split"], ";".join(node["features"].split())])
    links = io.StringIO()
    writer = csv.writer(links, lineterminator="\n")
    writer.writerow(["~id", "~from", "~to", "~label"])
    for index, edge in enumerate(edges):
        writer.writerow([f"e{index}", edge["source"], edge["target"], "cites"])
    return vertices.getvalue(), links.getvalue()


@pytest.mark.slow
@pytest.mark.parametrize("connection", ["graphbinary"], indirect=True)
def test_cora_bulk_load_and_read_back(empty_graph: GraphTraversalSource, load: Load) -> None:
    g = empty_graph
    nodes, edges = cora_rows()
    vertex_csv, edge_csv = to_neptune_csv(nodes, edges)
    status = load({"nodes.csv": vertex_csv, "edges.csv": edge_csv})
    overall = status["overallStatus"]
    assert overall["status"] == "LOAD_COMPLETED", status
    assert overall["totalRecords"] == len(nodes) + len(edges) == 2708 + 5278
    assert g.V().count().next() == 2708
    assert g.E().has_label("cites").count().next() == 5278
    assert g.V().group_count().by("split").next() == {"train": 140, "val": 500, "test": 1000, "none": 1068}
    assert g.V().group_count().by("label").next() == dict(Counter(int(n["label"]) for n in nodes))
    # degrees match the source table
    degree = Counter()
    for edge in edges:
        degree[edge["source"]] += 1
        degree[edge["target"]] += 1
    busiest, count = degree.most_common(1)[0]
    assert g.V(busiest).both().count().next() == count
    # a paged export of every vertex, as a training job reads it
    exported = {}
    for start in range(0, 2708, 1000):
        for row in g.V().order().by(T.id).range_(start, start + 1000).value_map(True).to_list():
            exported[row[T.id]] = row
    assert len(exported) == 2708
    for node in nodes[:50]:
        row = exported[node["node_id"]]
        assert row[T.label] == "paper" and row["label"] == [int(node["label"])]
        assert sorted(row["features"]) == sorted(int(f) for f in node["features"].split())
    pairs = g.E().project("s", "t").by(__.out_v().id_()).by(__.in_v().id_()).to_list()
    assert sorted((p["s"], p["t"]) for p in pairs) == sorted((e["source"], e["target"]) for e in edges)
