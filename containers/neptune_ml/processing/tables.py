"""The export's CSV files read into one table per node type and per edge type.

Several files may make up one type (the export may split a type into parts); their rows are
concatenated in file order. An edge whose end vertex is not in its type's node table fails the job:
a dangling edge means the configuration and the files disagree. A vertex type that only edges name
(no node file) gets its ids from those edges and no features.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from containers.neptune_ml.processing.config import EdgeFile, NodeFile, ProcessingError, TrainingConfig

Cells = list[str | None]


@dataclass
class NodeTable:
    type: str
    ids: list[str] = field(default_factory=list)
    columns: dict[str, Cells] = field(default_factory=dict)
    index: dict[str, int] = field(default_factory=dict)
    from_edges: bool = False  # no node file: the vertices are the ones its edges name

    def add(self, vid: str) -> int:
        position = self.index.get(vid)
        if position is None:
            position = self.index[vid] = len(self.ids)
            self.ids.append(vid)
        return position


@dataclass
class EdgeTable:
    key: str
    source_type: str
    relation: str
    dest_type: str
    ids: list[str] = field(default_factory=list)
    src: list[int] = field(default_factory=list)
    dst: list[int] = field(default_factory=list)
    columns: dict[str, Cells] = field(default_factory=dict)


@dataclass
class Graph:
    nodes: dict[str, NodeTable]
    edges: dict[str, EdgeTable]


def _rows(root: Path, file_name: str, separator: str, required: list[str]) -> tuple[list[str], list[list[str]]]:
    path = root / file_name
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle, delimiter=separator)
            header = next(reader, None)
            if header is None:
                raise ProcessingError(f"{file_name}: empty file (a header line is required)")
            rows = list(reader)
    except FileNotFoundError:
        raise ProcessingError(f"{file_name}: the configuration names this file but the input has no such file") \
            from None
    for column in required:
        if column not in header:
            raise ProcessingError(f"{file_name}: no column {column!r} in the header {header}")
    for line, row in enumerate(rows, start=2):
        if len(row) != len(header):
            raise ProcessingError(f"{file_name}:{line}: {len(row)} fields, the header has {len(header)}")
    return header, rows


def _cell(text: str) -> str | None:
    return text if text != "" else None


def _append_columns(columns: dict[str, Cells], header: list[str], rows: list[list[str]], before: int,
                    skip: set[str]) -> None:
    """Add this file's columns to the table's (a column some file lacks is missing on those rows)."""
    for position, name in enumerate(header):
        if name in skip:
            continue
        column = columns.setdefault(name, [None] * before)
        column.extend(_cell(row[position]) for row in rows)
    for column in columns.values():
        column.extend([None] * (before + len(rows) - len(column)))


def _read_node_file(root: Path, entry: NodeFile, table: NodeTable) -> None:
    header, rows = _rows(root, entry.file_name, entry.separator, [entry.id_column])
    at = header.index(entry.id_column)
    before = len(table.ids)
    for line, row in enumerate(rows, start=2):
        vid = row[at]
        if not vid:
            raise ProcessingError(f"{entry.file_name}:{line}: empty {entry.id_column}")
        if vid in table.index:
            raise ProcessingError(f"{entry.file_name}:{line}: vertex {vid!r} appears twice in {entry.type!r}")
        table.add(vid)
    _append_columns(table.columns, header, rows, before, {entry.id_column})


def _read_edge_file(root: Path, entry: EdgeFile, graph: Graph) -> None:
    header, rows = _rows(root, entry.file_name, entry.separator, [entry.source_column, entry.dest_column])
    table = graph.edges.setdefault(entry.key, EdgeTable(entry.key, entry.source_type, entry.relation,
                                                        entry.dest_type))
    at_src, at_dst = header.index(entry.source_column), header.index(entry.dest_column)
    at_id = header.index("~id") if "~id" in header else None
    before = len(table.ids)
    for line, row in enumerate(rows, start=2):
        table.src.append(_end(graph, entry.source_type, row[at_src], entry.file_name, line))
        table.dst.append(_end(graph, entry.dest_type, row[at_dst], entry.file_name, line))
        table.ids.append(row[at_id] if at_id is not None and row[at_id] else f"{entry.file_name}:{line}")
    _append_columns(table.columns, header, rows, before, {entry.source_column, entry.dest_column, "~id"})


def _end(graph: Graph, node_type: str, vid: str, file_name: str, line: int) -> int:
    table = graph.nodes.get(node_type)
    if table is None:
        table = graph.nodes[node_type] = NodeTable(node_type, from_edges=True)
    if table.from_edges:
        return table.add(vid)
    position = table.index.get(vid)
    if position is None:
        raise ProcessingError(f"{file_name}:{line}: {vid!r} is not a {node_type!r} vertex of the node files")
    return position


def read_graph(root: Path, config: TrainingConfig) -> Graph:
    """Every node and edge file of ``config`` under ``root``."""
    graph = Graph({}, {})
    for entry in config.nodes:
        _read_node_file(root, entry, graph.nodes.setdefault(entry.type, NodeTable(entry.type)))
    for entry in config.edges:
        _read_edge_file(root, entry, graph)
    return graph
