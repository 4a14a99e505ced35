"""What the control plane hands a runner, and what a runner reports back.

A runner launches one job's container (a local process, or a Docker container) following
the container contract in :mod:`containers.contract`. It knows nothing of HTTP or of job
records: it gets a :class:`RunRequest`, reports progress through :class:`JobEvents`, watches
a stop flag, and returns a :class:`RunOutcome`. The control plane turns the outcome into
``TrainingJobStatus`` / ``SecondaryStatus``.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from emulator.runners.serving import ServingHandle, ServingRequest

Outcome = Literal["Completed", "Failed", "Stopped", "MaxRuntimeExceeded", "MaxWaitTimeExceeded", "Interrupted"]


class FailureKind(enum.Enum):
    """Whose a failure is: what the control plane decides on (only ``INTERNAL`` is retried), not the text."""

    #: the request or its data: a refused channel, an input that cannot be downloaded, no such image
    CLIENT = "client"
    #: the job's own code: it exited non-zero or wrote ``/opt/ml/output/failure``
    ALGORITHM = "algorithm"
    #: ours: a runner crashed, or the control plane stopped under the job
    INTERNAL = "internal"


@dataclass(frozen=True)
class S3Source:
    """Where a channel's objects are: ``S3DataSource`` parsed.

    Args:
        uri: ``S3Uri``, a prefix or a manifest file.
        data_type: ``S3DataType``: ``S3Prefix`` or ``ManifestFile``.
        distribution: ``S3DataDistributionType``: ``FullyReplicated`` or ``ShardedByS3Key``.
    """

    uri: str
    data_type: str = "S3Prefix"
    distribution: str = "FullyReplicated"


@dataclass(frozen=True)
class Channel:
    """One ``InputDataConfig`` entry, parsed: what is downloaded to ``input/data/<name>/`` and how.

    Args:
        name: ``ChannelName``.
        source: its ``S3DataSource``; ``None`` for a data source mlharbor does not serve (the job fails
            with a ``ClientError`` when it would be downloaded).
        input_mode: ``InputMode`` (``File``).
        content_type: ``ContentType``, when the request gave one.
        record_wrapper_type: ``RecordWrapperType``.
    """

    name: str
    source: S3Source | None
    input_mode: str = "File"
    content_type: str | None = None
    record_wrapper_type: str = "None"

    @classmethod
    def from_request(cls, entry: Mapping[str, Any]) -> Channel:
        s3 = (entry.get("DataSource") or {}).get("S3DataSource")
        source = None if s3 is None else S3Source(
            s3["S3Uri"], s3.get("S3DataType", "S3Prefix"), s3.get("S3DataDistributionType", "FullyReplicated"))
        return cls(entry["ChannelName"], source, entry.get("InputMode", "File"), entry.get("ContentType"),
                   entry.get("RecordWrapperType", "None"))


def parse_channels(input_data_config: Iterable[Mapping[str, Any]] | None) -> tuple[Channel, ...]:
    """A request's ``InputDataConfig`` as :class:`Channel` records, in order."""
    return tuple(Channel.from_request(entry) for entry in input_data_config or ())


@dataclass(frozen=True)
class CheckpointSpec:
    """``CheckpointConfig`` parsed.

    Args:
        s3_uri: ``S3Uri``: where checkpoints are mirrored, and which lineage a job resumes.
        local_path: ``LocalPath``: where the job writes them (``/opt/ml/checkpoints`` when ``None``).
    """

    s3_uri: str | None = None
    local_path: str | None = None

    @classmethod
    def from_request(cls, config: Mapping[str, Any] | None) -> CheckpointSpec | None:
        if config is None:
            return None
        return cls(config.get("S3Uri") or None, config.get("LocalPath") or None)


@dataclass(frozen=True)
class RunRequest:
    """Everything a runner needs to run one training job; plain data, no HTTP.

    Args:
        job_name: ``TrainingJobName``.
        job_arn: ``TrainingJobArn``.
        image: ``AlgorithmSpecification.TrainingImage`` (e.g. ``mlharbor/pytorch:latest``).
        hyperparameters: string → string, as sent in the request.
        channels: the request's ``InputDataConfig``, parsed.
        output_s3_path: ``OutputDataConfig.S3OutputPath``.
        environment: the request's ``Environment``.
        instance_type: ``ResourceConfig.InstanceType``.
        instance_count: ``ResourceConfig.InstanceCount``.
        max_runtime_seconds: ``StoppingCondition.MaxRuntimeInSeconds``.
        workdir: this job's private directory under the data dir; the runner owns it.
        s3_endpoint_url: where the embedded S3 answers (the edge endpoint).
        region: region name for the S3 client; with ``account_id``, whose artifacts the job's are.
        account_id: the job's AWS account.
        graph_endpoint_url: the graph server's Gremlin websocket URL, given to the job as
            ``MLHARBOR_GRAPH_ENDPOINT`` unless its ``Environment`` sets one.
        checkpoint: the request's ``CheckpointConfig`` parsed, or ``None``.
        entrypoint: ``AlgorithmSpecification.ContainerEntrypoint`` or ``None``.
        arguments: ``AlgorithmSpecification.ContainerArguments`` or ``None``.
        max_wait_seconds: managed spot: wall-clock seconds this attempt may still take before
            ``MaxWaitTimeInSeconds`` is exceeded; ``None`` otherwise.
    """

    job_name: str
    job_arn: str
    image: str
    hyperparameters: dict[str, str]
    channels: tuple[Channel, ...]
    output_s3_path: str
    environment: dict[str, str]
    instance_type: str
    instance_count: int
    max_runtime_seconds: int
    workdir: Path
    s3_endpoint_url: str
    region: str = "us-east-1"
    account_id: str = "123456789012"
    graph_endpoint_url: str | None = None
    checkpoint: CheckpointSpec | None = None
    entrypoint: list[str] | None = None
    arguments: list[str] | None = None
    max_wait_seconds: float | None = None

    @property
    def checkpoint_local_path(self) -> str | None:
        """``CheckpointConfig.LocalPath``, when the request named one."""
        return self.checkpoint.local_path if self.checkpoint else None

    @property
    def checkpoint_lineage(self) -> str:
        """Which checkpoints a job resumes from: its ``CheckpointConfig.S3Uri``, else its own name."""
        uri = self.checkpoint.s3_uri if self.checkpoint else None
        return uri.rstrip("/") if uri else self.job_name


