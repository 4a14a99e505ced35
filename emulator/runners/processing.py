"""A processing job's tree: inputs downloaded to their ``LocalPath``, outputs uploaded from theirs.

The processing contract
(https://docs.aws.amazon.com/sagemaker/latest/dg/build-your-own-processing-container.html):
every input and output ``LocalPath`` lies under ``/opt/ml/processing``, the request is in
``/opt/ml/config/processingjobconfig.json``, and ``/opt/ml/output/message`` becomes
``ExitMessage``. Outputs are uploaded when the job ends (``S3UploadMode: EndOfJob``).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from containers import contract
from containers.contract import JobPaths
from emulator.core.safepath import SkipReporter
from emulator.runners import s3io, workspace
from emulator.runners.base import ProcessingRunRequest
from emulator.runners.environment import aws_access_environment


def prepare_processing_tree(s3: Any, request: ProcessingRunRequest, host: str, index: int,
                            names: list[str], stopped: Callable[[], bool] | None = None) -> JobPaths:
    """Create one host's tree, write its config files and download its inputs (until ``stopped()``)."""
    paths = JobPaths(request.workdir / host)
    if paths.base.exists():
        shutil.rmtree(paths.base)
    for directory in (paths.processing_dir, paths.output_dir, paths.input_config_dir):
        directory.mkdir(parents=True, exist_ok=True)
    workspace.write_json(paths.processing_job_config_file, request.job_config)
    workspace.write_json(paths.resource_config_file, {"current_host": host, "hosts": names})
    for entry in request.inputs:
        source = entry.get("S3Input")
        if source is None:
            raise s3io.DataError(f"ClientError: input {entry['InputName']}: only S3Input is supported by mlharbor")
        target = local_path(paths, source.get("LocalPath", ""))
        target.mkdir(parents=True, exist_ok=True)
        objects = s3io.channel_objects(s3, source["S3Uri"], source.get("S3DataType", "S3Prefix"))
        if not objects:
            raise s3io.DataError(f"ClientError: input {entry['InputName']}: no objects found under {source['S3Uri']}")
        if source.get("S3DataDistributionType") == "ShardedByS3Key":
            objects = s3io.shard(objects, index, len(names))
        s3io.download(s3, objects, target, stopped)
    for entry in request.outputs:
        local_path(paths, entry["S3Output"]["LocalPath"]).mkdir(parents=True, exist_ok=True)
    return paths


def upload_processing_outputs(s3: Any, request: ProcessingRunRequest, paths: JobPaths,
                              on_skip: SkipReporter | None = None) -> None:
    """Upload every regular file under each output's ``LocalPath`` to its ``S3Uri``, keeping relative paths.

    The job's symlinks and special files are skipped and reported to ``on_skip`` (see :func:`s3io.upload_tree`).
    """
    for entry in request.outputs:
        output = entry["S3Output"]
        directory = local_path(paths, output["LocalPath"])
        s3io.upload_tree(s3, directory, s3io.S3Location.parse(output["S3Uri"]), paths.base, on_skip)


def processing_environment(request: ProcessingRunRequest, paths: JobPaths, base: dict[str, str]) -> dict[str, str]:
    """The job's environment: the request's ``Environment`` plus what reaches the embedded AWS."""
    env = dict(base)
    env.update({
        contract.BASE_DIR_ENV: str(paths.base),
        "PROCESSING_JOB_NAME": request.job_name,
        **aws_access_environment(request.s3_endpoint_url, request.region, request.graph_endpoint_url),
    })
    env.update(request.environment)
    return env


def local_path(paths: JobPaths, declared: str) -> Path:
    """A declared ``LocalPath`` inside this tree (validated at CreateProcessingJob already)."""
    try:
        return paths.processing_path(declared)
    except ValueError as error:
        raise s3io.DataError(f"ClientError: {error}") from None
