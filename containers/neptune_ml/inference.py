"""Answers to the endpoint's requests (contract section 6), without HTTP: :class:`Inference` over a model directory.

Transductive: node and edge answers from ``predictions/``, link prediction from the stored embeddings and relation
vectors (every node of the other end's type scored, the relation's edges the model was trained on excluded).
Inductive: the sent subgraph's vertices featurized (a vertex the model knows keeps its stored features and learnt
embedding; a new one goes through ``features.apply`` with the fitted encoders of ``feature_transforms.json``), the
encoder run on it, and the head applied to the asked nodes or edges. Problems raise :class:`RequestError` (the
endpoint's 400).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from containers.neptune_ml import features as feature_encoders
from containers.neptune_ml.artifacts import GRAPH_DIR, PREDICTIONS_DIR, load_model_dir
from containers.neptune_ml.graph import EdgeType, Graph, edge_key, reverse
from containers.neptune_ml.models import EDGE_TASKS, LINK_TASK, NODE_TASKS
from containers.neptune_ml.models.decoders import score_candidates
from containers.neptune_ml.tasks import row_normalize

VERSION = "mlharbor-neptune-ml/1"
MAX_LIMIT = 100


class RequestError(ValueError):
    """A request the model cannot answer (the endpoint's HTTP 400 ``{"error": message}``)."""


@dataclass
class Inference:
    model: nn.Module
    config: dict[str, Any]
    graph: Graph
    predictions: dict[str, dict[str, np.ndarray]]
    transforms: dict[str, Any]

    def __post_init__(self) -> None:
        self.hp = self.config["hyperparameters"]
        self.task = self.config["task"]
        self.target = self.config["target"]
        self.node_index = {name: {node: row for row, node in enumerate(table.ids)}
                           for name, table in self.graph.nodes.items()}
        self.edge_index = {edge_type: {edge: row for row, edge in enumerate(table.ids)}
                           for edge_type, table in self.graph.edges.items()}

    # -- the request -------------------------------------------------------------------------
    def answer(self, request: Any) -> dict[str, Any]:
        if not isinstance(request, dict):
            raise RequestError("the body must be a JSON object")
        task = request.get("task")
        if task != self.task:
            raise RequestError(f"task {task!r} is not this model's task {self.task!r}")
        prop = request.get("property")
        if task != LINK_TASK and prop is not None and prop != self.target.get("property"):
            raise RequestError(f"property {prop!r} is not this model's target {self.target.get('property')!r}")
        mode = request.get("mode", "transductive")
        if mode not in ("transductive", "inductive"):
            raise RequestError(f"mode must be transductive or inductive, got {mode!r}")
        limit = request.get("limit", 1)
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_LIMIT:
            raise RequestError(f"limit must be an integer from 1 to {MAX_LIMIT}, got {limit!r}")
        threshold = request.get("threshold")
        if threshold is None:  # no threshold: every result (a link score may be negative)
            threshold = -float("inf")
        if not isinstance(threshold, int | float) or isinstance(threshold, bool):
            raise RequestError(f"threshold must be a number, got {threshold!r}")
        key = "edges" if task in EDGE_TASKS else "nodes"
        ids = request.get(key)
        if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
            raise RequestError(f'"{key}" must be a non-empty list of ids')
        if request.get("deterministic", True):
            torch.manual_seed(0)
        if task in NODE_TASKS:
            outputs = self._node_outputs(ids, mode, request.get("graph"))
        elif task in EDGE_TASKS:
            outputs = self._edge_outputs(ids, mode, request.get("graph"))
        else:
            return {"predictions": self._links(ids, request.get("link"), mode, request.get("graph"), limit,
                                               float(threshold))}
        return {"predictions": [{"id": i, "results": self._results(row, limit, float(threshold))}
                                for i, row in zip(ids, outputs, strict=True)]}

    def _results(self, row: np.ndarray, limit: int, threshold: float) -> list[dict[str, Any]]:
        if self.task.endswith("regression"):
            return [{"value": float(row), "score": None}]
        classes = self.target.get("classes") or []
        order = np.argsort(-row, kind="stable")[:limit]
        return [{"value": classes[i], "score": round(float(row[i]), 6)} for i in order if row[i] >= threshold]

    # -- node and edge tasks -----------------------------------------------------------------
    def _node_outputs(self, ids: list[str], mode: str, sent: Any) -> list[np.ndarray]:
        node_type = self.target["type"]
        arrays = self.predictions[f"{node_type}.npz"]
        values = arrays.get("probs", arrays.get("value"))
        if mode == "transductive":
            return [values[self._row(node_type, node)] for node in ids]
        sub = self._subgraph(sent)
        with torch.no_grad():
            out = self.model(sub.x, sub.edges, sub.rows)[node_type]
        return [self._finish(out[sub.position(node_type, node)]) for node in ids]

    def _edge_outputs(self, ids: list[str], mode: str, sent: Any) -> list[np.ndarray]:
        edge_type = self.graph.edge_type_of(self.target["type"])
        arrays = self.predictions[f"{edge_key(edge_type)}.npz"]
        values = arrays.get("probs", arrays.get("value"))
        if mode == "transductive":
            known = self.edge_index[edge_type]
            missing = [i for i in ids if i not in known]
            if missing:
                raise RequestError(f"unknown edge id(s) {missing[:10]} for {edge_key(edge_type)} in transductive mode")
            return [values[known[i]] for i in ids]
        sub = self._subgraph(sent)
        rows = []
        for edge in ids:
            if edge not in sub.edge_rows:
                raise RequestError(f"edge {edge!r} is not in the sent graph")
            found_type, src, dst, feats = sub.edge_rows[edge]
            if found_type != edge_type:
                raise RequestError(f"edge {edge!r} is {edge_key(found_type)}, the model predicts {edge_key(edge_type)}")
            pairs = torch.tensor([[src], [dst]])
            with torch.no_grad():
                out = self.model(sub.x, sub.edges, edge_type, pairs, feats.unsqueeze(0), sub.rows)
            rows.append(self._finish(out[0]))
        return rows

    def _finish(self, out: Tensor) -> np.ndarray:
        if self.task.endswith("regression"):
            mean, std = self.target.get("label_mean", 0.0), self.target.get("label_std", 1.0) or 1.0
            return np.float32(float(out.reshape(-1)[0]) * std + mean)
        return torch.softmax(out, dim=-1).numpy()

    def _row(self, node_type: str, node: str) -> int:
        row = self.node_index[node_type].get(node)
        if row is None:
            raise RequestError(f"unknown {node_type} id {node!r} in transductive mode (use inductive inference "
                               "for vertices added after training)")
        return row

    # -- link prediction ---------------------------------------------------------------------
    def _links(self, ids: list[str], link: Any, mode: str, sent: Any, limit: int,
               threshold: float) -> list[dict[str, Any]]:
        if not isinstance(link, dict) or not isinstance(link.get("relation"), str):
            raise RequestError('link_predict needs "link": {"relation": ..., "direction": "out"|"in"}')
        direction = link.get("direction", "out")
        if direction not in ("out", "in"):
            raise RequestError(f"link direction must be out or in, got {direction!r}")
        embeddings = {name[len("embeddings/"):-4]: torch.from_numpy(arrays[""])
                      for name, arrays in self.predictions.items() if name.startswith("embeddings/")}
        relations = self.predictions["relations.npz"]
        sub = self._subgraph(sent) if mode == "inductive" else None
        sub_h = None
        if sub is not None:
            with torch.no_grad():
                sub_h = self.model.embed(sub.x, sub.edges, sub.rows)
        answers = []
        for node in ids:
            node_type = self._type_of(node, sub)
            edge_type = self._link_type(link["relation"], node_type, direction, link.get("other_label"))
            known_type, other_type = (edge_type[0], edge_type[2]) if direction == "out" else (edge_type[2],
                                                                                                edge_type[0])
            if sub is not None and sub_h is not None:
                vector = sub_h[known_type][sub.position(known_type, node)]
            else:
                vector = embeddings[known_type][self._row(known_type, node)]
            relation = torch.from_numpy(relations[edge_key(edge_type)])
            with torch.no_grad():
                scores = score_candidates(self.model.decoder, vector.unsqueeze(0), relation, embeddings[other_type],
                                          direction == "out", float(self.hp.get("gamma", 12.0)))[0]
            if node in self.node_index[known_type]:
                table, row = self.graph.edges[edge_type], self.node_index[known_type][node]
                # the edges the model learnt from are left out; held-out (validation, test) ones may be predicted
                learnt = table.masks.get("train")
                near = (table.src if direction == "out" else table.dst) == row
                if learnt is not None:
                    near = near & learnt
                ends = table.dst[near] if direction == "out" else table.src[near]
                scores[ends] = -torch.inf
            order = torch.argsort(scores, descending=True)[:limit]
            other_ids = self.graph.nodes[other_type].ids
            answers.append({"id": node, "results": [
                {"value": other_ids[i], "score": round(float(scores[i]), 6)} for i in order.tolist()
                if torch.isfinite(scores[i]) and float(scores[i]) >= threshold]})
        return answers

    def _type_of(self, node: str, sub: Subgraph | None) -> str:
        if sub is not None and node in sub.types:
            return sub.types[node]
        found = [name for name, index in self.node_index.items() if node in index]
        if not found:
            raise RequestError(f"unknown vertex id {node!r} in transductive mode")
        return found[0]

    def _link_type(self, relation: str, node_type: str, direction: str, other: Any) -> EdgeType:
        for edge_type in self.graph.edges:
            near, far = (edge_type[0], edge_type[2]) if direction == "out" else (edge_type[2], edge_type[0])
            if edge_type[1] == relation and near == node_type and (other in (None, far)):
                return edge_type
        raise RequestError(f"the model predicts no {relation!r} edges {direction} of a {node_type!r} vertex"
                           + (f" to {other!r}" if other else ""))

    # -- inductive: the sent subgraph --------------------------------------------------------
    def _subgraph(self, sent: Any) -> Subgraph:
        if not isinstance(sent, dict) or not isinstance(sent.get("vertices"), list):
            raise RequestError('inductive mode needs "graph": {"vertices": [...], "edges": [...]}')
        return Subgraph.build(self, sent)


@dataclass
class Subgraph:
    """The sent vertices as per-type tensors, their edges per relation, and where each id landed."""

    x: dict[str, Tensor]
    rows: dict[str, Tensor]
    edges: dict[EdgeType, Tensor]
    positions: dict[str, dict[str, int]]
    types: dict[str, str]
    edge_rows: dict[str, tuple[EdgeType, int, int, Tensor]]

    def position(self, node_type: str, node: str) -> int:
        if node not in self.positions.get(node_type, {}):
            raise RequestError(f"vertex {node!r} ({node_type}) is not in the sent graph")
        return self.positions[node_type][node]

    @classmethod
    def build(cls, inference: Inference, sent: dict[str, Any]) -> Subgraph:
        graph = inference.graph
        by_type: dict[str, list[dict[str, Any]]] = {name: [] for name in graph.nodes}
        types: dict[str, str] = {}
        for vertex in sent["vertices"]:
            if not isinstance(vertex, dict) or not isinstance(vertex.get("id"), str):
                raise RequestError("each sent vertex needs an id")
            label = vertex.get("label")
            if label not in by_type:
                raise RequestError(f"vertex {vertex['id']!r} has label {label!r}, which the model has not seen")
            if vertex["id"] not in types:
                by_type[label].append(vertex)
                types[vertex["id"]] = label
        x, rows, positions = {}, {}, {}
        normalize = bool(inference.hp.get("row-normalize"))
        for name, vertices in by_type.items():
            table = graph.nodes[name]
            known = inference.node_index[name]
            matrix = np.zeros((len(vertices), table.features.size(1)), dtype=np.float32)
            index = [known.get(v["id"], -1) for v in vertices]
            new = [i for i, row in enumerate(index) if row < 0]
            for i, row in enumerate(index):
                if row >= 0:
                    matrix[i] = table.features[row].numpy()
            if new and table.features.size(1):
                matrix[new] = featurize(inference.transforms.get("nodes", {}).get(name, []),
                                        [vertices[i].get("properties") or {} for i in new], table.features.size(1))
            features = torch.from_numpy(matrix)
            x[name] = row_normalize(features) if normalize else features
            rows[name] = torch.tensor(index, dtype=torch.long)
            positions[name] = {v["id"]: i for i, v in enumerate(vertices)}
        edges: dict[EdgeType, list[tuple[int, int]]] = {}
        edge_rows: dict[str, tuple[EdgeType, int, int, Tensor]] = {}
        undirected = bool(inference.hp.get("undirected"))
        for edge in sent.get("edges") or []:
            if not isinstance(edge, dict) or edge.get("from") not in types or edge.get("to") not in types:
                continue  # an edge to a vertex outside the sent hops carries no message
            edge_type = (types[edge["from"]], edge.get("label"), types[edge["to"]])
            if edge_type not in graph.edges:
                continue
            src, dst = positions[edge_type[0]][edge["from"]], positions[edge_type[2]][edge["to"]]
            edges.setdefault(edge_type, []).append((src, dst))
            dim = graph.edges[edge_type].features.size(1)
            known = inference.edge_index[edge_type].get(str(edge.get("id")))
            if known is not None:
                feats = graph.edges[edge_type].features[known]
            else:
                feats = torch.from_numpy(featurize(inference.transforms.get("edges", {}).get(edge_key(edge_type), []),
                                                   [edge.get("properties") or {}], dim)[0])
            edge_rows[str(edge.get("id"))] = (edge_type, src, dst, feats)
        relations: dict[EdgeType, Tensor] = {}
        for edge_type, pairs in edges.items():
            index = torch.tensor(pairs, dtype=torch.long).t()
            if undirected and edge_type[0] == edge_type[2]:
                relations[edge_type] = torch.cat([index, index.flip(0)], dim=1)
            else:
                relations[edge_type] = index
                relations[reverse(edge_type)] = index.flip(0)
        return cls(x, rows, relations, positions, types, edge_rows)


def featurize(columns: list[dict[str, Any]], properties: list[dict[str, Any]], width: int) -> np.ndarray:
    """New vertices' (or edges') features with the fitted encoders, in ``feature_transforms.json``'s column order."""
    parts = []
    for column in columns:
        values = [feature_encoders.cell_text(_as_list(p.get(column["property"]))) for p in properties]
        parts.append(feature_encoders.apply(column["encoder"], values))
    matrix = np.concatenate(parts, axis=1) if parts else np.zeros((len(properties), 0), np.float32)
    if matrix.shape[1] != width:
        raise RequestError(f"featurized {matrix.shape[1]} columns, the model was trained on {width}")
    return matrix.astype(np.float32)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def load(model_dir: Path) -> Inference:
    torch.set_num_threads(1)  # one request's subgraph is small: threads only add synchronisation
    model, config, graph = load_model_dir(model_dir)
    predictions: dict[str, dict[str, np.ndarray]] = {}
    root = model_dir / PREDICTIONS_DIR
    for path in sorted(root.rglob("*")) if root.is_dir() else []:
        name = path.relative_to(root).as_posix()
        if path.suffix == ".npy":
            predictions[name] = {"": np.load(path, allow_pickle=False)}
        elif path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as arrays:
                predictions[name] = {key: arrays[key] for key in arrays.files}
    transforms_path = model_dir / GRAPH_DIR / "feature_transforms.json"
    transforms = json.loads(transforms_path.read_text()) if transforms_path.is_file() else {"nodes": {}, "edges": {}}
    return Inference(model, config, graph, predictions, transforms)
