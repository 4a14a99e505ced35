"""The ETL's logic, free of IO: raw rows in, vertices, edges, features and bad rows out.

Every row that cannot be used becomes a :class:`BadRow` naming its file and line, so the
job reports it instead of dropping it; the caller decides whether the count is tolerable.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from containers.graph_etl.config import SPLIT_ALIASES, EtlConfig


@dataclass(frozen=True)
class BadRow:
    """One unusable input row: where it is and why."""

    file: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"


@dataclass(frozen=True)
class Row:
    """One raw CSV record: its physical line number and its cells by column."""

    line: int
    cells: dict[str, str]


@dataclass(frozen=True)
class Node:
    id: str
    label: str
    split: str
    features: tuple[tuple[int, float], ...]
    properties: dict[str, str]


@dataclass(frozen=True)
class Edge:
    source: str
    target: str


@dataclass
class Tables:
    """Everything the ETL produced from the raw tables."""

    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    bad_rows: list[BadRow] = field(default_factory=list)
    num_features: int = 0
    classes: list[str] = field(default_factory=list)

    def class_index(self, label: str) -> int:
        """The class number of a raw label; -1 for a node without one."""
        return self.classes.index(label) if label else -1


class SchemaError(ValueError):
    """A table's header lacks a configured column: nothing in it can be read."""


def check_header(file: str, header: Iterable[str], required: Iterable[str]) -> None:
    """Raises :class:`SchemaError` naming the missing columns and the ones present."""
    present = list(header)
    missing = [column for column in required if column and column not in present]
    if missing:
        raise SchemaError(f"{file}: header has no column {', '.join(map(repr, missing))} "
                          f"(columns: {', '.join(present)}); set the column mapping with --config or arguments")


def node_columns(config: EtlConfig) -> list[str]:
    return [config.node_id, config.label, config.split, config.features, *config.properties]


def _is_int(text: str) -> bool:
    return text.lstrip("-").isdigit()


def check_value(kind: str, text: str) -> str | None:
    """Why ``text`` is not a valid Neptune ``kind`` value (``None`` when it is, or is empty)."""
    if text == "":
        return None
    try:
        if kind in ("Byte", "Short", "Int", "Long"):
            int(text)
        elif kind in ("Float", "Double"):
            float(text)
        elif kind == "Bool" and text.lower() not in ("true", "false"):
            return "not true/false"
        elif kind == "Date":
            dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return f"not a valid {kind}"
    return None


def parse_features(text: str, config: EtlConfig) -> tuple[tuple[int, float], ...]:
    """The non-zero (index, value) pairs of one features cell.

    Raises:
        ValueError: a value that is not a number, or an index out of range.
    """
    parts = [part for part in text.split(config.features_separator) if part.strip()]
    if config.features_format == "indices":
        indices = [int(part) for part in parts]
        for index in indices:
            if index < 0 or (config.num_features is not None and index >= config.num_features):
                raise ValueError(f"feature index {index} outside 0..{(config.num_features or 0) - 1}")
        return tuple((index, 1.0) for index in sorted(set(indices)))
    values = [float(part) for part in parts]
    if config.num_features is not None and len(values) != config.num_features:
        raise ValueError(f"{len(values)} feature values, expected {config.num_features}")
    return tuple((index, value) for index, value in enumerate(values) if value != 0.0)


def _node_problem(row: Row, config: EtlConfig) -> str | None:
    """Why a node row is unusable, or ``None``."""
    cells = row.cells
    if None in cells or any(cells.get(column) is None for column in node_columns(config) if column):
        return "wrong number of fields"
    if not cells[config.node_id].strip():
        return f"empty {config.node_id}"
    split = SPLIT_ALIASES.get(cells[config.split].strip().lower()) if config.split else "none"
    if split is None:
        return f"unknown {config.split} {cells[config.split]!r} (use train, val, test or none)"
    if config.label and split != "none" and not cells[config.label].strip():
        return f"empty {config.label} for a {split} node"
    for column, kind in config.properties.items():
        problem = check_value(kind, cells[column])
        if problem:
            return f"{column} {cells[column]!r}: {problem}"
    return None


