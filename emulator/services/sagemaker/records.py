"""Job records: what the control plane knows about a training job, as plain data.

A record keeps the validated request unchanged (so Describe echoes exactly what was
sent) beside the state the emulator adds: statuses, transitions, times, outcome.
Times are epoch seconds (floats), the awsJson wire form.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any, Self

# TrainingJobStatus values (botocore enum TrainingJobStatus).
IN_PROGRESS = "InProgress"
COMPLETED = "Completed"
FAILED = "Failed"
STOPPING = "Stopping"
STOPPED = "Stopped"
TERMINAL_STATUSES = frozenset({COMPLETED, FAILED, STOPPED})


@dataclass
class StatusTransition:
    """One ``SecondaryStatusTransitions`` entry."""

    status: str
    start_time: float
    status_message: str
    end_time: float | None = None

    def to_wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "Status": self.status,
            "StartTime": self.start_time,
            "StatusMessage": self.status_message,
        }
        if self.end_time is not None:
            out["EndTime"] = self.end_time
        return out


class JobRecord:
    """What every job record shares: its end is its status, its stored form is its fields."""

    status: str

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)  # type: ignore[call-overload]


@dataclass
class TrainingJob(JobRecord):
    """A training job's record.

    Args:
        name: ``TrainingJobName``.
        arn: ``TrainingJobArn``.
        region: region the job was created in.
        request: the validated CreateTrainingJob body, unchanged.
        status: ``TrainingJobStatus``.
        secondary_status: ``SecondaryStatus``.
        transitions: ``SecondaryStatusTransitions``, oldest first.
        creation_time / last_modified_time: epoch seconds.
        training_start_time / training_end_time: set when the container starts / the job ends.
        failure_reason: ``FailureReason`` (at most 1024 characters).
        model_artifacts: ``ModelArtifacts.S3ModelArtifacts``.
        final_metrics: ``FinalMetricDataList``.
        started: whether a runner ever took the job (a queued job has not).
        instance_start_time: when the running attempt started (``None`` between attempts).
        log_epoch: when the current attempt's instance started (names its log streams).
        billable_seconds: seconds instances actually ran, summed over attempts (spot and retries).
        attempts: how many times a runner started it.
        internal_errors: how many of those attempts ended in an internal error (bounds their retries).
    """

    name: str
    arn: str
    region: str
    request: dict[str, Any]
    status: str = IN_PROGRESS
    secondary_status: str = "Starting"
    transitions: list[StatusTransition] = field(default_factory=list)
    creation_time: float = field(default_factory=time.time)
    last_modified_time: float = field(default_factory=time.time)
    training_start_time: float | None = None
    training_end_time: float | None = None
    failure_reason: str | None = None
    model_artifacts: str | None = None
    final_metrics: list[dict[str, Any]] = field(default_factory=list)
    started: bool = False
    attempts: int = 0
    instance_start_time: float | None = None
    billable_seconds: float = 0.0
    log_epoch: float | None = None
    internal_errors: int = 0

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainingJob:
        data = dict(data)
        data["transitions"] = [StatusTransition(**t) for t in data.get("transitions", [])]
        return cls(**data)


@dataclass
class ProcessingJob(JobRecord):
    """A processing job's record (``ProcessingJobStatus`` has no secondary status).

    Args:
        name / arn / region: identity.
        request: the validated CreateProcessingJob body, unchanged.
        status: ``ProcessingJobStatus``.
        creation_time / last_modified_time: epoch seconds.
        processing_start_time / processing_end_time: when the container started / the job ended.
        failure_reason / exit_message: ``FailureReason`` / ``ExitMessage``.
        started: whether a runner took the job.
        log_epoch: when its instance started (names its log streams).
    """

    name: str
    arn: str
    region: str
    request: dict[str, Any]
    status: str = IN_PROGRESS
    creation_time: float = field(default_factory=time.time)
    last_modified_time: float = field(default_factory=time.time)
    processing_start_time: float | None = None
    processing_end_time: float | None = None
    failure_reason: str | None = None
    exit_message: str | None = None
    started: bool = False
    log_epoch: float | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ProcessingJob:
        return cls(**data)


# -- models, endpoint configs, endpoints --------------------------------------------------
# EndpointStatus values (botocore enum EndpointStatus).
CREATING = "Creating"
IN_SERVICE = "InService"
UPDATING = "Updating"
DELETING = "Deleting"
ENDPOINT_FAILED = "Failed"


@dataclass
class RequestRecord:
    """A resource that is its Create request as sent, with its ARN and creation time (no status on AWS)."""

    name: str
    arn: str
    region: str
    request: dict[str, Any]
    creation_time: float = field(default_factory=time.time)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        return cls(**data)

    @property
    def status(self) -> str:
        """No status on AWS; listing code treats every record alike."""
        return ""

    @property
    def last_modified_time(self) -> float:
        return self.creation_time


class ModelRecord(RequestRecord):
    """A CreateModel request."""


class EndpointConfigRecord(RequestRecord):
    """A CreateEndpointConfig request."""


@dataclass
class EndpointRecord:
    """An endpoint's record; its serving processes live only in memory (restarted after a restart).

    Args:
        name / arn / region: identity.
        config_name: ``EndpointConfigName`` currently served.
        status: ``EndpointStatus``.
        creation_time / last_modified_time: epoch seconds.
        failure_reason: ``FailureReason`` of a failed create or update.
        pending_config_name: the config an UpdateEndpoint is bringing up.
        variants: ``ProductionVariants`` of DescribeEndpoint (name, weights, instance counts).
        tags: the request's ``Tags``.
    """

    name: str
    arn: str
    region: str
    config_name: str
    status: str = CREATING
    creation_time: float = field(default_factory=time.time)
    last_modified_time: float = field(default_factory=time.time)
    failure_reason: str | None = None
    pending_config_name: str | None = None
    variants: list[dict[str, Any]] = field(default_factory=list)
    tags: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EndpointRecord:
        return cls(**data)
