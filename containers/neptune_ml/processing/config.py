"""``training-data-configuration.json`` v2.0, read and checked into typed records.

The file is Neptune ML's
(https://docs.aws.amazon.com/neptune/latest/userguide/machine-learning-processing-training-config-file.html),
as the export writes it or a user edits it. Every problem raises :class:`ProcessingError` naming the
entry, which the program reports through ``/opt/ml/output/failure``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from containers.neptune_ml.features import FEATURE_TYPES

NODE_LABEL_TYPES = ("classification", "regression")
EDGE_LABEL_TYPES = ("classification", "regression", "link_prediction")


class ProcessingError(Exception):
    """The job cannot produce its outputs; the message says why."""


@dataclass(frozen=True)
class FeatureSpec:
    column: str
    name: str
    type: str
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class LabelSpec:
    column: str  # "" for link_prediction
    type: str
    split_rate: tuple[float, float, float]
    separator: str | None = None
    custom_split_property: str | None = None


@dataclass(frozen=True)
class NodeFile:
    file_name: str
    separator: str
    id_column: str
    type: str
    features: tuple[FeatureSpec, ...]
    labels: tuple[LabelSpec, ...]


@dataclass(frozen=True)
class EdgeFile:
    file_name: str
    separator: str
    source_column: str
    source_type: str
    relation: str
    dest_column: str
    dest_type: str
    features: tuple[FeatureSpec, ...]
    labels: tuple[LabelSpec, ...]

    @property
    def key(self) -> str:
        return edge_key(self.source_type, self.relation, self.dest_type)


@dataclass(frozen=True)
class TrainingConfig:
    nodes: tuple[NodeFile, ...]
    edges: tuple[EdgeFile, ...]
    warnings: tuple[str, ...] = ()


def edge_key(source: str, relation: str, dest: str) -> str:
    """An edge type's name in the processed graph (``<src>__<rel>__<dst>``)."""
    return f"{source}__{relation}__{dest}"


def read_config(path: Path) -> TrainingConfig:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProcessingError(f"the training configuration {path.name} is not in the input "
                              f"(give its name with --config-file-name)") from None
    except ValueError as error:
        raise ProcessingError(f"{path.name} is not valid JSON: {error}") from None
    return parse_config(document, path.name)


def parse_config(document: Any, name: str = "training-data-configuration.json") -> TrainingConfig:
    if not isinstance(document, dict):
        raise ProcessingError(f"{name}: the top level must be a JSON object")
    if document.get("version") != "v2.0":
        raise ProcessingError(f"{name}: version must be \"v2.0\" (got {document.get('version')!r})")
    graph = document.get("graph")
    if not isinstance(graph, dict):
        raise ProcessingError(f"{name}: \"graph\" must be an object with \"nodes\" and \"edges\"")
    nodes = tuple(_node_file(entry, f"{name}: graph.nodes[{i}]") for i, entry in enumerate(_list(graph, "nodes", name)))
    edges = tuple(_edge_file(entry, f"{name}: graph.edges[{i}]") for i, entry in enumerate(_list(graph, "edges", name)))
    if not nodes and not edges:
        raise ProcessingError(f"{name}: the graph has no node or edge files")
    warnings = document.get("warnings", [])
    return TrainingConfig(nodes, edges, tuple(str(w) for w in warnings) if isinstance(warnings, list) else ())


def _list(container: dict, key: str, where: str) -> list[Any]:
    value = container.get(key, [])
    if not isinstance(value, list):
        raise ProcessingError(f"{where}: {key} must be a list")
    return value


def _pair(entry: dict, key: str, where: str) -> tuple[str, str]:
    value = entry.get(key)
    if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value)):
        raise ProcessingError(f"{where}: {key} must be [column, name]")
    return value[0], value[1]


def _common(entry: Any, where: str) -> tuple[str, str]:
    if not isinstance(entry, dict):
        raise ProcessingError(f"{where} must be an object")
    file_name = entry.get("file_name")
    if not isinstance(file_name, str) or not file_name or file_name.startswith("/") or ".." in file_name.split("/"):
        raise ProcessingError(f"{where}: file_name must be a path relative to the export folder")
    separator = entry.get("separator", ",")
    if not isinstance(separator, str) or len(separator) != 1:
        raise ProcessingError(f"{where}: separator must be one character")
    return file_name, separator


