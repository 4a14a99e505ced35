"""The ``train`` program of ``mlharbor/gnn``: full-batch node classification with PyTorch Geometric.

Inputs (the SageMaker training contract): hyperparameters from ``hyperparameters.json`` (see
:mod:`containers.gnn.config`), the ETL's feature files in the input channel
(``SM_CHANNEL_<NAME>``), the topology from the graph server over gremlinpython
(``graph_endpoint`` or ``MLHARBOR_GRAPH_ENDPOINT``).

Outputs: one line per epoch ``epoch=N train_loss=L val_acc=A`` (for ``MetricDefinitions``), then
``train_seconds=S`` and ``test_acc=A``; checkpoints in ``SM_CHECKPOINT_DIR`` (written under a
temporary name, then renamed, so a copy taken mid-write never holds half a file) from which a
restarted job resumes; ``model.pt`` + ``config.json`` + ``features.pt`` in ``SM_MODEL_DIR``,
which :mod:`containers.gnn.serve` reloads. Errors go to ``output/failure`` and the exit code.
"""

from __future__ import annotations

import copy
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from containers import contract
from containers.contract import JobPaths, checkpoints
from containers.contract.failure import write_failure
from containers.contract.hyperparameters import read_file
from containers.gnn import data
from containers.gnn.config import TrainConfig, from_hyperparameters
from containers.gnn.data import DataError, GraphData
from containers.gnn.models import build_model

CHECKPOINT_PREFIX = "checkpoint-"
#: Checkpoints kept in the directory (older ones are deleted after a newer one is complete).
KEEP_CHECKPOINTS = 2
#: What must match for a checkpoint to be resumed by this job.
RESUME_KEYS = ("model", "hidden", "heads", "dropout", "lr", "weight_decay", "seed", "normalize_features",
               "undirected", "select")


@dataclass
class TrainResult:
    """What one run produced: the selected model and its scores."""

    model: nn.Module
    best_val_acc: float
    test_acc: float
    first_epoch: int
    train_seconds: float
    epoch_seconds: list[float]


def accuracy(logits: Tensor, y: Tensor, mask: Tensor) -> float:
    if not mask.any():
        return float("nan")
    return float((logits[mask].argmax(dim=1) == y[mask]).float().mean())


# -- checkpoints (the contract's writer and reader: atomic, fsynced, a damaged file skipped) ----------

def resume_key(config: TrainConfig) -> dict[str, Any]:
    return {key: getattr(config, key) for key in RESUME_KEYS}


def restore_checkpoint(directory: Path, config: TrainConfig,
                       log: Callable[[str], None]) -> checkpoints.Restored | None:
    """The newest checkpoint that loads (a damaged newer one is skipped, and said so), if any.

    Raises:
        ValueError: it belongs to another set-up (resuming it would mix two trainings).
    """
    restored, skipped = checkpoints.restore_newest(directory, CHECKPOINT_PREFIX)
    for note in skipped:
        log(f"skipping checkpoint {note}")
    if restored is not None and restored.state.get("resume_key") != resume_key(config):
        raise ValueError(f"checkpoint {restored.path.name} was written with {restored.state.get('resume_key')}, "
                         f"this job has {resume_key(config)}: use a fresh checkpoint location")
    return restored


# -- training -------------------------------------------------------------------------------