@dataclass(frozen=True)
class RunOutcome:
    """How a run ended.

    Args:
        outcome: ``Completed``, ``Failed``, ``Stopped``, ``MaxRuntimeExceeded``,
            ``MaxWaitTimeExceeded``, or ``Interrupted`` (a spot interruption: the job goes on later).
        failure_reason: for ``Failed``: the failure file's first 1024 characters, or what
            the runner saw (exit code, download error…).
        model_artifacts: S3 URI of ``model.tar.gz`` when one was uploaded.
        exit_code: the container's exit code, when it ran.
        failure_kind: for ``Failed``: whose failure it is (see :class:`FailureKind`).
    """

    outcome: Outcome
    failure_reason: str | None = None
    model_artifacts: str | None = None
    exit_code: int | None = None
    failure_kind: FailureKind | None = None


class JobEvents(Protocol):
    """The control plane's side of a running job: progress goes here."""

    def secondary_status(self, status: str, message: str) -> None:
        """Record a ``SecondaryStatusTransitions`` entry (Downloading, Training, Uploading…)."""

    def log(self, line: str, host: str = "algo-1") -> None:
        """One line the job wrote to stdout or stderr (without the newline)."""


@dataclass
class StopSignal:
    """Set by the control plane when StopTrainingJob (or a spot interruption) arrives.

    ``reason`` is ``"stop"`` or ``"interrupt"``; the runner ends the container the same way
    (SIGTERM, grace, SIGKILL, final checkpoint copy) and reports which it was.
    """

    event: threading.Event = field(default_factory=threading.Event)
    grace_seconds: float = 120.0
    reason: str = "stop"

    def request(self, reason: str = "stop") -> None:
        if not self.event.is_set():
            self.reason = reason
        self.event.set()

    @property
    def requested(self) -> bool:
        return self.event.is_set()


class Runner(Protocol):
    """Launches one job and blocks until it ends (called on a worker thread)."""

    def run(self, request: RunRequest, events: JobEvents, stop: StopSignal) -> RunOutcome: ...

    def run_processing(
        self, request: ProcessingRunRequest, events: JobEvents, stop: StopSignal
    ) -> ProcessingOutcome: ...

    def reap(self, workdir: Path) -> None:
        """Kill anything a previous control plane left running for this job's workdir."""

    def serve(self, request: ServingRequest, log: Callable[[str], None]) -> ServingHandle:
        """Bring up one endpoint variant (model fetched, ``serve`` started, ``/ping`` 200) and return it;
        raises :class:`~emulator.runners.serving.ServingError` with the ``FailureReason``."""

    def close(self) -> None:
        """The control plane is going away: end what this runner still runs that would outlive it."""


@dataclass(frozen=True)
class ProcessingRunRequest:
    """Everything a runner needs to run one processing job; plain data, no HTTP.

    Args:
        job_name / job_arn: ``ProcessingJobName`` / ``ProcessingJobArn``.
        image: ``AppSpecification.ImageUri``.
        entrypoint / arguments: ``AppSpecification.ContainerEntrypoint`` / ``ContainerArguments``.
        environment: the request's ``Environment``.
        inputs: ``ProcessingInputs`` (each with ``S3Input.LocalPath`` under ``/opt/ml/processing``).
        outputs: ``ProcessingOutputConfig.Outputs``.
        instance_type / instance_count: ``ProcessingResources.ClusterConfig``.
        max_runtime_seconds: ``StoppingCondition.MaxRuntimeInSeconds``.
        workdir: this job's private directory under the data dir.
        s3_endpoint_url / region: where the embedded S3 answers.
        job_config: the content of ``/opt/ml/config/processingjobconfig.json``.
        graph_endpoint_url: as in :class:`RunRequest`.
    """

    job_name: str
    job_arn: str
    image: str
    entrypoint: list[str] | None
    arguments: list[str] | None
    environment: dict[str, str]
    inputs: list[dict[str, Any]]
    outputs: list[dict[str, Any]]
    instance_type: str
    instance_count: int
    max_runtime_seconds: int
    workdir: Path
    s3_endpoint_url: str
    region: str
    job_config: dict[str, Any]
    graph_endpoint_url: str | None = None


@dataclass(frozen=True)
class ProcessingOutcome:
    """How a processing run ended: ``Completed``, ``Failed`` or ``Stopped``, with its messages."""

    outcome: Literal["Completed", "Failed", "Stopped"]
    failure_reason: str | None = None
    exit_message: str | None = None
