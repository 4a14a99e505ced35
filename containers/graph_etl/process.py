"""The program of ``mlharbor/graph-etl``: raw node/edge CSV → Neptune bulk-load CSV + training files.

Run by a processing job (``python -m containers.graph_etl.process [arguments]``). It reads the
raw tables from the job's inputs and writes, under its outputs (see :class:`EtlConfig` for paths):

* ``graph/vertices.csv``, ``graph/edges.csv``: Gremlin load-data CSV for Neptune's ``/loader``
  (https://docs.aws.amazon.com/neptune/latest/userguide/bulk-load-tutorial-format-gremlin.html);
* ``features/features.csv`` (sparse ``node_id,index,value``), ``labels.csv`` (class index, -1 for
  none), ``splits.csv`` (train/val/test/none) and ``meta.json`` (sizes and class names): what a
  ``mlharbor/gnn`` training channel reads;
* ``report/report.json``: counts and every bad row with its file and line.

Bad rows are printed to stderr as ``file:line: reason`` and summarised in
``/opt/ml/output/message`` (the job's ``ExitMessage``). More than ``max_bad_rows`` of them fail
the job through ``/opt/ml/output/failure``: a schema problem is never silently half-loaded.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from containers.contract import JobPaths
from containers.contract.failure import fail, write_exit_message
from containers.graph_etl import transform
from containers.graph_etl.config import EtlConfig, from_arguments
from containers.graph_etl.transform import BadRow, Row, Tables

#: How many bad rows the ExitMessage lists (all of them are in stderr and the report).
MESSAGE_ROWS = 20


class EtlError(Exception):
    """The job cannot produce its outputs; the message says why."""


def read_rows(path: Path, required: list[str]) -> Iterator[Row]:
    """The records of one CSV file with their physical line numbers, after checking its header.

    Raises:
        EtlError: the file is missing or empty.
        transform.SchemaError: a configured column is not in the header.
    """
    try:
        handle = open(path, newline="", encoding="utf-8")  # noqa: SIM115 (closed by the generator)
    except OSError as error:
        raise EtlError(f"cannot read {path}: {error.strerror}") from None
    with handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None:
            raise EtlError(f"{path.name}: empty file (a header line is required)")
        transform.check_header(path.name, reader.fieldnames, required)
        for cells in reader:
            yield Row(reader.line_num, cells)


def extract(config: EtlConfig) -> Tables:
    """Read and check both tables (pure but for reading the two files)."""
    tables = Tables()
    node_rows = read_rows(config.nodes_path, transform.node_columns(config))
    transform.read_nodes(config.nodes_path.name, node_rows, config, tables)
    edge_rows = read_rows(config.edges_path, [config.source, config.target])
    transform.read_edges(config.edges_path.name, edge_rows, config, tables)
    return tables


def write_csv(path: Path, rows: Iterable[list[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)


def write_outputs(tables: Tables, config: EtlConfig) -> None:
    write_csv(config.graph_dir / "vertices.csv", transform.vertex_rows(tables, config))
    write_csv(config.graph_dir / "edges.csv", transform.edge_rows(tables, config))
    write_csv(config.features_dir / "features.csv", transform.feature_rows(tables))
    write_csv(config.features_dir / "labels.csv", transform.label_rows(tables))
    write_csv(config.features_dir / "splits.csv", transform.split_rows(tables))
    meta = {
        "num_nodes": len(tables.nodes),
        "num_edges": len(tables.edges),
        "num_features": tables.num_features,
        "classes": tables.classes,
        "vertex_label": config.vertex_label,
        "edge_label": config.edge_label,
        "features_format": config.features_format,
    }
    (config.features_dir / "meta.json").write_text(json.dumps(meta, indent=2))


def summary(tables: Tables) -> str:
    return (f"graph-etl: {len(tables.nodes)} vertices, {len(tables.edges)} edges, "
            f"{tables.num_features} features, {len(tables.classes)} classes, {len(tables.bad_rows)} bad rows")


def message(tables: Tables, config: EtlConfig) -> str:
    """The ExitMessage: the summary, then the first bad rows with file and line."""
    lines = [summary(tables)]
    lines += [str(bad) for bad in tables.bad_rows[:MESSAGE_ROWS]]
    if len(tables.bad_rows) > MESSAGE_ROWS:
        lines.append(f"... {len(tables.bad_rows) - MESSAGE_ROWS} more in {config.report_dir / 'report.json'}")
    return "\n".join(lines)


def write_report(tables: Tables, config: EtlConfig) -> None:
    config.report_dir.mkdir(parents=True, exist_ok=True)
    report = {
        "vertices": len(tables.nodes),
        "edges": len(tables.edges),
        "bad_rows": [{"file": bad.file, "line": bad.line, "reason": bad.reason} for bad in tables.bad_rows],
    }
    (config.report_dir / "report.json").write_text(json.dumps(report, indent=2))


def report_bad_rows(bad_rows: list[BadRow]) -> None:
    for bad in bad_rows:
        print(f"bad row {bad}", file=sys.stderr, flush=True)


def run(config: EtlConfig, paths: JobPaths) -> int:
    """Do the whole ETL; returns the exit code, having written message or failure."""
    tables = extract(config)
    report_bad_rows(tables.bad_rows)
    write_report(tables, config)
    text = message(tables, config)
    write_exit_message(paths, text)
    if len(tables.bad_rows) > config.max_bad_rows:
        fail(paths, f"{len(tables.bad_rows)} bad rows (max_bad_rows={config.max_bad_rows}); {text}")
        return 1
    if not tables.nodes:
        fail(paths, f"no usable node rows in {config.nodes_path.name}; {text}")
        return 1
    write_outputs(tables, config)
    print(text, flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    paths = JobPaths.from_env()
    try:
        config = from_arguments(sys.argv[1:] if argv is None else argv, locator(paths))
        return run(config, paths)
    except (EtlError, ValueError) as error:
        fail(paths, f"graph-etl: {error}")
        return 1


def locator(paths: JobPaths) -> Callable[[Path], Path]:
    """``/opt/ml/processing/...`` → this job's tree (the process runner may not mount it on /opt/ml)."""

    def locate(path: Path) -> Path:
        try:
            return paths.processing_path(str(path))
        except ValueError:
            return path

    return locate


if __name__ == "__main__":
    sys.exit(main())