def train(config: TrainConfig, graph: GraphData, checkpoint_dir: Path | None,
          log: Callable[[str], None] = print) -> TrainResult:
    """Train ``config.model`` on ``graph``, resuming from the newest checkpoint in ``checkpoint_dir``."""
    torch.manual_seed(config.seed)
    nodes = graph.nodes
    model = build_model(config.model, nodes.x.size(1), len(nodes.classes), **config.model_sizes())
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    best = {"val_acc": -1.0, "val_loss": float("inf"), "state": copy.deepcopy(model.state_dict())}
    first_epoch = 1
    restored = restore_checkpoint(checkpoint_dir, config, log) if checkpoint_dir is not None else None
    if restored is not None:
        state = restored.state
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        best = state["best"]
        torch.set_rng_state(state["rng"])
        first_epoch = state["epoch"] + 1
        log(f"resuming from {restored.path.name} (epoch {state['epoch']})")
    train_mask, val_mask = nodes.masks["train"], nodes.masks["val"]
    started = time.perf_counter()
    epoch_seconds: list[float] = []
    for epoch in range(first_epoch, config.epochs + 1):
        epoch_started = time.perf_counter()
        model.train()
        optimizer.zero_grad()
        loss = F.cross_entropy(model(nodes.x, graph.edge_index)[train_mask], nodes.y[train_mask])
        loss.backward()
        optimizer.step()
        model.eval()
        with torch.no_grad():
            logits = model(nodes.x, graph.edge_index)
        val_acc = accuracy(logits, nodes.y, val_mask)
        val_loss = float(F.cross_entropy(logits[val_mask], nodes.y[val_mask])) if val_mask.any() else 0.0
        if config.select == "last" or val_acc > best["val_acc"] or (
                val_acc == best["val_acc"] and val_loss < best["val_loss"]):
            best = {"val_acc": val_acc, "val_loss": val_loss, "state": copy.deepcopy(model.state_dict())}
        log(f"epoch={epoch} train_loss={float(loss.detach()):.4f} val_acc={val_acc:.4f}")
        if checkpoint_dir is not None and config.checkpoint_every and (
                epoch % config.checkpoint_every == 0 or epoch == config.epochs):
            checkpoints.save_checkpoint(checkpoint_dir, epoch, {
                "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "best": best, "rng": torch.get_rng_state(), "resume_key": resume_key(config)},
                keep=KEEP_CHECKPOINTS, prefix=CHECKPOINT_PREFIX)
        epoch_seconds.append(time.perf_counter() - epoch_started)
    train_seconds = time.perf_counter() - started
    model.load_state_dict(best["state"])
    model.eval()
    with torch.no_grad():
        test_acc = accuracy(model(nodes.x, graph.edge_index), nodes.y, nodes.masks["test"])
    return TrainResult(model, best["val_acc"], test_acc, first_epoch, train_seconds, epoch_seconds)


# -- the model directory --------------------------------------------------------------------

MODEL_FILE = "model.pt"
CONFIG_FILE = "config.json"
FEATURES_FILE = "features.pt"


def save_model(model_dir: Path, result: TrainResult, config: TrainConfig, graph: GraphData) -> None:
    """What serving needs: the weights, how to rebuild the model, and the (normalised) node features."""
    model_dir.mkdir(parents=True, exist_ok=True)
    nodes = graph.nodes
    torch.save(result.model.state_dict(), model_dir / MODEL_FILE)
    torch.save({"node_ids": nodes.node_ids, "x": nodes.x.to_sparse()}, model_dir / FEATURES_FILE)
    description = {
        "model": config.model,
        "in_channels": nodes.x.size(1),
        "out_channels": len(nodes.classes),
        "sizes": config.model_sizes(),
        "classes": nodes.classes,
        "undirected": config.undirected,
        "edge_label": config.edge_label or nodes.meta.get("edge_label", ""),
        "hyperparameters": config.to_dict(),
        "val_acc": result.best_val_acc,
        "test_acc": result.test_acc,
    }
    (model_dir / CONFIG_FILE).write_text(json.dumps(description, indent=2))


def load_model(model_dir: Path) -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild the model saved by :func:`save_model`; returns it (in eval mode) and its config."""
    description = json.loads((model_dir / CONFIG_FILE).read_text())
    model = build_model(description["model"], description["in_channels"], description["out_channels"],
                        **description["sizes"])
    model.load_state_dict(torch.load(model_dir / MODEL_FILE, weights_only=True))
    model.eval()
    return model, description


# -- the program ----------------------------------------------------------------------------

def channel_directory(config: TrainConfig) -> Path:
    """The channel with the ETL's files: hyperparameter ``channel``, else the only one.

    Raises:
        DataError: no channel, or several and none chosen.
    """
    channels = json.loads(os.environ.get(contract.SM_CHANNELS, "[]"))
    if config.channel:
        name = config.channel
    elif len(channels) == 1:
        name = channels[0]
    else:
        raise DataError(f"give hyperparameter channel (the job has channels {channels}); "
                        "it must hold graph-etl's features output")
    directory = os.environ.get(contract.channel_env_name(name))
    if not directory:
        raise DataError(f"no input channel {name!r} (channels: {channels})")
    return Path(directory)


def run(paths: JobPaths) -> TrainResult:
    hyperparameters = read_file(paths)
    config = from_hyperparameters(hyperparameters)
    directory = channel_directory(config)
    meta_edge_label = ""
    if (directory / "meta.json").is_file():
        meta_edge_label = str(json.loads((directory / "meta.json").read_text()).get("edge_label", ""))
    edges = data.gremlin_edges(data.graph_endpoint(config.graph_endpoint), config.edge_label or meta_edge_label)
    graph = data.load_graph(directory, edges, config.normalize_features, config.undirected)
    print(f"graph: {len(graph.nodes.node_ids)} nodes, {graph.edge_index.size(1)} directed edges, "
          f"{graph.nodes.x.size(1)} features, {len(graph.nodes.classes)} classes"
          + (f" ({graph.skipped_edges} edges to unknown nodes ignored)" if graph.skipped_edges else ""), flush=True)
    checkpoints = Path(os.environ.get(contract.SM_CHECKPOINT_DIR) or paths.checkpoint_dir)
    result = train(config, graph, checkpoints, log=lambda line: print(line, flush=True))
    print(f"train_seconds={result.train_seconds:.4f} epochs={len(result.epoch_seconds)}"
          + (f" epoch_seconds_median={statistics.median(result.epoch_seconds):.5f}"
             f" epoch_seconds_min={min(result.epoch_seconds):.5f}" if result.epoch_seconds else ""), flush=True)
    model_dir = Path(os.environ.get(contract.SM_MODEL_DIR) or paths.model_dir)
    save_model(model_dir, result, config, graph)
    print(f"best_val_acc={result.best_val_acc:.4f}", flush=True)
    print(f"test_acc={result.test_acc:.4f}", flush=True)
    return result


def main() -> int:
    paths = JobPaths.from_env()
    try:
        run(paths)
    except (DataError, ValueError, OSError) as error:
        reason = f"mlharbor/gnn: {type(error).__name__}: {error}"
        print(reason, file=sys.stderr, flush=True)
        write_failure(paths, reason)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
