"""SageMaker operations on the wire: read the request members, call the backend, shape the output.

One method per operation, named after it in snake_case (see
:class:`emulator.core.awsjson.JsonDispatcher`); operations without a method answer
``NotImplementedException``. Requests arrive already validated against botocore's model.
Output shapes follow the SageMaker API reference, e.g.
https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DescribeTrainingJob.html
"""

from __future__ import annotations

import copy
from typing import Any

from emulator.core.paging import list_query, page
from emulator.services.sagemaker.caller import USER, Caller
from emulator.services.sagemaker.endpoint_responses import EndpointResponses
from emulator.services.sagemaker.endpoints import EndpointBackend
from emulator.services.sagemaker.processing import ProcessingJobBackend
from emulator.services.sagemaker.records import ProcessingJob, TrainingJob
from emulator.services.sagemaker.tags import TagBackend
from emulator.services.sagemaker.training import DEFAULT_MAX_RUNTIME, TrainingJobBackend
from emulator.services.sagemaker.tuning import TuningJobBackend
from emulator.services.sagemaker.tuning_responses import TuningResponses

#: Request members echoed unchanged by DescribeTrainingJob.
_ECHOED_MEMBERS = (
    "HyperParameters",
    "AlgorithmSpecification",
    "RoleArn",
    "InputDataConfig",
    "OutputDataConfig",
    "ResourceConfig",
    "VpcConfig",
    "CheckpointConfig",
    "DebugHookConfig",
    "ExperimentConfig",
    "DebugRuleConfigurations",
    "TensorBoardOutputConfig",
    "ProfilerConfig",
    "Environment",
    "RetryStrategy",
)
_FLAGS = ("EnableNetworkIsolation", "EnableInterContainerTrafficEncryption", "EnableManagedSpotTraining")


