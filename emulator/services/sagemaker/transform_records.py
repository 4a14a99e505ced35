"""The transform job's record: the request as sent, beside the state the emulator adds."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from emulator.services.sagemaker.records import IN_PROGRESS, JobRecord

KIND = "transform-job"


@dataclass
class TransformJob(JobRecord):
    """A transform job's record (``TransformJobStatus`` has no secondary status).

    Args:
        name / arn / region: identity.
        request: the validated CreateTransformJob body, unchanged.
        status: ``TransformJobStatus``.
        creation_time / last_modified_time: epoch seconds.
        transform_start_time / transform_end_time: when the model container started / the job ended.
        failure_reason: ``FailureReason`` (at most 1024 characters); names the object and the record.
        started: whether a worker took the job (a restart runs a started job again from the start).
        log_epoch: when its instance started (names its log stream).
        objects_done: input objects whose ``.out`` is written (progress; not a wire member).
        records_done: records answered by the model so far.
    """

    name: str
    arn: str
    region: str
    request: dict[str, Any]
    status: str = IN_PROGRESS
    creation_time: float = field(default_factory=time.time)
    last_modified_time: float = field(default_factory=time.time)
    transform_start_time: float | None = None
    transform_end_time: float | None = None
    failure_reason: str | None = None
    started: bool = False
    log_epoch: float | None = None
    objects_done: int = 0
    records_done: int = 0

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TransformJob:
        return cls(**data)