def _node_file(entry: Any, where: str) -> NodeFile:
    file_name, separator = _common(entry, where)
    id_column, node_type = _pair(entry, "node", where)
    if not id_column or not node_type:
        raise ProcessingError(f"{where}: node must be [id column, label], both non-empty")
    features, labels = _features_and_labels(entry, where, NODE_LABEL_TYPES)
    return NodeFile(file_name, separator, id_column, node_type, features, labels)


def _edge_file(entry: Any, where: str) -> EdgeFile:
    file_name, separator = _common(entry, where)
    source_column, source_type = _pair(entry, "source", where)
    relation_column, relation = _pair(entry, "relation", where)
    dest_column, dest_type = _pair(entry, "dest", where)
    if relation_column:
        raise ProcessingError(f"{where}: relation types read from a column ({relation_column!r}) are not supported: "
                              "give the relation as [\"\", \"<edge label>\"]")
    if not (source_column and source_type and relation and dest_column and dest_type):
        raise ProcessingError(f"{where}: source, relation and dest need their column and name")
    features, labels = _features_and_labels(entry, where, EDGE_LABEL_TYPES)
    return EdgeFile(file_name, separator, source_column, source_type, relation, dest_column, dest_type, features,
                    labels)


def _features_and_labels(entry: dict, where: str,
                         allowed: tuple[str, ...]) -> tuple[tuple[FeatureSpec, ...], tuple[LabelSpec, ...]]:
    features = tuple(_feature(x, f"{where}.features[{i}]") for i, x in enumerate(_list(entry, "features", where)))
    labels = tuple(_label(x, f"{where}.labels[{i}]", allowed) for i, x in enumerate(_list(entry, "labels", where)))
    return features, labels


def _feature(entry: Any, where: str) -> FeatureSpec:
    if not isinstance(entry, dict):
        raise ProcessingError(f"{where} must be an object")
    triple = entry.get("feature")
    if not (isinstance(triple, list) and len(triple) == 3 and all(isinstance(v, str) and v for v in triple)):
        raise ProcessingError(f"{where}: feature must be [column, feature name, feature type]")
    if triple[2] not in FEATURE_TYPES:
        raise ProcessingError(f"{where}: feature type {triple[2]!r} is not supported (one of "
                              f"{', '.join(FEATURE_TYPES)})")
    options = {key: value for key, value in entry.items() if key != "feature"}
    return FeatureSpec(triple[0], triple[1], triple[2], options)


def _label(entry: Any, where: str, allowed: tuple[str, ...]) -> LabelSpec:
    if not isinstance(entry, dict):
        raise ProcessingError(f"{where} must be an object")
    column, kind = _pair(entry, "label", where)
    if kind not in allowed:
        raise ProcessingError(f"{where}: label type {kind!r} is not one of {', '.join(allowed)}")
    if kind != "link_prediction" and not column:
        raise ProcessingError(f"{where}: a {kind} label needs its property column")
    rate = entry.get("split_rate", [0.8, 0.1, 0.1])
    if not (isinstance(rate, list) and len(rate) == 3
            and all(isinstance(x, int | float) and not isinstance(x, bool) and x >= 0 for x in rate)
            and math.isclose(sum(rate), 1.0, abs_tol=1e-6)):
        raise ProcessingError(f"{where}: split_rate must be three non-negative numbers adding up to 1 (got {rate!r})")
    separator = entry.get("separator")
    if separator is not None and (not isinstance(separator, str) or not separator):
        raise ProcessingError(f"{where}: separator must be a non-empty string")
    custom = entry.get("custom_split_property")
    if custom is not None and (not isinstance(custom, str) or not custom):
        raise ProcessingError(f"{where}: custom_split_property must name a property column")
    return LabelSpec(column, kind, (float(rate[0]), float(rate[1]), float(rate[2])), separator, custom)