class SageMakerResponses(TuningResponses, EndpointResponses):
    """The SageMaker operations mlharbor emulates (the endpoint family's in :class:`EndpointResponses`).

    Args:
        training: the training-job backend.
        processing: the processing-job backend.
        endpoints: the model / endpoint-config / endpoint backend.
        tags: tags by ARN.
        tuning: the hyperparameter tuning backend (its operations are :class:`TuningResponses`').
    """

    def __init__(self, training: TrainingJobBackend, processing: ProcessingJobBackend,
                 endpoints: EndpointBackend | None = None, tags: TagBackend | None = None,
                 tuning: TuningJobBackend | None = None) -> None:
        self.training = training
        self.processing = processing
        self.endpoints = endpoints
        self.tags = tags
        self.tuning = tuning
        self.caller = USER

    def for_caller(self, caller: Caller) -> SageMakerResponses:
        """The same handlers for requests from ``caller`` (what they create obeys its rules)."""
        scoped = copy.copy(self)
        scoped.caller = caller
        return scoped

    # -- training jobs ---------------------------------------------------------------
    def create_training_job(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        job = self.training.create_training_job(region, params, caller=self.caller)
        self._tag(job.arn, params)
        return {"TrainingJobArn": job.arn}

    def describe_training_job(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        out = describe_training_job_output(self.training.describe_training_job(region, params["TrainingJobName"]))
        tuning_arn = self.tuning.tuning_job_arn_of(region, out["TrainingJobName"]) if self.tuning else None
        if tuning_arn is not None:  # a trial of a hyperparameter tuning job
            out["TuningJobArn"] = tuning_arn
        return out

    def list_training_jobs(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        jobs, token = self.training.list_training_jobs(region, list_query(params))
        return page("TrainingJobSummaries", [training_job_summary(job) for job in jobs], token)

    def stop_training_job(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        self.training.stop_training_job(region, params["TrainingJobName"])
        return {}


    # -- processing jobs -------------------------------------------------------------
    def create_processing_job(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        job = self.processing.create_processing_job(region, params, caller=self.caller)
        self._tag(job.arn, params)
        return {"ProcessingJobArn": job.arn}

    def describe_processing_job(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        job = self.processing.describe_processing_job(region, params["ProcessingJobName"])
        return describe_processing_job_output(job)

    def list_processing_jobs(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        jobs, token = self.processing.list_processing_jobs(region, list_query(params))
        return page("ProcessingJobSummaries", [processing_job_summary(job) for job in jobs], token)

    def stop_processing_job(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        self.processing.stop_processing_job(region, params["ProcessingJobName"])
        return {}


def describe_training_job_output(job: TrainingJob) -> dict[str, Any]:
    request = job.request
    out: dict[str, Any] = {
        "TrainingJobName": job.name,
        "TrainingJobArn": job.arn,
        "TrainingJobStatus": job.status,
        "SecondaryStatus": job.secondary_status,
        "CreationTime": job.creation_time,
        "LastModifiedTime": job.last_modified_time,
        "SecondaryStatusTransitions": [t.to_wire() for t in job.transitions],
    }
    for member in _ECHOED_MEMBERS:
        if member in request:
            out[member] = request[member]
    for flag in _FLAGS:
        out[flag] = bool(request.get(flag, False))
    # AWS answers an empty KmsKeyId when none was given; the SDK's Estimator.attach (and so a tuner's
    # best_estimator) reads it unconditionally
    out["OutputDataConfig"] = {"KmsKeyId": "", **request["OutputDataConfig"]}
    # botocore marks both required: AWS names where the model goes before there is one,
    # and states the default runtime when the request gave none
    out["ModelArtifacts"] = {"S3ModelArtifacts": job.model_artifacts or model_artifacts_location(job)}
    out["StoppingCondition"] = {"MaxRuntimeInSeconds": DEFAULT_MAX_RUNTIME, **request.get("StoppingCondition", {})}
    if job.failure_reason:
        out["FailureReason"] = job.failure_reason
    if job.training_start_time is not None:
        out["TrainingStartTime"] = job.training_start_time
    if job.training_end_time is not None:
        out["TrainingEndTime"] = job.training_end_time
        seconds = max(1, round(job.training_end_time - job.training_start_time))  # type: ignore[operator]
        out["TrainingTimeInSeconds"] = seconds
        # what instances really ran; with spot, interruptions (and their waits) are not billed
        billable = max(1, round(job.billable_seconds)) if job.billable_seconds else seconds
        out["BillableTimeInSeconds"] = min(seconds, billable)
    if job.final_metrics:
        out["FinalMetricDataList"] = job.final_metrics
    return out


def model_artifacts_location(job: TrainingJob) -> str:
    """Where the job's ``model.tar.gz`` goes: ``<S3OutputPath>/<job>/output/model.tar.gz``."""
    return f"{job.request['OutputDataConfig']['S3OutputPath'].rstrip('/')}/{job.name}/output/model.tar.gz"


def training_job_summary(job: TrainingJob) -> dict[str, Any]:
    out: dict[str, Any] = {
        "TrainingJobName": job.name,
        "TrainingJobArn": job.arn,
        "CreationTime": job.creation_time,
        "LastModifiedTime": job.last_modified_time,
        "TrainingJobStatus": job.status,
        "SecondaryStatus": job.secondary_status,
    }
    if job.training_end_time is not None:
        out["TrainingEndTime"] = job.training_end_time
    return out


_PROCESSING_ECHOED = (
    "ProcessingInputs",
    "ProcessingOutputConfig",
    "ProcessingResources",
    "StoppingCondition",
    "AppSpecification",
    "Environment",
    "NetworkConfig",
    "RoleArn",
    "ExperimentConfig",
)


def _processing_state(job: ProcessingJob) -> dict[str, Any]:
    out: dict[str, Any] = {
        "ProcessingJobName": job.name,
        "ProcessingJobArn": job.arn,
        "ProcessingJobStatus": job.status,
        "CreationTime": job.creation_time,
        "LastModifiedTime": job.last_modified_time,
    }
    for member, value in (("ProcessingEndTime", job.processing_end_time), ("FailureReason", job.failure_reason),
                          ("ExitMessage", job.exit_message)):
        if value is not None:
            out[member] = value
    return out


def describe_processing_job_output(job: ProcessingJob) -> dict[str, Any]:
    out = _processing_state(job)
    out.update({member: job.request[member] for member in _PROCESSING_ECHOED if member in job.request})
    if job.processing_start_time is not None:
        out["ProcessingStartTime"] = job.processing_start_time
    return out


def processing_job_summary(job: ProcessingJob) -> dict[str, Any]:
    return _processing_state(job)
