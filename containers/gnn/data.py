"""The training data of ``mlharbor/gnn``: features, labels and splits from the ETL's files,
topology from the graph server through gremlinpython.

The files are what ``mlharbor/graph-etl`` writes (``features.csv`` sparse ``node_id,index,value``,
``labels.csv``, ``splits.csv``, ``meta.json``); node order is the order of ``labels.csv``.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from containers import contract

#: Reads the graph's edges as (source id, target id) pairs.
EdgeSource = Callable[[], list[tuple[str, str]]]

SPLITS = ("train", "val", "test")


class DataError(ValueError):
    """The input files or the graph cannot be used; the message says which and why."""


@dataclass
class NodeTable:
    """What the ETL wrote about the nodes, as tensors in one node order."""

    node_ids: list[str]
    x: Tensor
    y: Tensor
    masks: dict[str, Tensor]
    classes: list[str]
    meta: dict[str, object]

    @property
    def index(self) -> dict[str, int]:
        return {node_id: row for row, node_id in enumerate(self.node_ids)}


@dataclass
class GraphData:
    """A node table plus its topology: everything one full-batch epoch needs."""

    nodes: NodeTable
    edge_index: Tensor
    skipped_edges: int = 0


def _rows(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        raise DataError(f"missing {path.name} in {path.parent} (expected the graph-etl features output)")
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def read_node_table(directory: Path, normalize: bool = True) -> NodeTable:
    """Load ``labels.csv``, ``splits.csv``, ``features.csv`` and ``meta.json`` from one channel.

    Raises:
        DataError: a missing file, or files that disagree about the nodes.
    """
    meta_path = directory / "meta.json"
    if not meta_path.is_file():
        raise DataError(f"missing meta.json in {directory} (expected the graph-etl features output)")
    meta = json.loads(meta_path.read_text())
    labels = _rows(directory / "labels.csv")
    node_ids = [row["node_id"] for row in labels]
    index = {node_id: row for row, node_id in enumerate(node_ids)}
    y = torch.tensor([int(row["label"]) for row in labels], dtype=torch.long)
    masks = {split: torch.zeros(len(node_ids), dtype=torch.bool) for split in SPLITS}
    for row in _rows(directory / "splits.csv"):
        if row["node_id"] not in index:
            raise DataError(f"splits.csv names node {row['node_id']!r}, which labels.csv lacks")
        if row["split"] in masks:
            masks[row["split"]][index[row["node_id"]]] = True
    x = dense_features(_rows(directory / "features.csv"), index, int(meta["num_features"]))
    if normalize:
        x = normalize_rows(x)
    if not masks["train"].any():
        raise DataError("no training nodes: splits.csv has no 'train' rows")
    return NodeTable(node_ids, x, y, masks, list(meta["classes"]), meta)


def dense_features(rows: list[dict[str, str]], index: dict[str, int], num_features: int) -> Tensor:
    """The ``(|V|, F)`` matrix from sparse ``node_id,index,value`` rows.

    Raises:
        DataError: a row names an unknown node or an index outside ``0..F-1``.
    """
    positions, columns, values = [], [], []
    for row in rows:
        if row["node_id"] not in index:
            raise DataError(f"features.csv names node {row['node_id']!r}, which labels.csv lacks")
        column = int(row["index"])
        if not 0 <= column < num_features:
            raise DataError(f"features.csv: index {column} of {row['node_id']!r} outside 0..{num_features - 1}")
        positions.append(index[row["node_id"]])
        columns.append(column)
        values.append(float(row["value"]))
    x = torch.zeros(len(index), num_features)
    x[torch.tensor(positions, dtype=torch.long), torch.tensor(columns, dtype=torch.long)] = torch.tensor(values)
    return x


def normalize_rows(x: Tensor) -> Tensor:
    """Each row divided by its sum (rows of zeros stay zero): Kipf & Welling's feature preprocessing."""
    total = x.sum(dim=1, keepdim=True)
    return x / total.clamp(min=1e-12)


def edge_index_from_pairs(pairs: Iterable[tuple[str, str]], index: dict[str, int],
                          undirected: bool) -> tuple[Tensor, int]:
    """``(2, |E|)`` edge index over the node order, and how many pairs named unknown nodes.

    Undirected graphs get both directions, duplicates removed.
    """
    edges: set[tuple[int, int]] = set()
    skipped = 0
    for source, target in pairs:
        if source not in index or target not in index:
            skipped += 1
            continue
        edges.add((index[source], index[target]))
        if undirected:
            edges.add((index[target], index[source]))
    ordered = sorted(edges)
    if not ordered:
        return torch.zeros(2, 0, dtype=torch.long), skipped
    return torch.tensor(ordered, dtype=torch.long).t().contiguous(), skipped


def graph_endpoint(explicit: str = "") -> str:
    """The Gremlin URL: hyperparameter ``graph_endpoint``, else ``MLHARBOR_GRAPH_ENDPOINT``.

    Raises:
        DataError: neither is set.
    """
    endpoint = explicit or os.environ.get(contract.GRAPH_ENDPOINT_ENV, "")
    if not endpoint:
        raise DataError(f"no graph endpoint: set hyperparameter graph_endpoint or {contract.GRAPH_ENDPOINT_ENV}")
    return endpoint


def neptune_iam_headers(endpoint: str) -> dict[str, str]:
    """SigV4 headers (service ``neptune-db``) for the websocket handshake, from the job's AWS credentials.

    A graph server with IAM authentication on refuses an unsigned handshake; one without ignores them.
    """
    key, secret = os.environ.get("AWS_ACCESS_KEY_ID"), os.environ.get("AWS_SECRET_ACCESS_KEY")
    if not key or not secret:
        return {}
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest(method="GET", url="http" + endpoint.removeprefix("ws"), data=None)
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    SigV4Auth(Credentials(key, secret, os.environ.get("AWS_SESSION_TOKEN")), "neptune-db", region).add_auth(request)
    return dict(request.headers.items())


def gremlin_edges(endpoint: str, edge_label: str = "") -> EdgeSource:
    """An :data:`EdgeSource` reading ``g.E()[.hasLabel(l)].project('s','t')`` over gremlinpython."""

    def read() -> list[tuple[str, str]]:
        from gremlin_python.driver.driver_remote_connection import DriverRemoteConnection
        from gremlin_python.process.anonymous_traversal import traversal
        from gremlin_python.process.graph_traversal import __

        try:
            connection = DriverRemoteConnection(endpoint, "g", headers=neptune_iam_headers(endpoint))
        except Exception as error:  # gremlinpython raises transport-specific errors
            raise DataError(f"cannot reach the graph server at {endpoint}: {error}") from None
        try:
            g = traversal().with_(connection)
            edges = g.E().has_label(edge_label) if edge_label else g.E()
            rows = edges.project("s", "t").by(__.out_v().id_()).by(__.in_v().id_()).to_list()
        finally:
            connection.close()
        return [(str(row["s"]), str(row["t"])) for row in rows]

    return read


def load_graph(directory: Path, edges: EdgeSource, normalize: bool = True, undirected: bool = True) -> GraphData:
    """Node table from ``directory``, topology from ``edges``.

    Raises:
        DataError: bad files, or a graph without a single edge between known nodes.
    """
    nodes = read_node_table(directory, normalize)
    edge_index, skipped = edge_index_from_pairs(edges(), nodes.index, undirected)
    if edge_index.size(1) == 0:
        raise DataError(f"the graph has no edges between the {len(nodes.node_ids)} nodes of {directory} "
                        f"({skipped} edges name other nodes): was the bulk load run?")
    return GraphData(nodes, edge_index, skipped)
