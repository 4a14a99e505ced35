"""``python3 -m containers.neptune_ml.processing``: Neptune ML data processing (see the package docstring)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy

from containers.contract import JobPaths
from containers.contract.failure import fail, write_exit_message
from containers.neptune_ml.processing.config import ProcessingError, TrainingConfig, read_config
from containers.neptune_ml.processing.hpo_defaults import default_hpo_configuration
from containers.neptune_ml.processing.outputs import FORMAT, encode_features, safe_name, write_arrays, write_json
from containers.neptune_ml.processing.tables import Graph, read_graph
from containers.neptune_ml.processing.targets import choose_target, encode_target

INPUT = "/opt/ml/processing/input"
OUTPUT = "/opt/ml/processing/output"
MODEL_TYPES = ("heterogeneous", "kge")
HPO_FILE = "model-HPO-configuration.json"


class ArgumentError(ProcessingError):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise ArgumentError(f"bad arguments: {message}")


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    parser = _Parser(prog="containers.neptune_ml.processing")
    parser.add_argument("--config-file-name", default="training-data-configuration.json")
    parser.add_argument("--model-type", default="heterogeneous", choices=MODEL_TYPES)
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def process(input_dir: Path, output_dir: Path, config_file: str, model_type: str, seed: int) -> dict[str, Any]:
    """The whole job; returns ``metadata.json``'s content."""
    if "/" in config_file or config_file in (".", ".."):
        raise ProcessingError(f"--config-file-name {config_file!r} must be a file name in the input folder")
    config = read_config(input_dir / config_file)
    graph = read_graph(input_dir, config)
    target = choose_target(config)
    if model_type == "kge" and target.task != "link_predict":
        raise ProcessingError(f"--model-type kge trains link prediction only; the configuration's target is "
                              f"{target.task} ({target.kind} {target.type} {target.spec.column})")
    for warning in (*config.warnings, *target.warnings):
        print(f"warning: {warning}", flush=True)
    encoded = encode_target(graph, target, seed)
    transforms = write_graph(output_dir, config, graph, encoded.arrays)
    metadata = {
        "format": FORMAT, "model_type": model_type,
        "node_types": {name: {"count": len(table.ids), "feature_dim": transforms["dims"]["nodes"][name]}
                       for name, table in graph.nodes.items()},
        "edge_types": [{"key": key, "src": table.source_type, "relation": table.relation, "dst": table.dest_type,
                        "count": len(table.ids), "feature_dim": transforms["dims"]["edges"][key]}
                       for key, table in graph.edges.items()],
        "target": encoded.metadata, "seed": seed, "warnings": [*config.warnings, *target.warnings],
    }
    write_json(output_dir / "feature_transforms.json", {"nodes": transforms["nodes"], "edges": transforms["edges"]})
    write_json(output_dir / HPO_FILE, default_hpo_configuration(target.task, model_type))
    write_json(output_dir / "metadata.json", metadata)
    return metadata


def write_graph(output_dir: Path, config: TrainingConfig, graph: Graph,
                target_arrays: dict[str, dict[str, numpy.ndarray]]) -> dict[str, Any]:
    """Encode and write every node and edge type; returns the transforms and each type's feature size."""
    result: dict[str, Any] = {"nodes": {}, "edges": {}, "dims": {"nodes": {}, "edges": {}}}
    for name, table in graph.nodes.items():
        specs = [spec for entry in config.nodes if entry.type == name for spec in entry.features]
        matrix, transforms = encode_features(specs, table.columns, len(table.ids), f"node type {name!r}")
        arrays = {"features": matrix, **target_arrays.get(name, {})}
        write_arrays(output_dir / "nodes" / f"{safe_name(name)}.npz", arrays)
        write_json(output_dir / "nodes" / f"{safe_name(name)}.ids.json", table.ids)
        result["nodes"][name] = transforms
        result["dims"]["nodes"][name] = int(matrix.shape[1])
    for key, table in graph.edges.items():
        specs = [spec for entry in config.edges if entry.key == key for spec in entry.features]
        matrix, transforms = encode_features(specs, table.columns, len(table.ids), f"edge type {key!r}")
        arrays = {"src": numpy.array(table.src, dtype=numpy.int64), "dst": numpy.array(table.dst, dtype=numpy.int64),
                  "features": matrix, **target_arrays.get(key, {})}
        write_arrays(output_dir / "edges" / f"{safe_name(key)}.npz", arrays)
        write_json(output_dir / "edges" / f"{safe_name(key)}.ids.json", table.ids)
        result["edges"][key] = transforms
        result["dims"]["edges"][key] = int(matrix.shape[1])
    return result


def main(argv: list[str] | None = None) -> int:
    paths = JobPaths.from_env()
    started = time.monotonic()
    try:
        arguments = parse_arguments(sys.argv[1:] if argv is None else argv)
        metadata = process(paths.processing_path(INPUT), paths.processing_path(OUTPUT), arguments.config_file_name,
                           arguments.model_type, arguments.seed)
    except ProcessingError as error:
        fail(paths, f"neptune-ml data processing: {error}")
        return 1
    target = metadata["target"]
    summary = (f"processed {sum(t['count'] for t in metadata['node_types'].values())} vertices of "
               f"{len(metadata['node_types'])} types and {sum(t['count'] for t in metadata['edge_types'])} edges of "
               f"{len(metadata['edge_types'])} types for {target['task']} on {target['type']} in "
               f"{time.monotonic() - started:.1f} s")
    print(summary, flush=True)
    write_exit_message(paths, summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
