"""The model directory (``model.tar.gz``'s contents), written by training and transform, read by serve.

``model.pt`` (state_dict), ``model_config.json`` (task, model, target, hyperparameters, the graph's shape),
``eval_metrics_info.json`` (Neptune ML's shape: ``{task: {metric: {"val": v, "test": t}}}``), ``graph/`` (a copy of
the processed data: serving featurizes and looks ids up with it) and ``predictions/`` (the transductive answers).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from containers.neptune_ml import graph as graph_module
from containers.neptune_ml.graph import FORMAT, Graph
from containers.neptune_ml.models import ModelShape, build_model

MODEL_FILE = "model.pt"
CONFIG_FILE = "model_config.json"
METRICS_FILE = "eval_metrics_info.json"
GRAPH_DIR = "graph"
PREDICTIONS_DIR = "predictions"


def copy_graph(source: Path, model_dir: Path) -> None:
    """The processed data under ``graph/`` (metadata, transforms, nodes/, edges/; nothing else of the input)."""
    target = model_dir / GRAPH_DIR
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for name in ("metadata.json", "feature_transforms.json"):
        if (source / name).is_file():
            shutil.copy2(source / name, target / name)
    for folder in ("nodes", "edges"):
        if (source / folder).is_dir():
            shutil.copytree(source / folder, target / folder)


def write_predictions(model_dir: Path, files: dict[str, dict[str, np.ndarray]]) -> None:
    directory = model_dir / PREDICTIONS_DIR
    if directory.exists():
        shutil.rmtree(directory)
    for name, arrays in files.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if name.endswith(".npy"):
            np.save(path, arrays[""])
        else:
            np.savez(path, **arrays)


def write_model_dir(model_dir: Path, model: nn.Module, graph: Graph, source: Path, hp: dict[str, Any],
                    shape: ModelShape, metrics: dict[str, dict[str, float]], primary: str,
                    predictions: dict[str, dict[str, np.ndarray]]) -> None:
    model_dir.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), model_dir / MODEL_FILE)
    config = {"format": FORMAT, "task": hp["task"], "model": hp["model"], "target": graph.target,
              "hyperparameters": hp, "node_types": graph.metadata.get("node_types", {}),
              "edge_types": graph.metadata.get("edge_types", []), "shape": shape.to_dict(),
              "objective": primary}
    (model_dir / CONFIG_FILE).write_text(json.dumps(config, indent=2))
    info = {hp["task"]: {name: {split: _finite(metrics.get(split, {}).get(name)) for split in ("val", "test")}
                         for name in sorted({m for split in metrics.values() for m in split})}}
    (model_dir / METRICS_FILE).write_text(json.dumps(info, indent=2))
    if source.resolve() != (model_dir / GRAPH_DIR).resolve():
        copy_graph(source, model_dir)
    write_predictions(model_dir, predictions)


def _finite(value: float | None) -> float | None:
    return None if value is None or value != value else round(float(value), 6)


def load_model_dir(model_dir: Path) -> tuple[nn.Module, dict[str, Any], Graph]:
    """The trained network (eval mode), its ``model_config.json`` and the graph it was trained on.

    Raises:
        ValueError: not a model directory of this format.
    """
    config_path = model_dir / CONFIG_FILE
    if not config_path.is_file():
        raise ValueError(f"{model_dir} holds no {CONFIG_FILE} (not a Neptune ML model directory)")
    config = json.loads(config_path.read_text())
    if config.get("format") != FORMAT:
        raise ValueError(f"{CONFIG_FILE} format {config.get('format')!r} is not {FORMAT!r}")
    model = build_model(config["task"], config["model"], ModelShape.from_dict(config["shape"]),
                        config["hyperparameters"])
    model.load_state_dict(torch.load(model_dir / MODEL_FILE, map_location="cpu", weights_only=True))
    model.eval()
    return model, config, graph_module.load(model_dir / GRAPH_DIR)
