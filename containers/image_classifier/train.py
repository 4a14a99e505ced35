"""The ``train`` program of ``mlharbor/image-classifier``: a small CNN on labelled images.

Channels (File mode): ``train`` (or ``training``) is required, ``validation`` and ``test``
are optional; each holds ``<label>/<name>.png`` (any image format Pillow reads, any size:
images are converted to ``image-size`` × ``image-size`` grayscale). Without a
``validation`` channel, ``val-fraction`` of the training images is held out.

Each epoch prints one metric line (``epoch=3 train_loss=0.1234 val_acc=0.9650``, for
``MetricDefinitions``) and writes a checkpoint to ``SM_CHECKPOINT_DIR``; a job that finds a
checkpoint there (a stopped job's successor with the same ``CheckpointConfig.S3Uri``, a
spot interruption, a retry) continues after that epoch. The end prints ``test_acc=…`` when
a ``test`` channel exists and writes ``model.pt`` + ``config.json`` to ``SM_MODEL_DIR``.

Failures follow the container contract: bad hyperparameters or data write
``output/failure`` (``ClientError: …``) and exit 1. SIGTERM (StopTrainingJob) ends the job
at the next batch, keeping the last epoch's checkpoint.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
import traceback
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from containers import contract
from containers.contract import JobPaths, checkpoints
from containers.contract.failure import write_failure
from containers.contract.hyperparameters import read as read_job_hyperparameters
from containers.image_classifier.images import ImageError, ImageFolder, read_image_folder
from containers.image_classifier.model import ImageCNN

#: Channel names read, in order of preference for each role.
TRAIN_CHANNELS = ("train", "training")
VALIDATION_CHANNEL = "validation"
TEST_CHANNEL = "test"

MODEL_FILE = "model.pt"
CONFIG_FILE = "config.json"


class ClientError(ValueError):
    """A problem with the job's input (hyperparameters, data); reported as ``ClientError: …``."""


@dataclass(frozen=True)
class HyperParameters:
    """The image classifier's hyperparameters (names as sent: ``batch-size``, ``val-fraction``…).

    Args:
        epochs: passes over the training images. (default: ``15``)
        lr: Adam's learning rate. (default: ``0.003``)
        batch_size: images per gradient step. (default: ``64``)
        seed: initial weights, shuffling and the validation hold-out. (default: ``0``)
        val_fraction: share of training images held out when there is no ``validation`` channel. (default: ``0.1``)
        image_size: side length images are resized to. (default: ``8``, the digits' size)
        dropout: dropout before the classifier head. (default: ``0.25``)
    """

    epochs: int = 15
    lr: float = 0.003
    batch_size: int = 64
    seed: int = 0
    val_fraction: float = 0.1
    image_size: int = 8
    dropout: float = 0.25

    @classmethod
    def from_mapping(cls, raw: dict[str, Any]) -> HyperParameters:
        """Parse hyperparameters as SageMaker passes them (strings, or JSON-decoded values).

        ``batch-size`` and ``batch_size`` both name :attr:`batch_size`; ``sagemaker_*`` keys
        belong to the container and are ignored.

        Raises:
            ClientError: an unknown name, a value of the wrong type or out of range.
        """
        known = {field.name: field for field in fields(cls)}
        values: dict[str, Any] = {}
        for key, value in raw.items():
            if key.startswith(contract.HP_RESERVED_PREFIX):
                continue
            name = key.replace("-", "_")
            if name not in known:
                allowed = ", ".join(sorted(n.replace("_", "-") for n in known))
                raise ClientError(f"unknown hyperparameter {key!r} (known: {allowed})")
            kind = int if known[name].type in ("int", int) else float
            try:
                number = float(value)
                if kind is int and not number.is_integer():
                    raise ValueError
                values[name] = kind(number)
            except (TypeError, ValueError, OverflowError):
                raise ClientError(f"hyperparameter {key!r} must be {'an integer' if kind is int else 'a number'}, "
                                  f"got {value!r}") from None
        params = cls(**values)
        params.validate()
        return params

    def validate(self) -> None:
        checks = [
            (1 <= self.epochs <= 100_000, "epochs must lie in [1, 100000]"),
            (0 < self.lr <= 10, "lr must lie in (0, 10]"),
            (1 <= self.batch_size <= 65_536, "batch-size must lie in [1, 65536]"),
            (0 <= self.seed < 2**32, "seed must lie in [0, 2^32)"),
            (0 <= self.val_fraction < 1, "val-fraction must lie in [0, 1)"),
            (8 <= self.image_size <= 256, "image-size must lie in [8, 256]"),
            (0 <= self.dropout < 1, "dropout must lie in [0, 1)"),
        ]
        problems = [message for ok, message in checks if not ok]
        if problems:
            raise ClientError("; ".join(problems))


def read_hyperparameters(environ: dict[str, str], paths: JobPaths) -> dict[str, Any]:
    """``SM_HPS`` (the toolkit's JSON map) when set, else ``hyperparameters.json`` (the contract's one reader)."""
    try:
        return read_job_hyperparameters(paths, environ)
    except ValueError as error:
        raise ClientError(str(error)) from None


