"""The ``train`` program of ``mlharbor/neptune-ml``: one Neptune ML training job (or one tuning trial).

Inputs: the processed graph in channel ``graph`` (``SM_CHANNEL_GRAPH``; else the job's only channel), the
hyperparameters (Neptune's names, :mod:`.hyperparameters`; ``task``/``model`` default to the processed data's).
Full-batch training of the model :func:`containers.neptune_ml.models.build_model` makes, with the selection and
early stopping on the validation metric (``patience`` epochs without improvement stop it when ``early-stop``).
Prints ``epoch=<n> train_loss=<x> validation:<metric>=<v>`` per epoch, then ``validation:<metric>=<best>`` and
``test:<metric>=<v>`` (the image's metric_definitions). Checkpoints in ``SM_CHECKPOINT_DIR``
(:mod:`containers.contract.checkpoints`) from which a restarted job resumes; the model directory is
:mod:`.artifacts`' layout. Errors go to ``output/failure`` and the exit code.
"""

from __future__ import annotations

import copy
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from containers import contract
from containers.contract import JobPaths, checkpoints
from containers.contract.failure import write_failure
from containers.contract.hyperparameters import decode, read_file
from containers.neptune_ml import artifacts, hyperparameters
from containers.neptune_ml.graph import Graph, GraphError, load
from containers.neptune_ml.models import KGE_MODELS, build_model
from containers.neptune_ml.tasks import PRIMARY_METRIC, larger_is_better, make_task

CHANNEL = "graph"
CHECKPOINT_PREFIX = "nml-"
#: What must match for a checkpoint to be resumed (everything but the epoch budget and the checkpoint cadence).
NOT_IN_RESUME_KEY = ("num-epochs", "checkpoint-every", "patience", "early-stop")


@dataclass
class TrainResult:
    model: nn.Module
    metrics: dict[str, dict[str, float]]
    primary: str
    epochs_run: int
    first_epoch: int
    stopped_early: bool


def resolve(raw: dict[str, Any], graph: Graph, log: Callable[[str], None] = print) -> dict[str, Any]:
    """The typed hyperparameters, ``task`` and ``model`` filled from the processed data where not given."""
    parsed = hyperparameters.parse(raw)
    for name in parsed.ignored:
        log(f"ignoring hyperparameter {name} (not a parameter of this trainer)")
    hp = dict(parsed.values)
    hp["task"] = hp["task"] or graph.task
    if not hp["model"]:
        hp["model"] = "distmult" if graph.metadata.get("model_type") == "kge" else "rgcn"
    if hp["model"] in KGE_MODELS and hp["task"] != "link_predict":
        raise ValueError(f"model {hp['model']} only does link_predict, the data's task is {hp['task']}")
    if hp["task"] != graph.task and not (hp["task"] == "link_predict" and graph.task == "link_predict"):
        raise ValueError(f"task {hp['task']!r} is not the processed data's task {graph.task!r}")
    return hp


def _is_better(value: float, best: float | None, larger: bool) -> bool:
    if value != value:
        return best is None
    return best is None or best != best or (value > best if larger else value < best)


