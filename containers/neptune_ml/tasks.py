"""What one training task computes on the processed graph: its loss, its metrics on a split, its predictions.

- :class:`NodeTask` (``node_class`` / ``node_regression``): cross-entropy or mean squared error on the target
  type's labelled training nodes; metric ``acc`` or ``rmse`` (on the raw label scale).
- :class:`EdgeTask` (``edge_class`` / ``edge_regression``): the same over the target edge type's edges.
- :class:`LinkTask` (``link_predict``): message passing over the training edges only (validation and test edges
  are held out of the graph), logistic loss on each training edge against ``num-negs`` corrupted ones; metrics
  ``mrr`` (filtered rank of the true end among every node of its type) and ``auc`` (the split's edges against as
  many random pairs, drawn once per split with the job's seed).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from containers.neptune_ml.graph import EdgeType, Graph, GraphError, edge_key
from containers.neptune_ml.models import EDGE_TASKS, LINK_TASK, NODE_TASKS, ModelShape
from containers.neptune_ml.models.decoders import score_candidates

#: Each task's objective metric and whether larger is better (Neptune ML's eval_metric defaults).
PRIMARY_METRIC = {"node_class": "acc", "edge_class": "acc", "node_regression": "rmse", "edge_regression": "rmse",
                  "link_predict": "mrr"}
#: Link prediction ranks at most this many held-out edges per evaluation (a large graph's metric is an estimate).
MAX_RANKED_EDGES = 2000


def larger_is_better(metric: str) -> bool:
    return metric != "rmse"


def row_normalize(x: Tensor) -> Tensor:
    """Each row divided by its sum (GCN's feature normalisation), for non-negative features; else unchanged."""
    if x.numel() == 0 or bool((x < 0).any()):
        return x
    return x / x.sum(dim=1, keepdim=True).clamp(min=1e-12)


def input_features(graph: Graph, normalize: bool) -> dict[str, Tensor]:
    return {name: row_normalize(x) if normalize else x for name, x in graph.node_features().items()}


def auc_score(positive: Tensor, negative: Tensor) -> float:
    """The probability that a positive outscores a negative (ties count one half): the ROC AUC."""
    scores = torch.cat([positive, negative]).double()
    ranks = torch.empty_like(scores)
    order = scores.argsort()
    ranks[order] = torch.arange(1, len(scores) + 1, dtype=torch.double)
    for value in scores.unique()[(scores.unique(return_counts=True)[1] > 1)]:  # average the ranks of ties
        tied = scores == value
        ranks[tied] = ranks[tied].mean()
    count_pos, count_neg = len(positive), len(negative)
    if not count_pos or not count_neg:
        return float("nan")
    return float((ranks[:count_pos].sum() - count_pos * (count_pos + 1) / 2) / (count_pos * count_neg))


class GraphTask:
    hp: dict[str, Any]

    @property
    def undirected(self) -> bool:
        return bool(self.hp["undirected"])


@dataclass
class LabelledTask(GraphTask):
    """Shared by node and edge targets: the labels, masks, and how outputs become losses and metrics."""

    graph: Graph
    hp: dict[str, Any]
    labels: Tensor = field(init=False)
    masks: dict[str, Tensor] = field(init=False)

    @property
    def task(self) -> str:
        return str(self.hp["task"])

    @property
    def regression(self) -> bool:
        return self.task.endswith("regression")

    @property
    def classes(self) -> list[str]:
        return list(self.graph.target.get("classes") or [])

    def outputs(self) -> int:
        return 1 if self.regression else max(len(self.classes), 1)

    def label_scale(self) -> tuple[float, float]:
        if not self.regression:
            return 0.0, 1.0
        known = self.labels[self.masks["train"] & ~torch.isnan(self.labels)]
        mean = float(self.graph.target.get("label_mean", known.mean() if len(known) else 0.0))
        std = float(self.graph.target.get("label_std", known.std() if len(known) > 1 else 1.0)) or 1.0
        return mean, std

    def _mask(self, split: str) -> Tensor:
        mask = self.masks.get(split, torch.zeros_like(self.labels, dtype=torch.bool))
        return mask & (~torch.isnan(self.labels) if self.regression else self.labels >= 0)

    def loss_of(self, out: Tensor) -> Tensor:
        mask = self._mask("train")
        if self.regression:
            mean, std = self.label_scale()
            return F.mse_loss(out[mask].squeeze(1), (self.labels[mask] - mean) / std)
        return F.cross_entropy(out[mask], self.labels[mask])

    def metrics_of(self, out: Tensor, split: str) -> dict[str, float]:
        mask = self._mask(split)
        if not mask.any():
            return {PRIMARY_METRIC[self.task]: float("nan")}
        if self.regression:
            mean, std = self.label_scale()
            error = out[mask].squeeze(1) * std + mean - self.labels[mask]
            return {"rmse": float(error.pow(2).mean().sqrt())}
        return {"acc": float((out[mask].argmax(dim=1) == self.labels[mask]).float().mean())}

    def prediction_arrays(self, out: Tensor) -> dict[str, np.ndarray]:
        if self.regression:
            mean, std = self.label_scale()
            return {"value": (out.squeeze(1) * std + mean).numpy().astype(np.float32)}
        return {"probs": torch.softmax(out, dim=1).numpy().astype(np.float32)}


@dataclass
class NodeTask(LabelledTask):
    def __post_init__(self) -> None:
        name = self.graph.target.get("type")
        if name not in self.graph.nodes or self.graph.nodes[name].labels is None:
            raise GraphError(f"target node type {name!r} has no labels in the processed data")
        table = self.graph.nodes[name]
        self.node_type, self.labels, self.masks = name, table.labels, table.masks
        if self.regression:
            self.labels = self.labels.float()
        self.x = input_features(self.graph, bool(self.hp["row-normalize"]))
        self.edges = self.graph.message_edges(undirected=self.undirected)

    def shape(self) -> ModelShape:
        return ModelShape({k: v.size(1) for k, v in self.x.items()}, self.graph.num_nodes(),
                          self.graph.relation_types(self.undirected), self.outputs())

    def forward(self, model: nn.Module) -> Tensor:
        return model(self.x, self.edges)[self.node_type]

    def loss(self, model: nn.Module) -> Tensor:
        return self.loss_of(self.forward(model))

    def evaluate(self, model: nn.Module, splits: tuple[str, ...]) -> dict[str, dict[str, float]]:
        out = self.forward(model)
        return {split: self.metrics_of(out, split) for split in splits}

    def predictions(self, model: nn.Module) -> dict[str, dict[str, np.ndarray]]:
        return {f"{self.node_type}.npz": self.prediction_arrays(self.forward(model))}


@dataclass
class EdgeTask(LabelledTask):
    def __post_init__(self) -> None:
        self.edge_type: EdgeType = self.graph.edge_type_of(str(self.graph.target.get("type")))
        table = self.graph.edges[self.edge_type]
        if table.labels is None:
            raise GraphError(f"target edge type {edge_key(self.edge_type)} has no labels in the processed data")
        self.table, self.labels, self.masks = table, table.labels, table.masks
        if self.regression:
            self.labels = self.labels.float()
        self.x = input_features(self.graph, bool(self.hp["row-normalize"]))
        self.edges = self.graph.message_edges(undirected=self.undirected)

    def shape(self) -> ModelShape:
        return ModelShape({k: v.size(1) for k, v in self.x.items()}, self.graph.num_nodes(),
                          self.graph.relation_types(self.undirected), self.outputs(),
                          self.table.features.size(1))

    def forward(self, model: nn.Module) -> Tensor:
        return model(self.x, self.edges, self.edge_type, self.table.edge_index, self.table.features)

    loss = NodeTask.loss
    evaluate = NodeTask.evaluate

    def predictions(self, model: nn.Module) -> dict[str, dict[str, np.ndarray]]:
        return {f"{edge_key(self.edge_type)}.npz": self.prediction_arrays(self.forward(model))}


@dataclass
class LinkTask(GraphTask):
    graph: Graph
    hp: dict[str, Any]

    def __post_init__(self) -> None:
        key = self.graph.target.get("type")
        self.targets: list[EdgeType] = [self.graph.edge_type_of(key)] if key else sorted(self.graph.edges)
        self.held_out = {}
        for edge_type in self.targets:
            masks = self.graph.edges[edge_type].masks
            count = len(self.graph.edges[edge_type].src)
            if "train" not in masks:
                raise GraphError(f"link target {edge_key(edge_type)} has no train_mask")
            self.held_out[edge_type] = ~masks["train"] if count else torch.zeros(0, dtype=torch.bool)
        self.x = input_features(self.graph, bool(self.hp["row-normalize"]))
        self.edges = self.graph.message_edges(exclude=self.held_out, undirected=self.undirected)
        self.generator = torch.Generator().manual_seed(int(self.hp["seed"]))
        self.negatives = {split: self._fixed_negatives(split) for split in ("val", "test")}
        self.known = {edge_type: self._known_tails(edge_type) for edge_type in self.targets}

    def shape(self) -> ModelShape:
        keys = tuple(edge_key(t) for t in sorted(self.graph.edges))
        return ModelShape({k: v.size(1) for k, v in self.x.items()}, self.graph.num_nodes(),
                          self.graph.relation_types(self.undirected), link_keys=keys)

    def split_edges(self, edge_type: EdgeType, split: str) -> Tensor:
        table = self.graph.edges[edge_type]
        mask = table.masks.get(split)
        return table.edge_index[:, mask] if mask is not None else table.edge_index[:, :0]

    def _fixed_negatives(self, split: str) -> dict[EdgeType, Tensor]:
        generator = torch.Generator().manual_seed(int(self.hp["seed"]) + (1 if split == "val" else 2))
        drawn = {}
        for edge_type in self.targets:
            count = self.split_edges(edge_type, split).size(1)
            sizes = self.graph.num_nodes()
            drawn[edge_type] = torch.stack([torch.randint(sizes[edge_type[0]], (count,), generator=generator),
                                            torch.randint(sizes[edge_type[2]], (count,), generator=generator)])
        return drawn

    def _known_tails(self, edge_type: EdgeType) -> dict[int, list[int]]:
        table = self.graph.edges[edge_type]
        known: dict[int, list[int]] = {}
        for src, dst in zip(table.src.tolist(), table.dst.tolist(), strict=True):
            known.setdefault(src, []).append(dst)
        return known

    def embed(self, model: nn.Module) -> dict[str, Tensor]:
        return model.embed(self.x, self.edges)

    def loss(self, model: nn.Module) -> Tensor:
        h = self.embed(model)
        sizes = self.graph.num_nodes()
        negs = int(self.hp["num-negs"])
        losses = []
        for edge_type in self.targets:
            positive = self.split_edges(edge_type, "train")
            if positive.size(1) == 0:
                continue
            batch = int(self.hp["batch-size"])
            if 0 < batch < positive.size(1):
                positive = positive[:, torch.randperm(positive.size(1), generator=self.generator)[:batch]]
            key = edge_key(edge_type)
            src, dst = positive.repeat(1, negs)
            corrupt_tail = torch.rand(len(src), generator=self.generator) < 0.5
            random_src = torch.randint(sizes[edge_type[0]], (len(src),), generator=self.generator)
            random_dst = torch.randint(sizes[edge_type[2]], (len(src),), generator=self.generator)
            neg_src = torch.where(corrupt_tail, src, random_src)
            neg_dst = torch.where(corrupt_tail, random_dst, dst)
            pos_score = model.triple_score(key, h[edge_type[0]][positive[0]], h[edge_type[2]][positive[1]])
            neg_score = model.triple_score(key, h[edge_type[0]][neg_src], h[edge_type[2]][neg_dst])
            losses.append(-F.logsigmoid(pos_score).mean() - F.logsigmoid(-neg_score).mean())
        if not losses:
            raise GraphError("no training edges for link prediction")
        return torch.stack(losses).mean()

    def evaluate(self, model: nn.Module, splits: tuple[str, ...]) -> dict[str, dict[str, float]]:
        h = self.embed(model)
        results = {}
        for split in splits:
            positives, negatives, reciprocal = [], [], []
            for edge_type in self.targets:
                key = edge_key(edge_type)
                edges = self.split_edges(edge_type, split)
                if edges.size(1) == 0:
                    continue
                negative = self.negatives[split][edge_type]
                positives.append(model.triple_score(key, h[edge_type[0]][edges[0]], h[edge_type[2]][edges[1]]))
                negatives.append(model.triple_score(key, h[edge_type[0]][negative[0]], h[edge_type[2]][negative[1]]))
                reciprocal.append(self._reciprocal_ranks(model, h, edge_type, edges[:, :MAX_RANKED_EDGES]))
            if not positives:
                results[split] = {"mrr": float("nan"), "auc": float("nan")}
                continue
            results[split] = {"mrr": float(torch.cat(reciprocal).mean()),
                              "auc": auc_score(torch.cat(positives), torch.cat(negatives))}
        return results

    def _reciprocal_ranks(self, model: nn.Module, h: dict[str, Tensor], edge_type: EdgeType, edges: Tensor) -> Tensor:
        relation = model.relations[edge_key(edge_type)]
        scores = score_candidates(model.decoder, h[edge_type[0]][edges[0]], relation, h[edge_type[2]], True,
                                  getattr(model, "gamma", 12.0))
        true = scores[torch.arange(edges.size(1)), edges[1]].clone()
        for row, src in enumerate(edges[0].tolist()):  # filtered ranking: other true tails do not count
            scores[row, self.known[edge_type].get(src, [])] = -math.inf
        rank = 1 + (scores > true.unsqueeze(1)).sum(dim=1)
        return 1.0 / rank.double()

    def predictions(self, model: nn.Module) -> dict[str, dict[str, np.ndarray]]:
        h = self.embed(model)
        files: dict[str, dict[str, np.ndarray]] = {
            f"embeddings/{name}.npy": {"": value.numpy().astype(np.float32)} for name, value in h.items()}
        files["relations.npz"] = {key: model.relations[key].detach().numpy().astype(np.float32)
                                  for key in model.relations.keys}
        return files


def make_task(graph: Graph, hp: dict[str, Any]) -> NodeTask | EdgeTask | LinkTask:
    task = hp["task"]
    if task in NODE_TASKS:
        return NodeTask(graph, hp)
    if task in EDGE_TASKS:
        return EdgeTask(graph, hp)
    if task == LINK_TASK:
        return LinkTask(graph, hp)
    raise GraphError(f"unknown task {task!r}")
