"""The processed graph (what ``containers.neptune_ml.processing`` writes) loaded as tensors, reverse relations added.

Layout (the Neptune ML contract, section 3): ``metadata.json``, ``nodes/<type>.ids.json`` + ``nodes/<type>.npz``
(``features`` [N, D]; the target type also ``labels`` and ``train_mask``/``val_mask``/``test_mask``),
``edges/<src>__<rel>__<dst>.npz`` (``src``, ``dst``, ``features``; an edge or link target also labels/masks) and
``edges/<key>.ids.json``. Message passing runs over every stored relation and its reverse ``rev-<rel>``
(``dst -> src``), which the processing does not materialise: a node then hears from both its in- and
out-neighbours, each direction with its own weights.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

FORMAT = "mlharbor-neptune-ml/1"
SPLITS = ("train", "val", "test")
REVERSE_PREFIX = "rev-"

#: (source type, relation, destination type): PyG's edge-type triple.
EdgeType = tuple[str, str, str]


class GraphError(ValueError):
    """The processed data cannot be used; the message says which file and why."""


def edge_key(edge_type: EdgeType) -> str:
    """``src__rel__dst``: the file stem and the metadata ``key`` of a stored edge type."""
    return "__".join(edge_type)


def reverse(edge_type: EdgeType) -> EdgeType:
    src, relation, dst = edge_type
    return dst, REVERSE_PREFIX + relation, src


@dataclass
class Table:
    """One node type or one edge type's arrays: features, and the target's labels and masks where it has them."""

    features: Tensor
    ids: list[str]
    labels: Tensor | None = None
    masks: dict[str, Tensor] = field(default_factory=dict)


@dataclass
class EdgeTable(Table):
    src: Tensor = field(default_factory=lambda: torch.zeros(0, dtype=torch.long))
    dst: Tensor = field(default_factory=lambda: torch.zeros(0, dtype=torch.long))

    @property
    def edge_index(self) -> Tensor:
        return torch.stack([self.src, self.dst])


@dataclass
class Graph:
    """The whole processed graph: node tables by type, edge tables by (src, rel, dst), the metadata."""

    metadata: dict[str, Any]
    nodes: dict[str, Table]
    edges: dict[EdgeType, EdgeTable]

    @property
    def target(self) -> dict[str, Any]:
        return self.metadata.get("target") or {}

    @property
    def task(self) -> str:
        return str(self.target.get("task", ""))

    def num_nodes(self) -> dict[str, int]:
        return {name: len(table.ids) for name, table in self.nodes.items()}

    def node_features(self) -> dict[str, Tensor]:
        return {name: table.features for name, table in self.nodes.items()}

    def edge_type_of(self, key: str) -> EdgeType:
        for edge_type in self.edges:
            if edge_key(edge_type) == key:
                return edge_type
        raise GraphError(f"no edge type {key!r} (have {[edge_key(t) for t in self.edges]})")

    def message_edges(self, exclude: dict[EdgeType, Tensor] | None = None,
                      undirected: bool = False) -> dict[EdgeType, Tensor]:
        """``edge_index`` per relation, each stored relation with its reverse; ``exclude`` drops edges (a bool mask
        per stored type, True = leave out: the validation and test edges of link prediction). ``undirected``: a
        relation between nodes of one type carries both directions itself (no ``rev-``), for graphs whose edge
        direction means nothing (Cora's citation list is stored with the larger index first)."""
        relations: dict[EdgeType, Tensor] = {}
        for edge_type, table in self.edges.items():
            index = table.edge_index
            if exclude is not None and edge_type in exclude:
                index = index[:, ~exclude[edge_type]]
            if undirected and edge_type[0] == edge_type[2]:
                relations[edge_type] = torch.cat([index, index.flip(0)], dim=1)
            else:
                relations[edge_type] = index
                relations[reverse(edge_type)] = index.flip(0)
        return relations

    def relation_types(self, undirected: bool = False) -> list[EdgeType]:
        """Every relation the encoder has weights for, in a fixed order (stored, then reverse, by key)."""
        relations = []
        for edge_type in sorted(self.edges):
            relations.append(edge_type)
            if not (undirected and edge_type[0] == edge_type[2]):
                relations.append(reverse(edge_type))
        return relations


def _load_npz(path: Path) -> dict[str, np.ndarray]:
    if not path.is_file():
        raise GraphError(f"missing {path}")
    with np.load(path, allow_pickle=False) as arrays:
        return {name: arrays[name] for name in arrays.files}


def _read_ids(path: Path) -> list[str]:
    if not path.is_file():
        raise GraphError(f"missing {path}")
    ids = json.loads(path.read_text())
    if not isinstance(ids, list):
        raise GraphError(f"{path.name} is not a JSON list")
    return [str(item) for item in ids]


def _features(arrays: dict[str, np.ndarray], rows: int, path: Path) -> Tensor:
    features = arrays.get("features")
    if features is None or features.size == 0:
        return torch.zeros(rows, 0)
    if features.shape[0] != rows:
        raise GraphError(f"{path.name}: features has {features.shape[0]} rows for {rows} ids")
    return torch.from_numpy(np.ascontiguousarray(features, dtype=np.float32)).reshape(rows, -1)


def _labels_and_masks(table: Table, arrays: dict[str, np.ndarray]) -> None:
    if "labels" in arrays:
        labels = arrays["labels"]
        table.labels = torch.from_numpy(labels.astype(np.int64 if labels.dtype.kind in "iu" else np.float32))
    for split in SPLITS:
        if f"{split}_mask" in arrays:
            table.masks[split] = torch.from_numpy(arrays[f"{split}_mask"].astype(bool))


def load(directory: Path) -> Graph:
    """Read the processed graph in ``directory``.

    Raises:
        GraphError: a missing file, an unknown format, or arrays that disagree with the ids.
    """
    meta_path = directory / "metadata.json"
    if not meta_path.is_file():
        raise GraphError(f"missing metadata.json in {directory} (expected Neptune ML data processing's output)")
    metadata = json.loads(meta_path.read_text())
    if metadata.get("format") != FORMAT:
        raise GraphError(f"metadata.json format {metadata.get('format')!r} is not {FORMAT!r}")
    nodes: dict[str, Table] = {}
    for name in metadata.get("node_types", {}):
        ids = _read_ids(directory / "nodes" / f"{name}.ids.json")
        path = directory / "nodes" / f"{name}.npz"
        arrays = _load_npz(path)
        table = Table(_features(arrays, len(ids), path), ids)
        _labels_and_masks(table, arrays)
        nodes[name] = table
    edges: dict[EdgeType, EdgeTable] = {}
    for description in metadata.get("edge_types", []):
        edge_type = (description["src"], description["relation"], description["dst"])
        if edge_type[0] not in nodes or edge_type[2] not in nodes:
            raise GraphError(f"edge type {description['key']} joins a node type metadata.json does not list")
        path = directory / "edges" / f"{description['key']}.npz"
        arrays = _load_npz(path)
        src, dst = torch.from_numpy(arrays["src"].astype(np.int64)), torch.from_numpy(arrays["dst"].astype(np.int64))
        ids_path = directory / "edges" / f"{description['key']}.ids.json"
        ids = _read_ids(ids_path) if ids_path.is_file() else [str(i) for i in range(len(src))]
        if len(src) != len(dst) or len(src) != len(ids):
            raise GraphError(f"{path.name}: src, dst and ids differ in length")
        for end, node_type in ((src, edge_type[0]), (dst, edge_type[2])):
            if len(end) and (int(end.min()) < 0 or int(end.max()) >= len(nodes[node_type].ids)):
                raise GraphError(f"{path.name}: an index is outside node type {node_type!r}")
        table = EdgeTable(_features(arrays, len(src), path), ids, src=src, dst=dst)
        _labels_and_masks(table, arrays)
        edges[edge_type] = table
    return Graph(metadata, nodes, edges)