def read_nodes(file: str, rows: Iterable[Row], config: EtlConfig, tables: Tables) -> None:
    """Add every usable node row to ``tables.nodes``, every other one to ``tables.bad_rows``."""
    first_seen: dict[str, int] = {}
    for row in rows:
        problem = _node_problem(row, config)
        features: tuple[tuple[int, float], ...] = ()
        if problem is None and config.features:
            try:
                features = parse_features(row.cells[config.features], config)
            except ValueError as error:
                problem = f"{config.features}: {error}"
        node_id = (row.cells.get(config.node_id) or "").strip()
        if problem is None and node_id in first_seen:
            problem = f"duplicate {config.node_id} {node_id!r} (first at line {first_seen[node_id]})"
        if problem is not None:
            tables.bad_rows.append(BadRow(file, row.line, problem))
            continue
        first_seen[node_id] = row.line
        split = SPLIT_ALIASES[row.cells[config.split].strip().lower()] if config.split else "none"
        label = row.cells[config.label].strip() if config.label else ""
        tables.nodes.append(Node(node_id, label, split, features,
                                 {column: row.cells[column] for column in config.properties}))
    tables.classes = class_names(node.label for node in tables.nodes)
    tables.num_features = feature_dimension(tables.nodes, config)


def read_edges(file: str, rows: Iterable[Row], config: EtlConfig, tables: Tables) -> None:
    """Add every edge between two known nodes; any other row is a bad row."""
    known = {node.id for node in tables.nodes}
    for row in rows:
        source, target = row.cells.get(config.source), row.cells.get(config.target)
        if None in row.cells or source is None or target is None:
            tables.bad_rows.append(BadRow(file, row.line, "wrong number of fields"))
            continue
        missing = [end for end in (source.strip(), target.strip()) if end not in known]
        if missing:
            tables.bad_rows.append(BadRow(file, row.line, f"edge to unknown or rejected node {missing[0]!r}"))
            continue
        tables.edges.append(Edge(source.strip(), target.strip()))


def class_names(labels: Iterable[str]) -> list[str]:
    """The classes in index order: integer labels keep their number (0..max), names sort."""
    present = {label for label in labels if label}
    if present and all(_is_int(label) and int(label) >= 0 for label in present):
        return [str(index) for index in range(max(int(label) for label in present) + 1)]
    return sorted(present)


def feature_dimension(nodes: list[Node], config: EtlConfig) -> int:
    if config.num_features is not None:
        return config.num_features
    return max((index + 1 for node in nodes for index, _ in node.features), default=0)


def neptune_label_type(classes: list[str]) -> str:
    return "Int" if classes and all(_is_int(name) for name in classes) else "String"


def vertex_rows(tables: Tables, config: EtlConfig) -> Iterator[list[str]]:
    """Neptune Gremlin load CSV for the vertices, header first: ``~id,~label,<prop>:<Type>…``."""
    header = ["~id", "~label"]
    if config.label:
        header.append(f"{config.label}:{neptune_label_type(tables.classes)}")
    if config.split:
        header.append(f"{config.split}:String")
    header += [f"{column}:{kind}" for column, kind in config.properties.items()]
    yield header
    for node in tables.nodes:
        row = [node.id, config.vertex_label]
        if config.label:
            row.append(node.label)
        if config.split:
            row.append(node.split)
        yield row + [node.properties[column] for column in config.properties]


def edge_rows(tables: Tables, config: EtlConfig) -> Iterator[list[str]]:
    """Neptune Gremlin load CSV for the edges, header first: ``~id,~from,~to,~label``.

    An edge's id is ``label:from:to`` (``:n`` added for the n-th repeat of a pair): loading the
    same table twice merges instead of failing, and two data sets in one graph cannot collide on
    ids like ``e0`` the way row numbers would.
    """
    yield ["~id", "~from", "~to", "~label"]
    seen: dict[tuple[str, str], int] = {}
    for edge in tables.edges:
        repeat = seen.get((edge.source, edge.target), 0)
        seen[(edge.source, edge.target)] = repeat + 1
        edge_id = f"{config.edge_label}:{edge.source}:{edge.target}" + (f":{repeat}" if repeat else "")
        yield [edge_id, edge.source, edge.target, config.edge_label]


def feature_rows(tables: Tables) -> Iterator[list[str]]:
    """The feature matrix as sparse ``node_id,index,value`` triples (non-zeros only)."""
    yield ["node_id", "index", "value"]
    for node in tables.nodes:
        for index, value in node.features:
            yield [node.id, str(index), repr(value)]


def label_rows(tables: Tables) -> Iterator[list[str]]:
    yield ["node_id", "label"]
    for node in tables.nodes:
        yield [node.id, str(tables.class_index(node.label))]


def split_rows(tables: Tables) -> Iterator[list[str]]:
    yield ["node_id", "split"]
    for node in tables.nodes:
        yield [node.id, node.split]
