"""The training target: which labels, their encoding, and the train/validation/test masks.

One target per job, as on Neptune ML: the first label in the configuration (node files first, then
edge files); more are named in a warning. With none, the task is link prediction over every edge
type. Splits come from ``split_rate`` with a seeded shuffle of the labelled elements, or, with the
mlharbor extension ``custom_split_property``, from that column: ``train``; ``valid``/``val``/
``validation``; ``test``; any other value (or none) leaves the element out of every split.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy

from containers.neptune_ml.processing.config import LabelSpec, ProcessingError, TrainingConfig
from containers.neptune_ml.processing.tables import Cells, Graph

TASKS = {("node", "classification"): "node_class", ("node", "regression"): "node_regression",
         ("edge", "classification"): "edge_class", ("edge", "regression"): "edge_regression",
         ("edge", "link_prediction"): "link_predict"}
SPLIT_NAMES = {"train": 0, "training": 0, "valid": 1, "val": 1, "validation": 1, "test": 2}
DEFAULT_LINK_SPLIT = (0.8, 0.1, 0.1)


@dataclass
class ChosenTarget:
    kind: str  # node | edge
    type: str | None  # node type, edge key, or None (link prediction over every edge type)
    spec: LabelSpec
    warnings: list[str] = field(default_factory=list)

    @property
    def task(self) -> str:
        return TASKS[(self.kind, self.spec.type)]


@dataclass
class TargetArrays:
    """What goes into the target type's ``.npz`` (per edge key for link prediction over all types)."""

    arrays: dict[str, dict[str, numpy.ndarray]]
    metadata: dict[str, Any]


def choose_target(config: TrainingConfig) -> ChosenTarget:
    found: list[tuple[str, str, LabelSpec]] = []
    for node in config.nodes:
        found += [("node", node.type, label) for label in node.labels]
    for edge in config.edges:
        found += [("edge", edge.key, label) for label in edge.labels]
    distinct = list(dict.fromkeys((kind, key, label.column, label.type) for kind, key, label in found))
    if not found:
        spec = LabelSpec("", "link_prediction", DEFAULT_LINK_SPLIT)
        return ChosenTarget("edge", None, spec, ["no label in the configuration: the task is link prediction "
                                                 "over every edge type"])
    kind, key, spec = found[0]
    warnings = []
    if len(distinct) > 1:
        others = ", ".join(f"{k} {t} {c or 'links'} ({y})" for k, t, c, y in distinct[1:])
        warnings.append(f"{len(distinct)} targets in the configuration: training on the first "
                        f"({kind} {key} {spec.column or 'links'}, {spec.type}); ignored: {others}")
    return ChosenTarget(kind, key, spec, warnings)


def split_masks(count: int, eligible: numpy.ndarray, spec: LabelSpec, custom: Cells | None,
                seed: int) -> dict[str, numpy.ndarray]:
    """train_mask / val_mask / test_mask over ``count`` elements, only ever on ``eligible`` ones."""
    masks = {name: numpy.zeros(count, dtype=bool) for name in ("train_mask", "val_mask", "test_mask")}
    names = list(masks)
    if custom is not None:
        for i, value in enumerate(custom):
            split = SPLIT_NAMES.get((value or "").strip().lower())
            if split is not None and eligible[i]:
                masks[names[split]][i] = True
        return masks
    chosen = numpy.flatnonzero(eligible)
    order = numpy.random.default_rng(seed).permutation(len(chosen))
    n_train = int(round(spec.split_rate[0] * len(chosen)))
    n_val = min(int(round(spec.split_rate[1] * len(chosen))), len(chosen) - n_train)
    n_test = len(chosen) - n_train - n_val if spec.split_rate[2] > 0 else 0
    bounds = [(0, n_train), (n_train, n_train + n_val), (n_train + n_val, n_train + n_val + n_test)]
    for name, (start, stop) in zip(names, bounds, strict=True):
        masks[name][chosen[order[start:stop]]] = True
    return masks


