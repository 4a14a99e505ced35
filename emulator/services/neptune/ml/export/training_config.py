"""What an export writes: the nodes/ and edges/ CSV files and the training configurations (v2.0).

File layout and configuration follow Neptune ML
(https://docs.aws.amazon.com/neptune/latest/userguide/machine-learning-processing-training-config-file.html):
``nodes/<label>-1.csv`` with header ``~id,<property>,...`` and ``edges/<from>-<label>-<to>-1.csv`` with
``~id,~from,~to,<property>,...``; multi-valued properties are joined by ``;``. In the configuration,
each file's ``features`` are the request's features for that type plus, for every other property,
the one the export infers as Neptune's does: ``numerical`` (min-max, median imputer) for single numbers,
``datetime`` for dates, ``auto`` for strings and multi-valued properties (with ``separator`` ``;``). A
target's property (and its ``custom_split_property``) is a label, never a feature.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from typing import Any

from emulator.services.neptune.ml.export.request import Configuration, ExportRequest, Feature, Target
from emulator.services.neptune.ml.export.snapshot import (
    MULTI_VALUE_SEPARATOR,
    EdgeType,
    GraphSnapshot,
    Table,
    cell,
    value_kind,
)

_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-]")


@dataclass
class ExportFile:
    """One file of the export: its key under the export folder and its text."""

    name: str
    text: str


def file_stem(name: str) -> str:
    """A label as a file-name part: characters other than letters, digits, ``_ . -`` become ``_``."""
    return _UNSAFE.sub("_", name) or "_"


def node_file_names(labels: list[str]) -> dict[str, str]:
    return _unique({label: f"nodes/{file_stem(label)}" for label in labels})


def edge_file_names(keys: list[EdgeType]) -> dict[EdgeType, str]:
    return _unique({key: "edges/" + "-".join(file_stem(part) for part in key) for key in keys})


def _unique(stems: dict[Any, str]) -> dict[Any, str]:
    """``<stem>-<n>.csv``; n counts up where two labels sanitise to the same stem."""
    used: dict[str, int] = {}
    names = {}
    for key, stem in stems.items():
        used[stem] = used.get(stem, 0) + 1
        names[key] = f"{stem}-{used[stem]}.csv"
    return names


def table_csv(table: Table, columns: list[str], edge: bool) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow((["~id", "~from", "~to"] if edge else ["~id"]) + columns)
    for index, row in enumerate(table.rows):
        ends = [table.sources[index], table.targets[index]] if edge else []
        writer.writerow([table.ids[index], *ends, *(cell(row.get(name, [])) for name in columns)])
    return buffer.getvalue()


def export_files(snapshot: GraphSnapshot, request: ExportRequest) -> tuple[list[ExportFile], dict[str, Any]]:
    """The CSV files, and each training configuration by its file name, for ``snapshot`` as ``request`` asks."""
    node_names = node_file_names(list(snapshot.nodes))
    edge_names = edge_file_names(list(snapshot.edges))
    files = [ExportFile(node_names[label], table_csv(table, table.property_names(), edge=False))
             for label, table in snapshot.nodes.items()]
    files += [ExportFile(edge_names[key], table_csv(table, table.property_names(), edge=True))
              for key, table in snapshot.edges.items()]
    configs = {configuration.file_name: training_configuration(snapshot, node_names, edge_names, configuration)
               for configuration in request.configurations}
    return files, configs


def training_configuration(snapshot: GraphSnapshot, node_names: dict[str, str], edge_names: dict[EdgeType, str],
                           configuration: Configuration) -> dict[str, Any]:
    """One ``training-data-configuration.json`` (v2.0) over the exported files."""
    node_entries, edge_entries = [], []
    for label, table in snapshot.nodes.items():
        targets = [t for t in configuration.targets if t.node == label]
        features = [f for f in configuration.features if f.node == label]
        node_entries.append({
            "file_name": node_names[label], "separator": ",", "node": ["~id", label],
            "features": _features(table, table.property_names(), features, targets),
            "labels": [_label(target) for target in targets]})
    for key, table in snapshot.edges.items():
        targets = [t for t in configuration.targets if t.edge == key]
        features = [f for f in configuration.features if f.edge == key]
        edge_entries.append({
            "file_name": edge_names[key], "separator": ",", "source": ["~from", key[0]],
            "relation": ["", key[1]], "dest": ["~to", key[2]],
            "features": _features(table, table.property_names(), features, targets),
            "labels": [_label(target) for target in targets]})
    warnings = []
    if len(configuration.targets) > 1:
        warnings.append(f"{len(configuration.targets)} targets: data processing trains on the first one "
                        f"({configuration.targets[0].subject})")
    return {"version": "v2.0", "query_engine": "gremlin", "graph": {"nodes": node_entries, "edges": edge_entries},
            "warnings": warnings}


def _features(table: Table, columns: list[str], features: list[Feature], targets: list[Target]) -> list[dict]:
    labelled = {t.property for t in targets} | {t.custom_split_property for t in targets}
    explicit = {feature.property: feature for feature in features}
    entries = []
    for name in columns:
        if name in labelled:
            continue  # a label is never a feature of its own element (it would give the answer away)
        feature = explicit.get(name)
        if feature is not None:
            entries.append({"feature": [name, name, feature.type], **feature.options})
        else:
            entries.append(_inferred(name, table.column(name)))
    return entries


def _inferred(name: str, values: list[list[Any]]) -> dict[str, Any]:
    kind = value_kind(values)
    if kind == "numeric":
        return {"feature": [name, name, "numerical"], "norm": "min-max", "imputer": "median"}
    if kind == "datetime":
        return {"feature": [name, name, "datetime"]}
    if kind == "multi" or any(MULTI_VALUE_SEPARATOR in str(v) for row in values for v in row):
        return {"feature": [name, name, "auto"], "separator": MULTI_VALUE_SEPARATOR}
    return {"feature": [name, name, "auto"]}


def _label(target: Target) -> dict[str, Any]:
    label: dict[str, Any] = {"label": [target.property or "", target.type], "split_rate": list(target.split_rate)}
    if target.separator is not None:
        label["separator"] = target.separator
    if target.custom_split_property is not None:
        label["custom_split_property"] = target.custom_split_property
    return label
