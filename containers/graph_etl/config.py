"""What the ETL reads from the raw tables: column names, value formats and output typing.

The mapping comes from a small JSON file (``--config``), from command-line arguments
(``ContainerArguments``), or both (arguments win), so a table that is not Cora needs no code:

.. code-block:: json

    {"node_id": "paper", "label": "topic", "split": "fold", "features": "words",
     "features_format": "indices", "num_features": 1433, "vertex_label": "paper",
     "source": "citing", "target": "cited", "edge_label": "cites",
     "properties": {"year": "Int", "title": "String"}}
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

#: Neptune Gremlin load-data types a property column may declare
#: (https://docs.aws.amazon.com/neptune/latest/userguide/bulk-load-tutorial-format-gremlin.html).
NEPTUNE_TYPES = ("Bool", "Byte", "Short", "Int", "Long", "Float", "Double", "String", "Date")

#: Values of the split column that mean the same standard split, per split name.
SPLIT_ALIASES = {
    "train": "train", "training": "train",
    "val": "val", "valid": "val", "validation": "val", "dev": "val",
    "test": "test", "testing": "test",
    "": "none", "none": "none", "unlabeled": "none", "unused": "none",
}

FEATURE_FORMATS = ("indices", "values")


@dataclass(frozen=True)
class EtlConfig:
    """How raw node and edge tables map onto the graph and the training files.

    Args:
        nodes_path / edges_path: the raw CSV files.
        graph_dir: where the Neptune bulk-load CSV goes (``vertices.csv``, ``edges.csv``).
        features_dir: where ``features.csv``, ``labels.csv``, ``splits.csv`` and ``meta.json`` go.
        report_dir: where ``report.json`` (every bad row with file and line) goes.
        node_id / label / split / features: node table columns (label, split, features may be "").
        features_format: ``indices`` (active feature indices, a binary bag of words) or
            ``values`` (one number per feature).
        features_separator: what separates values inside the features cell.
        num_features: the feature dimension (else the largest index + 1, or the row length).
        vertex_label / edge_label: the Neptune ``~label`` of every vertex and edge.
        source / target: edge table columns.
        properties: other node columns copied to the vertex, column → Neptune type.
        max_bad_rows: how many bad rows are skipped (and reported) before the job fails.
    """

    nodes_path: Path = Path("/opt/ml/processing/input/raw/nodes.csv")
    edges_path: Path = Path("/opt/ml/processing/input/raw/edges.csv")
    graph_dir: Path = Path("/opt/ml/processing/output/graph")
    features_dir: Path = Path("/opt/ml/processing/output/features")
    report_dir: Path = Path("/opt/ml/processing/output/report")
    node_id: str = "node_id"
    label: str = "label"
    split: str = "split"
    features: str = "features"
    features_format: str = "indices"
    features_separator: str = " "
    num_features: int | None = None
    vertex_label: str = "node"
    edge_label: str = "edge"
    source: str = "source"
    target: str = "target"
    properties: dict[str, str] = field(default_factory=dict)
    max_bad_rows: int = 0

    def __post_init__(self) -> None:
        if self.features_format not in FEATURE_FORMATS:
            raise ValueError(f"EtlConfig: features_format must be one of {FEATURE_FORMATS}, "
                             f"got {self.features_format!r}")
        for column, kind in self.properties.items():
            if kind not in NEPTUNE_TYPES:
                raise ValueError(f"EtlConfig: property {column!r} has type {kind!r}; "
                                 f"Neptune types are {', '.join(NEPTUNE_TYPES)}")
        if not self.node_id or not self.source or not self.target:
            raise ValueError("EtlConfig: node_id, source and target columns must be named")
        if self.max_bad_rows < 0:
            raise ValueError("EtlConfig: max_bad_rows must be >= 0")


_PATH_FIELDS = {"nodes_path", "edges_path", "graph_dir", "features_dir", "report_dir"}


def from_mapping(values: dict[str, Any], base: EtlConfig | None = None) -> EtlConfig:
    """An :class:`EtlConfig` from JSON-like values (unknown keys are an error, not ignored).

    Raises:
        ValueError: an unknown key or a bad value.
    """
    known = {f.name for f in fields(EtlConfig)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"unknown ETL config keys {unknown}; known keys: {sorted(known)}")
    converted = {key: Path(value) if key in _PATH_FIELDS else value for key, value in values.items()}
    if "num_features" in converted and converted["num_features"] is not None:
        converted["num_features"] = int(converted["num_features"])
    if "max_bad_rows" in converted:
        converted["max_bad_rows"] = int(converted["max_bad_rows"])
    return replace(base or EtlConfig(), **converted)


def parse_properties(text: str) -> dict[str, str]:
    """``year:Int,title:String`` → ``{"year": "Int", "title": "String"}``."""
    properties: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        column, _, kind = item.rpartition(":")
        if not column:
            raise ValueError(f"property {item!r} must be written column:Type")
        properties[column] = kind
    return properties


def argument_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="graph-etl", description="raw node/edge CSV → Neptune CSV + features")
    parser.add_argument("--config", type=Path, help="JSON file with any of the keys below (arguments win)")
    for item in fields(EtlConfig):
        flag = "--" + item.name.replace("_", "-")
        if item.name == "properties":
            parser.add_argument(flag, help="extra vertex properties: column:Type,column:Type")
        else:
            parser.add_argument(flag, dest=item.name)
    return parser


def from_arguments(argv: list[str], locate: Callable[[Path], Path] = Path) -> EtlConfig:
    """Config file first, then every argument given on top of it.

    Args:
        argv: the job's ``ContainerArguments``.
        locate: where a declared path really lies (the process runner may give the job its
            ``/opt/ml`` tree elsewhere); applied to the config file and every path setting.

    Raises:
        ValueError: unreadable config file, unknown keys or bad values.
    """
    args = argument_parser().parse_args(argv)
    config = EtlConfig()
    if args.config is not None:
        try:
            values = json.loads(locate(args.config).read_text())
        except (OSError, json.JSONDecodeError) as error:
            raise ValueError(f"cannot read ETL config {args.config}: {error}") from None
        if not isinstance(values, dict):
            raise ValueError(f"ETL config {args.config} must hold a JSON object")
        config = from_mapping(values, config)
    given = {key: value for key, value in vars(args).items() if key != "config" and value is not None}
    if "properties" in given:
        given["properties"] = parse_properties(given["properties"])
    config = from_mapping(given, config)
    return replace(config, **{name: locate(getattr(config, name)) for name in sorted(_PATH_FIELDS)})