def channel_dir(names: tuple[str, ...], environ: dict[str, str], paths: JobPaths) -> Path | None:
    """The first of ``names`` that is a channel of this job (``SM_CHANNEL_<NAME>``, else the contract path)."""
    for name in names:
        directory = Path(environ.get(contract.channel_env_name(name)) or paths.channel_dir(name))
        if directory.is_dir():
            return directory
    return None


def holdout_split(count: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(train, validation)``: a seeded ``fraction`` of ``count`` held out (at least one when > 0)."""
    order = np.random.default_rng(seed).permutation(count)
    held = 0 if fraction == 0 else max(1, round(count * fraction))
    if held >= count:
        raise ClientError(f"val-fraction {fraction} leaves no training image out of {count}")
    return np.sort(order[held:]), np.sort(order[:held])


def as_tensors(folder: ImageFolder, index: np.ndarray | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    images, targets = (folder.images, folder.targets) if index is None else (folder.images[index],
                                                                             folder.targets[index])
    return torch.from_numpy(images).unsqueeze(1), torch.from_numpy(targets)


@dataclass
class Data:
    """The job's tensors: images ``(N, 1, S, S)`` and label indices ``(N,)`` per split."""

    labels: tuple[str, ...]
    train: tuple[torch.Tensor, torch.Tensor]
    validation: tuple[torch.Tensor, torch.Tensor] | None
    test: tuple[torch.Tensor, torch.Tensor] | None


def load_data(params: HyperParameters, environ: dict[str, str], paths: JobPaths) -> Data:
    """Read the channels; hold out a validation split when there is no ``validation`` channel."""
    train_dir = channel_dir(TRAIN_CHANNELS, environ, paths)
    if train_dir is None:
        raise ClientError(f"no training data: the job needs a channel named {' or '.join(TRAIN_CHANNELS)}")
    try:
        folder = read_image_folder(train_dir, params.image_size)
        if len(folder.labels) < 2:
            raise ClientError(f"training data has {len(folder.labels)} label folder(s) in {train_dir}: need at least 2")
        validation_dir = channel_dir((VALIDATION_CHANNEL,), environ, paths)
        test_dir = channel_dir((TEST_CHANNEL,), environ, paths)
        test = as_tensors(read_image_folder(test_dir, params.image_size, folder.labels)) if test_dir else None
        if validation_dir is not None:
            validation = as_tensors(read_image_folder(validation_dir, params.image_size, folder.labels))
            return Data(folder.labels, as_tensors(folder), validation, test)
    except ImageError as error:
        raise ClientError(str(error)) from None
    train_index, validation_index = holdout_split(len(folder), params.val_fraction, params.seed)
    validation = as_tensors(folder, validation_index) if len(validation_index) else None
    return Data(folder.labels, as_tensors(folder, train_index), validation, test)


class StopFlag:
    """Set by SIGTERM: the loop ends at the next batch instead of dying mid-write."""

    def __init__(self) -> None:
        self.requested = False

    def install(self) -> None:
        signal.signal(signal.SIGTERM, self._handle)

    def _handle(self, signum: int, frame: object) -> None:
        self.requested = True


def train_epoch(model: nn.Module, optimiser: torch.optim.Optimizer, data: tuple[torch.Tensor, torch.Tensor],
                batch_size: int, generator: torch.Generator, stop: StopFlag) -> float | None:
    """One pass in a shuffled order; the mean loss, or ``None`` when a stop cut it short."""
    images, targets = data
    model.train()
    order = torch.randperm(len(targets), generator=generator)
    total, seen = 0.0, 0
    for start in range(0, len(order), batch_size):
        if stop.requested:
            return None
        batch = order[start:start + batch_size]
        optimiser.zero_grad()
        loss = nn.functional.cross_entropy(model(images[batch]), targets[batch])
        loss.backward()
        optimiser.step()
        total += loss.item() * len(batch)
        seen += len(batch)
    return total / seen


@torch.no_grad()
def accuracy(model: nn.Module, data: tuple[torch.Tensor, torch.Tensor]) -> float:
    images, targets = data
    model.eval()
    return (model(images).argmax(dim=1) == targets).float().mean().item()


def model_config(params: HyperParameters, model: ImageCNN, data: Data, metrics: dict[str, float],
                 epochs: int) -> dict[str, Any]:
    """``config.json``: what the serve module needs to rebuild and feed the model."""
    return {
        "architecture": type(model).__name__,
        "num_classes": model.num_classes,
        "channels": list(model.channels),
        "hidden": model.hidden,
        "labels": list(data.labels),
        "image_size": params.image_size,
        "train_mean": float(data.train[0].mean()),
        "hyperparameters": asdict(params),
        "epochs_trained": epochs,
        "metrics": metrics,
    }


def write_model(model_dir: Path, model: ImageCNN, config: dict[str, Any]) -> None:
    model_dir.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), model_dir / MODEL_FILE)
    (model_dir / CONFIG_FILE).write_text(json.dumps(config, indent=2, sort_keys=True))


