"""An ``Estimator``-style helper: ``fit(inputs)``, ``wait()``, live status and logs, ``model_data``.

It speaks plain boto3 (CreateTrainingJob, DescribeTrainingJob, CloudWatch Logs), so what
it does is exactly what any boto3 user can do; pass clients made for AWS and it runs there.
Script mode: give ``entry_point`` (and optionally ``source_dir``) and it packs
``sourcedir.tar.gz``, uploads it, and sets ``sagemaker_program`` /
``sagemaker_submit_directory`` as the SageMaker framework containers expect.
"""

from __future__ import annotations

import io
import sys
import tarfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlparse

from containers.contract import HP_PROGRAM, HP_SUBMIT_DIRECTORY
from sdk.logs import LogTail
from sdk.session import client as local_client

TERMINAL = ("Completed", "Failed", "Stopped")
DEFAULT_ROLE = "arn:aws:iam::123456789012:role/mlharbor"


def unique_job_name(base: str) -> str:
    """``<base>-YYYY-MM-DD-HH-MM-SS-mmm``, the SageMaker SDK's naming."""
    now = time.time()
    return f"{base}-{time.strftime('%Y-%m-%d-%H-%M-%S', time.gmtime(now))}-{int(now * 1000) % 1000:03d}"


@dataclass
class Estimator:
    """Builds and runs training jobs.

    Args:
        image_uri: ``TrainingImage`` (e.g. ``mlharbor/pytorch``).
        output_path: ``S3OutputPath`` (``s3://bucket/prefix``).
        role: ``RoleArn`` (any well-formed role works locally).
        instance_type / instance_count: ``ResourceConfig``.
        hyperparameters: values are turned into strings.
        entry_point / source_dir: script mode (the script, and the directory packed with it).
        environment: ``Environment``.
        max_run: ``MaxRuntimeInSeconds``.
        checkpoint_s3_uri / checkpoint_local_path: ``CheckpointConfig``.
        metric_definitions: ``MetricDefinitions`` (``[{"Name":…, "Regex":…}]``).
        base_job_name: prefix of generated job names.
        sagemaker_client / s3_client / logs_client: boto3 clients (local edge by default).
        out: where live status and log lines are printed.
    """

    image_uri: str
    output_path: str
    role: str = DEFAULT_ROLE
    instance_type: str = "ml.m5.large"
    instance_count: int = 1
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    entry_point: str | None = None
    source_dir: str | None = None
    environment: dict[str, str] = field(default_factory=dict)
    max_run: int = 86400
    checkpoint_s3_uri: str | None = None
    checkpoint_local_path: str | None = None
    metric_definitions: list[dict[str, str]] = field(default_factory=list)
    base_job_name: str = "mlharbor"
    sagemaker_client: Any = None
    s3_client: Any = None
    logs_client: Any = None
    out: TextIO = sys.stdout
    latest_job_name: str | None = None

    def __post_init__(self) -> None:
        if not self.output_path.startswith("s3://"):
            raise ValueError(f"Estimator output_path must be an s3:// URI, got {self.output_path!r}")
        if self.entry_point is None and self.source_dir is not None:
            raise ValueError("Estimator source_dir needs an entry_point")
        self.sagemaker_client = self.sagemaker_client or local_client("sagemaker")
        self.s3_client = self.s3_client or local_client("s3")
        self.logs_client = self.logs_client or local_client("logs")

    def fit(self, inputs: dict[str, str] | str | None = None, wait: bool = True, logs: bool = True,
            job_name: str | None = None) -> str:
        """Start a training job on ``inputs`` (channel → S3 URI, or one URI for ``training``).

        Returns:
            The job name. With ``wait`` it returns once the job ended (and raises if it failed).
        """
        name = job_name or unique_job_name(self.base_job_name)
        self.sagemaker_client.create_training_job(**self.training_job_request(name, inputs))
        self.latest_job_name = name
        if wait:
            self.wait(logs=logs)
        return name

    def training_job_request(self, name: str, inputs: dict[str, str] | str | None) -> dict[str, Any]:
        """The CreateTrainingJob request ``fit`` sends (packing and uploading script code)."""
        hyperparameters = {key: str(value) for key, value in self.hyperparameters.items()}
        if self.entry_point is not None:
            hyperparameters[HP_PROGRAM] = Path(self.entry_point).name
            hyperparameters[HP_SUBMIT_DIRECTORY] = self._upload_source(name, Path(self.entry_point))
        channels = {"training": inputs} if isinstance(inputs, str) else dict(inputs or {})
        algorithm: dict[str, Any] = {"TrainingImage": self.image_uri, "TrainingInputMode": "File"}
        if self.metric_definitions:
            algorithm["MetricDefinitions"] = self.metric_definitions
        request: dict[str, Any] = {
            "TrainingJobName": name,
            "AlgorithmSpecification": algorithm,
            "RoleArn": self.role,
            "HyperParameters": hyperparameters,
            "OutputDataConfig": {"S3OutputPath": self.output_path},
            "ResourceConfig": {
                "InstanceType": self.instance_type,
                "InstanceCount": self.instance_count,
                "VolumeSizeInGB": 30,
            },
            "StoppingCondition": {"MaxRuntimeInSeconds": self.max_run},
            "Environment": dict(self.environment),
        }
        if channels:
            request["InputDataConfig"] = [
                {
                    "ChannelName": channel,
                    "DataSource": {
                        "S3DataSource": {
                            "S3DataType": "S3Prefix",
                            "S3Uri": uri,
                            "S3DataDistributionType": "FullyReplicated",
                        }
                    },
                }
                for channel, uri in channels.items()
            ]
        if self.checkpoint_s3_uri:
            checkpoint = {"S3Uri": self.checkpoint_s3_uri}
            if self.checkpoint_local_path:
                checkpoint["LocalPath"] = self.checkpoint_local_path
            request["CheckpointConfig"] = checkpoint
        return request

    def wait(self, logs: bool = True, poll_seconds: float = 1.0) -> dict[str, Any]:
        """Block until the latest job ends, printing status transitions (and log lines).

        Raises:
            RuntimeError: the job ended Failed (with its ``FailureReason``).
        """
        name = self._require_job()
        tail = LogTail(self.logs_client, name) if logs else None
        shown = 0
        while True:
            description = self.describe()
            transitions = description.get("SecondaryStatusTransitions", [])
            for transition in transitions[shown:]:
                self._print(f"[{name}] {transition['Status']}: {transition['StatusMessage']}")
            shown = len(transitions)
            if tail is not None:
                for _, line in tail.read_new():
                    self._print(line)
            if description["TrainingJobStatus"] in TERMINAL:
                break
            time.sleep(poll_seconds)
        if description["TrainingJobStatus"] == "Failed":
            raise RuntimeError(f"Training job {name} failed: {description.get('FailureReason')}")
        return description

    def describe(self) -> dict[str, Any]:
        return self.sagemaker_client.describe_training_job(TrainingJobName=self._require_job())

    @property
    def model_data(self) -> str | None:
        """S3 URI of the latest job's ``model.tar.gz`` (once uploaded)."""
        return self.describe().get("ModelArtifacts", {}).get("S3ModelArtifacts")

    def _upload_source(self, job_name: str, script: Path) -> str:
        root = Path(self.source_dir) if self.source_dir else script.parent
        if not (root / script.name).is_file() and not script.is_file():
            raise FileNotFoundError(f"entry_point {script} not found")
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
            if self.source_dir:
                for path in sorted(root.rglob("*")):
                    if path.is_file() and "__pycache__" not in path.parts:
                        archive.add(path, arcname=str(path.relative_to(root)))
            if not (root / script.name).is_file() or not self.source_dir:
                archive.add(script, arcname=script.name)
        parsed = urlparse(self.output_path)
        key = "/".join(part for part in (parsed.path.strip("/"), job_name, "source", "sourcedir.tar.gz") if part)
        self.s3_client.put_object(Bucket=parsed.netloc, Key=key, Body=buffer.getvalue())
        return f"s3://{parsed.netloc}/{key}"

    def _require_job(self) -> str:
        if self.latest_job_name is None:
            raise RuntimeError("No training job yet: call fit() first")
        return self.latest_job_name

    def _print(self, line: str) -> None:
        print(line, file=self.out, flush=True)

