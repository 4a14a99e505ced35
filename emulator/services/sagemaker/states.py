"""The training-job state machine, as pure functions over a :class:`TrainingJob`.

``TrainingJobStatus``: InProgress → Completed | Failed | Stopping → Stopped.
``SecondaryStatus`` moves Starting → Downloading → Training → Uploading → a terminal
one, each move recorded in ``SecondaryStatusTransitions`` with its time and message
(https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_SecondaryStatusTransition.html).
Nothing here does IO; the caller persists the record after each call.
"""

from __future__ import annotations

from emulator.services.sagemaker.records import (
    COMPLETED,
    FAILED,
    IN_PROGRESS,
    STOPPED,
    STOPPING,
    StatusTransition,
    TrainingJob,
)

FAILURE_REASON_LIMIT = 1024

#: Terminal SecondaryStatus → (TrainingJobStatus, StatusMessage).
_TERMINAL = {
    "Completed": (COMPLETED, "Training job completed"),
    "Failed": (FAILED, "Training job failed"),
    "Stopped": (STOPPED, "Training job stopped"),
    "MaxRuntimeExceeded": (STOPPED, "Training job stopped because it exceeded MaxRuntimeInSeconds"),
    "MaxWaitTimeExceeded": (STOPPED, "Training job stopped because it exceeded MaxWaitTimeInSeconds"),
}


class IllegalTransition(ValueError):
    """A move the state machine does not allow (a bug in the caller, not user input)."""


def enter(job: TrainingJob, secondary: str, message: str, now: float) -> None:
    """Move to a non-terminal ``SecondaryStatus`` and record the transition.

    Raises:
        IllegalTransition: the job already ended.
    """
    if job.is_terminal:
        raise IllegalTransition(f"{job.name} is {job.status}; cannot enter {secondary}")
    _record(job, secondary, message, now)
    if secondary == "Training" and job.training_start_time is None:
        job.training_start_time = now


def note(job: TrainingJob, message: str, now: float) -> None:
    """Update the current transition's ``StatusMessage`` without changing status (AWS does this)."""
    if job.transitions:
        job.transitions[-1].status_message = message
    job.last_modified_time = now


def begin_stop(job: TrainingJob, now: float) -> None:
    """StopTrainingJob on a running job: ``Stopping`` until the runner reports back."""
    if job.status != IN_PROGRESS:
        raise IllegalTransition(f"{job.name} is {job.status}; cannot stop")
    job.status = STOPPING
    _record(job, "Stopping", "Stopping the training job", now)


def finish(job: TrainingJob, secondary: str, now: float, failure_reason: str | None = None) -> None:
    """End the job with a terminal ``SecondaryStatus`` (Completed, Failed, Stopped, Max…Exceeded).

    A job that was Stopping ends Stopped whatever the runner saw, as on AWS.
    """
    if job.is_terminal:
        raise IllegalTransition(f"{job.name} already ended as {job.status}")
    if secondary not in _TERMINAL:
        raise IllegalTransition(f"{secondary} is not a terminal secondary status")
    if job.status == STOPPING and secondary in ("Completed", "Failed"):
        secondary, failure_reason = "Stopped", None
    status, message = _TERMINAL[secondary]
    if failure_reason:
        job.failure_reason = failure_reason[:FAILURE_REASON_LIMIT]
        message = f"{message}. Reason: {job.failure_reason}"[:FAILURE_REASON_LIMIT]
    _record(job, secondary, message, now)
    job.transitions[-1].end_time = now
    job.status = status
    if job.training_start_time is not None:
        job.training_end_time = now


def _record(job: TrainingJob, secondary: str, message: str, now: float) -> None:
    if job.transitions and job.transitions[-1].end_time is None:
        job.transitions[-1].end_time = now
    job.transitions.append(StatusTransition(status=secondary, start_time=now, status_message=message))
    job.secondary_status = secondary
    job.last_modified_time = now
