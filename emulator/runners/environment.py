"""The environment a job's process gets: the toolkit's ``SM_*`` map and friends (pure but for the GPU count).

Names come from :mod:`containers.contract`; values point into the job's own tree, so they are
right whether or not that tree is also mounted on ``/opt/ml``. See the sagemaker-training
toolkit's ``environment.py`` / ``mapping.py`` for the variables' meaning.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from containers import contract
from containers.contract import JobPaths
from containers.contract.hyperparameters import decode as decode_hyperparameters
from emulator.core.credentials import internal_key
from emulator.core.safepath import container_path
from emulator.runners.base import RunRequest
from emulator.runners.serving import SERVING_ID_ENV, ServingRequest

#: variables of the server's own environment a job or serve process must not inherit
PRIVATE_ENV = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")


def without_private(environ: Mapping[str, str]) -> dict[str, str]:
    """``environ`` minus what a child must not inherit (the user's own AWS session)."""
    return {key: value for key, value in environ.items() if key not in PRIVATE_ENV}


#: Where the NVIDIA driver exposes one device node per GPU.
_GPU_DEVICES = "/dev"


def resource_config(host: str, hosts: list[str], instance_type: str = "") -> dict[str, Any]:
    """``resourceconfig.json`` for one host, as SageMaker writes it for a homogeneous cluster.

    https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-training-algo-running-container.html#your-algorithms-training-algo-running-container-dist-training
    """
    return {
        "current_host": host,
        "current_instance_type": instance_type,
        "current_group_name": "homogeneousCluster",
        "hosts": hosts,
        "instance_groups": [
            {"instance_group_name": "homogeneousCluster", "instance_type": instance_type, "hosts": hosts}
        ],
        "network_interface_name": "eth0",
    }


def to_cmd_args(hyperparameters: dict[str, Any]) -> list[str]:
    """``--key value`` pairs in key order, as the toolkit's ``mapping.to_cmd_args`` builds them."""
    args: list[str] = []
    for key in sorted(hyperparameters):
        value = hyperparameters[key]
        if isinstance(value, dict):
            value = ",".join(f"{k}={v}" for k, v in sorted(value.items()))
        args += [f"--{key}" if len(key) > 1 else f"-{key}", "" if value is None else str(value)]
    return args


def _env_value(value: Any) -> str:
    """One ``SM_*`` value: strings as they are, anything else as compact JSON (toolkit ``mapping``)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def machine_gpu_count() -> int:
    """GPUs this machine really has (``/dev/nvidia<N>``): a process-runner job gets the host's GPUs."""
    try:
        return sum(1 for name in os.listdir(_GPU_DEVICES) if name.startswith("nvidia") and name[6:].isdigit())
    except OSError:
        return 0


def input_data_config(request: RunRequest) -> dict[str, Any]:
    """``inputdataconfig.json``: channel name → its description, as SageMaker writes it."""
    config: dict[str, Any] = {}
    for channel in request.channels:
        entry: dict[str, Any] = {
            "TrainingInputMode": channel.input_mode,
            "S3DistributionType": channel.source.distribution if channel.source else "FullyReplicated",
            "RecordWrapperType": channel.record_wrapper_type,
        }
        if channel.content_type is not None:
            entry["ContentType"] = channel.content_type
        config[channel.name] = entry
    return config


def job_environment(
    request: RunRequest, paths: JobPaths, host: str, hosts: list[str], base: dict[str, str] | None = None,
    num_gpus: int = 0, num_cpus: int | None = None,
) -> dict[str, str]:
    """The complete environment for one host's process.

    The ``SM_*`` part is what the sagemaker-training toolkit's ``Environment.to_env_vars`` gives a
    user script (https://github.com/aws/sagemaker-training-toolkit/blob/master/ENVIRONMENT_VARIABLES.md),
    so code that reads them runs unchanged under any image, toolkit or not.

    Args:
        request: the run request.
        paths: the job's tree (host path).
        host: ``algo-1``…
        hosts: every host of the job.
        base: the environment to start from (the runner's own, minus what a job must not inherit).
        num_gpus: GPUs the job may use.
        num_cpus: CPUs the job may use (default: this machine's; a container gets its instance type's).
    """
    decoded = decode_hyperparameters(request.hyperparameters)
    # sagemaker_* hyperparameters configure the container; the toolkit keeps them out of SM_HPS
    user_hps = {k: v for k, v in decoded.items() if not k.startswith(contract.HP_RESERVED_PREFIX)}
    framework_params = {k: v for k, v in decoded.items() if k.startswith(contract.HP_RESERVED_PREFIX)}
    channels = {channel.name: str(paths.channel_dir(channel.name)) for channel in request.channels}
    data_config = input_data_config(request)
    resources = resource_config(host, hosts, request.instance_type)
    num_cpus = num_cpus or os.cpu_count() or 1
    training_env = {
        "additional_framework_parameters": framework_params,
        "channel_input_dirs": channels,
        "current_host": host,
        "current_instance_type": request.instance_type,
        "hosts": hosts,
        "hyperparameters": user_hps,
        "input_config_dir": str(paths.input_config_dir),
        "input_data_config": data_config,
        "input_dir": str(paths.input_dir),
        "job_name": request.job_name,
        "model_dir": str(paths.model_dir),
        "module_dir": framework_params.get(contract.HP_SUBMIT_DIRECTORY, ""),
        "network_interface_name": "eth0",
        "num_cpus": num_cpus,
        "num_gpus": num_gpus,
        "output_data_dir": str(paths.output_data_dir),
        "output_dir": str(paths.output_dir),
        "resource_config": resources,
        "user_entry_point": framework_params.get(contract.HP_PROGRAM, ""),
    }
    env = dict(base or {})
    env.update(
        {
            contract.BASE_DIR_ENV: str(paths.base),
            contract.TRAINING_JOB_NAME: request.job_name,
            contract.TRAINING_JOB_ARN: request.job_arn,
            contract.SM_MODEL_DIR: str(paths.model_dir),
            contract.SM_INPUT_DIR: str(paths.input_dir),
            contract.SM_INPUT_CONFIG_DIR: str(paths.input_config_dir),
            contract.SM_INPUT_DATA_CONFIG: _env_value(data_config),
            contract.SM_OUTPUT_DIR: str(paths.output_dir),
            contract.SM_OUTPUT_DATA_DIR: str(paths.output_data_dir),
            contract.SM_CHECKPOINT_DIR: str(checkpoint_dir(request, paths)),
            contract.SM_CHANNELS: _env_value(sorted(channels)),
            contract.SM_HPS: _env_value(user_hps),
            contract.SM_FRAMEWORK_PARAMS: _env_value(framework_params),
            contract.SM_USER_ENTRY_POINT: _env_value(training_env["user_entry_point"]),
            contract.SM_MODULE_DIR: _env_value(training_env["module_dir"]),
            contract.SM_HOSTS: _env_value(hosts),
            contract.SM_CURRENT_HOST: host,
            contract.SM_NUM_CPUS: str(num_cpus),
            contract.SM_NUM_GPUS: str(num_gpus),
            contract.SM_NETWORK_INTERFACE_NAME: "eth0",
            contract.SM_RESOURCE_CONFIG: _env_value(resources),
            contract.SM_USER_ARGS: _env_value(to_cmd_args(user_hps)),
            contract.SM_TRAINING_ENV: _env_value(training_env),
            **aws_access_environment(request.s3_endpoint_url, request.region, request.graph_endpoint_url),
        }
    )
    for channel, directory in channels.items():
        env[contract.channel_env_name(channel)] = directory
    for key, value in user_hps.items():
        env[contract.SM_HP_PREFIX + key.upper()] = _env_value(value)
    env.update(request.environment)
    return env


def aws_access_environment(endpoint_url: str, region: str, graph_endpoint_url: str | None = None) -> dict[str, str]:
    """What lets a job's own AWS clients reach the embedded services at the edge endpoint,
    and its gremlinpython client the graph server."""
    graph = {contract.GRAPH_ENDPOINT_ENV: graph_endpoint_url} if graph_endpoint_url else {}
    return {
        **graph,
        "AWS_ENDPOINT_URL": endpoint_url,
        "S3_ENDPOINT_URL": endpoint_url,
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
        # the server's own key: with --auth sigv4 a job's boto3 calls must be signed by a configured key
        "AWS_ACCESS_KEY_ID": internal_key().access_key_id,
        "AWS_SECRET_ACCESS_KEY": internal_key().secret_access_key,
        "PYTHONUNBUFFERED": "1",
    }


def checkpoint_dir(request: RunRequest, paths: JobPaths) -> str:
    """``CheckpointConfig.LocalPath`` mapped into the job's tree, else ``<tree>/checkpoints``.

    Raises:
        UnsafePathError: the path is relative or not normalised (refused at CreateTrainingJob already).
    """
    local = request.checkpoint_local_path
    if not local:
        return str(paths.checkpoint_dir)
    path = container_path(local, under="/")
    base = PurePosixPath(str(contract.DEFAULT_BASE_DIR))
    if not path.is_relative_to(base):
        # outside /opt/ml: kept inside the job's tree all the same, never at a host path a request names
        return str(paths.base.joinpath("local", *path.parts[1:]))
    return str(paths.base.joinpath(*path.relative_to(base).parts))


def serving_environment(request: ServingRequest, model_dir: Path | str, port: int, base: dict[str, str],
                        host: str = "127.0.0.1") -> dict[str, str]:
    """The serve process's environment: the server's, the contract's, then the model's own ``Environment``.

    ``model_dir``, ``host`` and ``port`` are as the serve program sees them (a container's own
    ``/opt/ml/model`` and ``0.0.0.0:8080`` in the Docker runner).
    """
    env = without_private(base)
    env.update(aws_access_environment(request.s3_endpoint_url, request.region, request.graph_endpoint_url))
    env.update({contract.SM_MODEL_DIR: str(model_dir), SERVING_ID_ENV: request.serving_id})
    env.update(request.environment)
    # where it listens is ours to say: a model's Environment cannot move the port under the edge
    env[contract.SERVING_HOST_ENV] = host
    env[contract.SERVING_PORT_ENV] = str(port)
    return env