def _column(columns: dict[str, Cells], name: str, where: str) -> Cells:
    if name not in columns:
        raise ProcessingError(f"{where}: no column {name!r} for the label")
    return columns[name]


def _tokens(value: str | None, separator: str | None) -> list[str]:
    if value is None:
        return []
    parts = value.split(separator) if separator else [value]
    return [part.strip() for part in parts if part.strip()]


def encode_target(graph: Graph, target: ChosenTarget, seed: int) -> TargetArrays:
    """Labels and masks for the target, and the ``metadata.json`` ``target`` object."""
    spec = target.spec
    meta: dict[str, Any] = {"kind": target.kind, "type": target.type, "property": spec.column or None,
                            "task": target.task, "classes": None, "split_rate": list(spec.split_rate),
                            "custom_split_property": spec.custom_split_property}
    if target.task == "link_predict":
        keys = [target.type] if target.type is not None else list(graph.edges)
        if not keys:
            raise ProcessingError("link prediction needs edges, and the configuration has no edge file")
        arrays = {}
        for key in keys:
            table = graph.edges[key]
            custom = (_column(table.columns, spec.custom_split_property, f"edges of {key}")
                      if spec.custom_split_property else None)
            arrays[key] = split_masks(len(table.ids), numpy.ones(len(table.ids), dtype=bool), spec, custom, seed)
        return TargetArrays(arrays, meta)
    if target.type is None:
        raise ProcessingError(f"a {target.task} target needs its node or edge type")
    if target.kind == "node":
        columns, count = graph.nodes[target.type].columns, len(graph.nodes[target.type].ids)
    else:
        columns, count = graph.edges[target.type].columns, len(graph.edges[target.type].ids)
    where = f"{target.kind} type {target.type!r}"
    values = _column(columns, spec.column, where)
    custom = _column(columns, spec.custom_split_property, where) if spec.custom_split_property else None
    if spec.type == "classification":
        tokens = [_tokens(value, spec.separator) for value in values]
        classes = sorted({token for row in tokens for token in row})
        if len(classes) < 2:
            raise ProcessingError(f"{where}: classification on {spec.column!r} needs at least two classes "
                                  f"(found {classes})")
        index = {name: i for i, name in enumerate(classes)}
        labels = numpy.array([index[row[0]] if row else -1 for row in tokens], dtype=numpy.int64)
        eligible = labels >= 0
        arrays = {"labels": labels}
        meta["classes"] = classes
        if spec.separator is not None:  # several classes per element: the first is `labels`, all are here
            multi_hot = numpy.zeros((count, len(classes)), dtype=bool)
            for i, row in enumerate(tokens):
                multi_hot[i, [index[name] for name in row]] = True
            arrays["label_multi_hot"] = multi_hot
            meta["separator"] = spec.separator
    else:
        labels = numpy.array([_number(value, where, spec.column) for value in values], dtype=numpy.float32)
        eligible = ~numpy.isnan(labels)
        arrays = {"labels": labels}
    masks = split_masks(count, eligible, spec, custom, seed)
    arrays.update(masks)
    if spec.type == "regression":
        basis = labels[masks["train_mask"]] if masks["train_mask"].any() else labels[eligible]
        meta["label_mean"] = float(basis.mean()) if len(basis) else 0.0
        meta["label_std"] = float(basis.std()) if len(basis) else 1.0
    if not masks["train_mask"].any():
        raise ProcessingError(f"{where}: no labelled element falls in the training split")
    return TargetArrays({target.type: arrays}, meta)


def _number(value: str | None, where: str, column: str) -> float:
    if value is None or not value.strip():
        return math.nan
    try:
        number = float(value)
    except ValueError:
        raise ProcessingError(f"{where}: regression label {column!r} has the value {value!r}, not a number") from None
    if not math.isfinite(number):
        raise ProcessingError(f"{where}: regression label {column!r} has the value {value!r}")
    return number
