"""Hyperparameter tuning job records: the tuning job and each of its trials, as plain data.

A tuning job keeps its validated request unchanged (Describe echoes it) beside what the tuner
adds: its status, its trials (each a real training job, named here), and why it ended.
Times are epoch seconds, the awsJson wire form.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

# HyperParameterTuningJobStatus values (botocore enum HyperParameterTuningJobStatus).
TUNING_IN_PROGRESS = "InProgress"
TUNING_COMPLETED = "Completed"
TUNING_FAILED = "Failed"
TUNING_STOPPING = "Stopping"
TUNING_STOPPED = "Stopped"
TUNING_TERMINAL = frozenset({TUNING_COMPLETED, TUNING_FAILED, TUNING_STOPPED})

# ObjectiveStatus values.
OBJECTIVE_PENDING = "Pending"
OBJECTIVE_SUCCEEDED = "Succeeded"
OBJECTIVE_FAILED = "Failed"


@dataclass
class Trial:
    """One training job a tuning job launched.

    Args:
        number: 1-based launch order (the ``NNN`` of the training job's name).
        training_job_name: the training job's name.
        definition_name: the ``DefinitionName`` of the training definition it ran (``None`` for the single
            ``TrainingJobDefinition``).
        tuned: ``TunedHyperParameters``: the values the strategy chose, as the strings the job got.
        status: the training job's ``TrainingJobStatus`` as last seen.
        objective: the final objective metric value, once known.
        objective_status: ``ObjectiveStatus``.
        history: the objective values the job reported, in order (one per epoch or step): early stopping
            and Hyperband judge on these.
        early_stopped: stopped by the tuner's early stopping (its last value still counts).
        judged_rung: the highest Hyperband rung this trial was judged at (each rung judges a trial once).
    """

    number: int
    training_job_name: str
    definition_name: str | None
    tuned: dict[str, str]
    status: str = "InProgress"
    objective: float | None = None
    objective_status: str = OBJECTIVE_PENDING
    history: list[float] = field(default_factory=list)
    early_stopped: bool = False
    judged_rung: int = 0

    @property
    def finished(self) -> bool:
        return self.status in ("Completed", "Failed", "Stopped")


@dataclass
class TuningJob:
    """A hyperparameter tuning job's record.

    Args:
        name / arn / region: identity.
        request: the validated CreateHyperParameterTuningJob body, unchanged.
        status: ``HyperParameterTuningJobStatus``.
        creation_time / last_modified_time / end_time: epoch seconds.
        trials: every training job launched, in launch order.
        failure_reason: ``FailureReason``.
        completion_reason: why the tuner stopped launching (kept for the log and the tests).
        not_improving: ``TuningJobCompletionDetails.NumberOfTrainingJobsObjectiveNotImproving``.
        runtime_seconds: ``ConsumedResources.RuntimeInSeconds`` before the running stretch (restarts).
        started_at: when the current running stretch began.
    """

    name: str
    arn: str
    region: str
    request: dict[str, Any]
    status: str = TUNING_IN_PROGRESS
    creation_time: float = field(default_factory=time.time)
    last_modified_time: float = field(default_factory=time.time)
    end_time: float | None = None
    trials: list[Trial] = field(default_factory=list)
    failure_reason: str | None = None
    completion_reason: str | None = None
    not_improving: int = 0
    runtime_seconds: float = 0.0
    started_at: float | None = None

    @property
    def is_terminal(self) -> bool:
        return self.status in TUNING_TERMINAL

    @property
    def config(self) -> dict[str, Any]:
        return self.request["HyperParameterTuningJobConfig"]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TuningJob:
        data = dict(data)
        data["trials"] = [Trial(**trial) for trial in data.get("trials", [])]
        return cls(**data)
