"""One host's ``/opt/ml`` tree for a job: built before it starts, read after it ends.

https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-training-algo-running-container.html
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from containers.contract import JobPaths
from emulator.core.safepath import SkipReporter, UnsafePathError, open_job_file
from emulator.runners import s3io
from emulator.runners.base import RunRequest
from emulator.runners.environment import checkpoint_dir, input_data_config, resource_config

FAILURE_REASON_LIMIT = 1024


def host_names(count: int) -> list[str]:
    return [f"algo-{index}" for index in range(1, count + 1)]


def prepare_tree(request: RunRequest, host: str, hosts: list[str]) -> JobPaths:
    """Create one host's tree (fresh each attempt) and write its three config files.

    Raises:
        DataError: a channel name cannot be a directory name, or the checkpoint path is unsafe.
    """
    for channel in request.channels:
        _check_channel_name(channel.name)
    paths = JobPaths(request.workdir / host)
    if paths.base.exists():
        shutil.rmtree(paths.base)
    for directory in paths.all_dirs():
        directory.mkdir(parents=True, exist_ok=True)
    try:
        Path(checkpoint_dir(request, paths)).mkdir(parents=True, exist_ok=True)
    except UnsafePathError as error:  # refused at CreateTrainingJob; only a record older than that check
        raise s3io.DataError(f"ClientError: CheckpointConfig.LocalPath {error}") from None
    _write_json(paths.hyperparameters_file, request.hyperparameters)
    _write_json(paths.input_data_config_file, input_data_config(request))
    _write_json(paths.resource_config_file, resource_config(host, hosts, request.instance_type))
    return paths


def _check_channel_name(name: str) -> None:
    """A channel name becomes a directory name: ``.``/``..`` (allowed by the API's pattern) are refused.

    Raises:
        DataError: the name would not stay one directory under ``input/data``.
    """
    if name in (".", "..") or "/" in name or not name:
        raise s3io.DataError(f"ClientError: channel name {name!r} cannot be used as a directory name")


def download_channels(s3: Any, request: RunRequest, paths: JobPaths, host_index: int, host_count: int,
                      stopped: Callable[[], bool] | None = None) -> int:
    """Fill ``input/data/<channel>/`` for one host; returns bytes downloaded.

    Raises:
        DataError: a source is missing, empty, unreadable or has unsafe keys.
        StopRequested: ``stopped()`` turned true (asked before each object).
    """
    total = 0
    for channel in request.channels:
        name, source = channel.name, channel.source
        if source is None:
            raise s3io.DataError(f"ClientError: channel {name}: only S3DataSource is supported by mlharbor")
        objects = s3io.channel_objects(s3, source.uri, source.data_type)
        if not objects:
            raise s3io.DataError(
                f"ClientError: channel {name}: no objects found under {source.uri}; "
                "check that the S3 prefix is correct"
            )
        if source.distribution == "ShardedByS3Key":
            objects = s3io.shard(objects, host_index, host_count)
        directory = paths.channel_dir(name)
        directory.mkdir(parents=True, exist_ok=True)
        total += s3io.download(s3, objects, directory, stopped)
    return total


def upload_outputs(s3: Any, request: RunRequest, paths: JobPaths,
                   on_skip: SkipReporter | None = None) -> tuple[str, Path]:
    """Pack ``model/`` and ``output/data/`` and upload them; returns the model's S3 URI and archive.

    The job owns everything under its tree: its symlinks and special files are left out and
    reported to ``on_skip`` (the job's log), never packed as what they point to.
    """
    destination = s3io.S3Location.parse(request.output_s3_path).child(request.job_name, "output")
    scratch = request.workdir / "upload"
    scratch.mkdir(parents=True, exist_ok=True)
    model_archive, output_archive = scratch / "model.tar.gz", scratch / "output.tar.gz"
    s3io.tar_directory(paths.model_dir, model_archive, paths.base, on_skip)
    s3io.tar_directory(paths.output_data_dir, output_archive, paths.base, on_skip)
    model_uri = s3io.upload_file(s3, model_archive, destination.child("model.tar.gz"))
    s3io.upload_file(s3, output_archive, destination.child("output.tar.gz"))
    return model_uri, model_archive


def failure_text(paths: JobPaths) -> str | None:
    """The first 1024 characters of ``output/failure``, if the job wrote one."""
    return _job_text(paths, paths.failure_file)


def message_text(paths: JobPaths) -> str | None:
    """The first 1024 characters of ``output/message`` (a processing job's ``ExitMessage``)."""
    return _job_text(paths, paths.message_file)


def _job_text(paths: JobPaths, path: Path) -> str | None:
    """A short text file the job wrote for the server; a symlink or FIFO there reads as no file."""
    reader = open_job_file(path, paths.base)
    if reader is None:
        return None
    with reader:
        text = reader.read(FAILURE_REASON_LIMIT * 4).decode(errors="replace").strip()
    return text[:FAILURE_REASON_LIMIT] or None


def write_json(path: Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=2))


def _write_json(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value, indent=2))