def train(graph: Graph, hp: dict[str, Any], checkpoint_dir: Path | None,
          log: Callable[[str], None] = print) -> TrainResult:
    """Train ``hp['model']`` for ``hp['task']`` on ``graph``, resuming from the newest checkpoint."""
    torch.manual_seed(int(hp["seed"]))
    task = make_task(graph, hp)
    primary = PRIMARY_METRIC[hp["task"]]
    larger = larger_is_better(primary)
    model = build_model(hp["task"], hp["model"], task.shape(), hp)
    optimizer = torch.optim.Adam(model.parameters(), lr=float(hp["lr"]), weight_decay=float(hp["weight-decay"]))
    resume_key = {k: v for k, v in hp.items() if k not in NOT_IN_RESUME_KEY}
    state: dict[str, Any] = {"best": None, "best_state": copy.deepcopy(model.state_dict()), "bad_epochs": 0}
    first_epoch = 1
    if checkpoint_dir is not None:
        restored, skipped = checkpoints.restore_newest(checkpoint_dir, CHECKPOINT_PREFIX)
        for note in skipped:
            log(f"skipping checkpoint {note}")
        if restored is not None:
            if restored.state.get("resume_key") != resume_key:
                raise ValueError(f"checkpoint {restored.path.name} belongs to another set-up "
                                 f"({restored.state.get('resume_key')}); use a fresh checkpoint location")
            model.load_state_dict(restored.state["model"])
            optimizer.load_state_dict(restored.state["optimizer"])
            state = restored.state["progress"]
            torch.set_rng_state(restored.state["rng"])
            task_generator = getattr(task, "generator", None)
            if task_generator is not None and "task_rng" in restored.state:
                task_generator.set_state(restored.state["task_rng"])
            first_epoch = restored.epoch + 1
            log(f"resuming from {restored.path.name} (epoch {restored.epoch})")
    epochs, stopped_early, epoch = int(hp["num-epochs"]), False, first_epoch - 1
    for epoch in range(first_epoch, epochs + 1):
        model.train()
        optimizer.zero_grad()
        loss = task.loss(model)
        loss.backward()
        optimizer.step()
        model.eval()
        with torch.no_grad():
            value = task.evaluate(model, ("val",))["val"][primary]
        if _is_better(value, state["best"], larger):
            state = {"best": value, "best_state": copy.deepcopy(model.state_dict()), "bad_epochs": 0}
        else:
            state["bad_epochs"] += 1
        log(f"epoch={epoch} train_loss={float(loss.detach()):.6f} validation:{primary}={value:.6f}")
        stop = bool(hp["early-stop"]) and int(hp["patience"]) > 0 and state["bad_epochs"] >= int(hp["patience"])
        every = int(hp["checkpoint-every"])
        if checkpoint_dir is not None and every > 0 and (epoch % every == 0 or epoch == epochs or stop):
            saved = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "progress": state,
                     "rng": torch.get_rng_state(), "resume_key": resume_key}
            if getattr(task, "generator", None) is not None:
                saved["task_rng"] = task.generator.get_state()
            checkpoints.save_checkpoint(checkpoint_dir, epoch, saved, prefix=CHECKPOINT_PREFIX)
        if stop:
            log(f"early stop at epoch {epoch}: validation:{primary} did not improve for {hp['patience']} epochs")
            stopped_early = True
            break
    model.load_state_dict(state["best_state"])
    model.eval()
    with torch.no_grad():
        metrics = task.evaluate(model, ("val", "test"))
    return TrainResult(model, metrics, primary, max(epoch - first_epoch + 1, 0), first_epoch, stopped_early)


def channel_directory() -> Path:
    """``SM_CHANNEL_GRAPH``, else the job's only channel.

    Raises:
        GraphError: neither.
    """
    if os.environ.get(contract.channel_env_name(CHANNEL)):
        return Path(os.environ[contract.channel_env_name(CHANNEL)])
    channels = json.loads(os.environ.get(contract.SM_CHANNELS, "[]"))
    if len(channels) == 1 and os.environ.get(contract.channel_env_name(channels[0])):
        return Path(os.environ[contract.channel_env_name(channels[0])])
    raise GraphError(f"no input channel {CHANNEL!r} with the processed graph (channels: {channels})")


def run_training(data_dir: Path, raw_hyperparameters: dict[str, Any], model_dir: Path,
                 checkpoint_dir: Path | None, log: Callable[[str], None] = print) -> TrainResult:
    """Load, train, print the final metrics and write the model directory."""
    graph = load(data_dir)
    hp = resolve(raw_hyperparameters, graph, log)
    log(f"graph: {graph.num_nodes()} nodes, {[len(t.src) for t in graph.edges.values()]} edges per type; "
        f"task {hp['task']}, model {hp['model']}")
    result = train(graph, hp, checkpoint_dir, log)
    for split, name in (("val", "validation"), ("test", "test")):
        for metric, value in sorted(result.metrics[split].items()):
            log(f"{name}:{metric}={value:.6f}")
    task = make_task(graph, hp)
    with torch.no_grad():
        predictions = task.predictions(result.model)
    artifacts.write_model_dir(model_dir, result.model, graph, data_dir, hp, task.shape(), result.metrics,
                              result.primary, predictions)
    return result


def main() -> int:
    paths = JobPaths.from_env()
    try:
        raw = decode(read_file(paths))
        model_dir = Path(os.environ.get(contract.SM_MODEL_DIR) or paths.model_dir)
        checkpoint_dir = Path(os.environ.get(contract.SM_CHECKPOINT_DIR) or paths.checkpoint_dir)
        run_training(channel_directory(), raw, model_dir, checkpoint_dir, lambda line: print(line, flush=True))
    except (GraphError, ValueError, KeyError, OSError) as error:
        reason = f"mlharbor/neptune-ml: {type(error).__name__}: {error}"
        print(reason, file=sys.stderr, flush=True)
        write_failure(paths, reason)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