def restore(checkpoint_dir: Path, model: nn.Module, optimiser: torch.optim.Optimizer,
            labels: tuple[str, ...], params: HyperParameters) -> int:
    """Load the newest checkpoint into ``model`` and ``optimiser``; the epoch it ended (0: none)."""
    restored, skipped = checkpoints.restore_newest(checkpoint_dir)
    for note in skipped:
        print(f"skipping unreadable checkpoint {note}", flush=True)
    if restored is None:
        return 0
    state = restored.state
    if tuple(state.get("labels", ())) != labels or state.get("image_size") != params.image_size:
        raise ClientError(f"checkpoint {restored.path.name} is for labels {state.get('labels')} at image size "
                          f"{state.get('image_size')}, not this job's {list(labels)} at {params.image_size}: "
                          "use another CheckpointConfig.S3Uri")
    try:
        model.load_state_dict(state["model"])
        optimiser.load_state_dict(state["optimiser"])
        torch.set_rng_state(state["rng"])
    except (KeyError, RuntimeError, TypeError, ValueError) as error:
        raise ClientError(f"checkpoint {restored.path.name} does not fit this model: {error!r}") from None
    print(f"resumed from epoch {restored.epoch} ({restored.path.name})", flush=True)
    return restored.epoch


def compute_threads(image_size: int, environ: dict[str, str]) -> int:
    """Intra-op threads: one for small images, where threading costs more than it gives
    (8×8 digits on 2 cores: 0.15 s an epoch on one thread, about 1 s on two), else ``SM_NUM_CPUS``."""
    if image_size <= 32:
        return 1
    try:
        return max(1, int(environ.get(contract.SM_NUM_CPUS) or os.cpu_count() or 1))
    except ValueError:
        return 1


def run(environ: dict[str, str], paths: JobPaths, stop: StopFlag) -> int:
    """Train, checkpoint each epoch, evaluate, write the model; the process exit code."""
    params = HyperParameters.from_mapping(read_hyperparameters(environ, paths))
    data = load_data(params, environ, paths)
    torch.set_num_threads(compute_threads(params.image_size, environ))
    print(f"labels={list(data.labels)} train_images={len(data.train[1])} "
          f"validation_images={len(data.validation[1]) if data.validation else 0} "
          f"test_images={len(data.test[1]) if data.test else 0} hyperparameters={asdict(params)}", flush=True)
    torch.manual_seed(params.seed)
    model = ImageCNN(len(data.labels), dropout=params.dropout)
    optimiser = torch.optim.Adam(model.parameters(), lr=params.lr)
    checkpoint_dir = Path(environ.get(contract.SM_CHECKPOINT_DIR) or paths.checkpoint_dir)
    done = restore(checkpoint_dir, model, optimiser, data.labels, params)
    if done >= params.epochs:
        print(f"the checkpoint is of epoch {done}, epochs is {params.epochs}: nothing left to train", flush=True)
    for epoch in range(done + 1, params.epochs + 1):
        started = time.monotonic()
        # the shuffle depends on (seed, epoch) only, so a resumed job sees the order an uninterrupted one would
        generator = torch.Generator().manual_seed(params.seed * 100_003 + epoch)
        train_loss = train_epoch(model, optimiser, data.train, params.batch_size, generator, stop)
        if train_loss is None:
            print(f"SIGTERM during epoch {epoch}: stopping; the checkpoint of epoch {epoch - 1} is kept", flush=True)
            return 0
        validation = f" val_acc={accuracy(model, data.validation):.4f}" if data.validation else ""
        print(f"epoch={epoch} train_loss={train_loss:.4f}{validation} seconds={time.monotonic() - started:.2f}",
              flush=True)
        checkpoints.save_checkpoint(checkpoint_dir, epoch, {
            "model": model.state_dict(), "optimiser": optimiser.state_dict(), "rng": torch.get_rng_state(),
            "labels": list(data.labels), "image_size": params.image_size,
        })
        done = epoch
        if stop.requested:
            print(f"SIGTERM: stopping after epoch {epoch}", flush=True)
            return 0
    # measured again (not the last epoch's value) so a job that trained no epoch reports its model too
    metrics = {"val_acc": accuracy(model, data.validation)} if data.validation else {}
    if data.test is not None:
        metrics["test_acc"] = accuracy(model, data.test)
        print(f"test_acc={metrics['test_acc']:.4f}", flush=True)
    else:
        print("no test channel: test_acc not measured", flush=True)
    write_model(Path(environ.get(contract.SM_MODEL_DIR) or paths.model_dir), model,
                model_config(params, model, data, metrics, done))
    return 0


def main() -> None:
    environ = dict(os.environ)
    paths = JobPaths.from_env(environ)
    stop = StopFlag()
    stop.install()
    try:
        code = run(environ, paths, stop)
    except ClientError as error:
        message = f"ClientError: {error}"
        print(message, file=sys.stderr, flush=True)
        write_failure(paths, message)
        code = 1
    except Exception as error:
        traceback.print_exc()
        write_failure(paths, f"{type(error).__name__}: {error}")
        code = 2
    sys.exit(code)


if __name__ == "__main__":
    main()
