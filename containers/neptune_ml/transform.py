"""The model-transform program (a processing job): a trained model applied to (possibly re-processed) graph data.

Inputs ``/opt/ml/processing/input/data`` (processed data) and ``/opt/ml/processing/input/model`` (a training job's
``model.tar.gz``, or its unpacked files); output ``/opt/ml/processing/output``: ``model.tar.gz`` with the training's
layout (the same weights, the new ``graph/`` and recomputed ``predictions/``) and the same files unpacked beside it.
The graph's node types, relations and feature widths must be the ones the model was trained on.
"""

from __future__ import annotations

import sys
import tarfile
import tempfile
from pathlib import Path

import torch

from containers.contract import JobPaths
from containers.contract.failure import fail
from containers.neptune_ml import artifacts
from containers.neptune_ml.graph import GraphError, load
from containers.neptune_ml.models import ModelShape
from containers.neptune_ml.tasks import make_task

DATA_INPUT = "/opt/ml/processing/input/data"
MODEL_INPUT = "/opt/ml/processing/input/model"
OUTPUT = "/opt/ml/processing/output"


def unpacked_model(model_input: Path, scratch: Path) -> Path:
    """The directory holding ``model_config.json``: the input itself, or its ``model.tar.gz`` extracted."""
    if (model_input / artifacts.CONFIG_FILE).is_file():
        return model_input
    archives = sorted(model_input.rglob("model.tar.gz"))
    if not archives:
        raise GraphError(f"no model.tar.gz or {artifacts.CONFIG_FILE} under {model_input}")
    with tarfile.open(archives[0]) as archive:
        archive.extractall(scratch, filter="data")
    return scratch


def transform(data_dir: Path, model_input: Path, output_dir: Path) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        model, config, _ = artifacts.load_model_dir(unpacked_model(model_input, Path(scratch)))
    graph = load(data_dir)
    hp = config["hyperparameters"]
    task = make_task(graph, hp)
    shape = task.shape()
    if shape.relations != ModelShape.from_dict(config["shape"]).relations or shape.feature_dims != {
            k: int(v) for k, v in config["shape"]["feature_dims"].items()}:
        raise GraphError("the processed graph's types, relations or feature widths differ from the model's")
    with torch.no_grad():
        metrics = task.evaluate(model, ("val", "test"))
        predictions = task.predictions(model)
    artifacts.write_model_dir(output_dir, model, graph, data_dir, hp, ModelShape.from_dict(config["shape"]),
                              metrics, config.get("objective", ""), predictions)
    with tarfile.open(output_dir / "model.tar.gz.tmp", "w:gz") as archive:
        for path in sorted(output_dir.iterdir()):
            if path.name not in ("model.tar.gz", "model.tar.gz.tmp"):
                archive.add(path, arcname=path.name)
    (output_dir / "model.tar.gz.tmp").replace(output_dir / "model.tar.gz")


def main() -> int:
    paths = JobPaths.from_env()
    try:
        transform(paths.processing_path(DATA_INPUT), paths.processing_path(MODEL_INPUT),
                  paths.processing_path(OUTPUT))
    except (GraphError, ValueError, KeyError, OSError, tarfile.TarError) as error:
        fail(paths, f"mlharbor/neptune-ml transform: {type(error).__name__}: {error}")
        return 1
    print(f"transformed: predictions for {graph_summary(paths.processing_path(OUTPUT))}", flush=True)
    return 0


def graph_summary(output_dir: Path) -> str:
    return ", ".join(sorted(p.name for p in (output_dir / artifacts.PREDICTIONS_DIR).iterdir()))


if __name__ == "__main__":
    sys.exit(main())
