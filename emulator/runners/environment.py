"""The environment a job's process gets: the toolkit's ``SM_*`` map and friends (pure).

Names come from :mod:`emulator.contract`; values point into the job's own tree, so they are
right whether or not that tree is also mounted on ``/opt/ml``. See the sagemaker-training
toolkit's ``environment.py`` / ``mapping.py`` for the variables' meaning.
"""

from __future__ import annotations

import json
import os
from typing import Any

from emulator import contract
from emulator.contract import JobPaths
from emulator.runners.base import RunRequest

#: Instance types' vCPU and GPU counts for the common families (a guess for the rest).
_GPU_FAMILIES = ("ml.p", "ml.g")


def resource_config(host: str, hosts: list[str]) -> dict[str, Any]:
    """``resourceconfig.json`` for one host."""
    return {
        "current_host": host,
        "current_instance_type": "",
        "current_group_name": "homogeneousCluster",
        "hosts": hosts,
        "network_interface_name": "eth0",
    }


def input_data_config(request: RunRequest) -> dict[str, Any]:
    """``inputdataconfig.json``: channel name → its description, as SageMaker writes it."""
    config: dict[str, Any] = {}
    for channel in request.input_data_config:
        entry: dict[str, Any] = {
            "TrainingInputMode": channel.get("InputMode", "File"),
            "S3DistributionType": channel["DataSource"]
            .get("S3DataSource", {})
            .get("S3DataDistributionType", "FullyReplicated"),
            "RecordWrapperType": channel.get("RecordWrapperType", "None"),
        }
        if "ContentType" in channel:
            entry["ContentType"] = channel["ContentType"]
        config[channel["ChannelName"]] = entry
    return config


def job_environment(
    request: RunRequest, paths: JobPaths, host: str, hosts: list[str], base: dict[str, str] | None = None
) -> dict[str, str]:
    """The complete environment for one host's process.

    Args:
        request: the run request.
        paths: the job's tree (host path).
        host: ``algo-1``…
        hosts: every host of the job.
        base: the environment to start from (the runner's own, minus what a job must not inherit).
    """
    hyperparameters = request.hyperparameters
    channels = [channel["ChannelName"] for channel in request.input_data_config]
    num_gpus = 0 if not request.instance_type.startswith(_GPU_FAMILIES) else 1
    user_args: list[str] = []
    for key, value in hyperparameters.items():
        if not key.startswith(contract.HP_RESERVED_PREFIX):
            user_args += [f"--{key}", value]
    env = dict(base or {})
    env.update(
        {
            contract.BASE_DIR_ENV: str(paths.base),
            contract.TRAINING_JOB_NAME: request.job_name,
            contract.TRAINING_JOB_ARN: request.job_arn,
            contract.SM_MODEL_DIR: str(paths.model_dir),
            contract.SM_INPUT_DIR: str(paths.input_dir),
            contract.SM_INPUT_CONFIG_DIR: str(paths.input_config_dir),
            contract.SM_INPUT_DATA_CONFIG: json.dumps(input_data_config(request)),
            contract.SM_OUTPUT_DIR: str(paths.output_dir),
            contract.SM_OUTPUT_DATA_DIR: str(paths.output_data_dir),
            contract.SM_CHECKPOINT_DIR: str(checkpoint_dir(request, paths)),
            contract.SM_CHANNELS: json.dumps(sorted(channels)),
            contract.SM_HPS: json.dumps(hyperparameters),
            contract.SM_HOSTS: json.dumps(hosts),
            contract.SM_CURRENT_HOST: host,
            contract.SM_NUM_CPUS: str(os.cpu_count() or 1),
            contract.SM_NUM_GPUS: str(num_gpus),
            contract.SM_NETWORK_INTERFACE_NAME: "eth0",
            contract.SM_RESOURCE_CONFIG: json.dumps(resource_config(host, hosts)),
            contract.SM_USER_ARGS: json.dumps(user_args),
            **aws_access_environment(request.s3_endpoint_url, request.region),
        }
    )
    for channel in channels:
        env[contract.channel_env_name(channel)] = str(paths.channel_dir(channel))
    for key, value in hyperparameters.items():
        env[contract.SM_HP_PREFIX + key.upper()] = value
    env.update(request.environment)
    return env


def aws_access_environment(endpoint_url: str, region: str) -> dict[str, str]:
    """What lets a job's own AWS clients reach the embedded services at the edge endpoint."""
    return {
        "AWS_ENDPOINT_URL": endpoint_url,
        "S3_ENDPOINT_URL": endpoint_url,
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
        "AWS_ACCESS_KEY_ID": "mlharbor",
        "AWS_SECRET_ACCESS_KEY": "mlharbor",
        "PYTHONUNBUFFERED": "1",
    }


def checkpoint_dir(request: RunRequest, paths: JobPaths) -> str:
    """``CheckpointConfig.LocalPath`` mapped into the job's tree, else ``<tree>/checkpoints``."""
    local = (request.checkpoint_config or {}).get("LocalPath")
    if not local:
        return str(paths.checkpoint_dir)
    relative = os.path.relpath(os.path.normpath(local), str(contract.DEFAULT_BASE_DIR))
    if relative.startswith(".."):
        # outside /opt/ml: kept inside the job's tree all the same, never at a host path a request names
        return str(paths.base / "local" / os.path.normpath(local).lstrip("/"))
    return str(paths.base / relative)
