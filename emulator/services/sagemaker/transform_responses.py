"""SageMaker's transform-job operations on the wire.

A mixin of :class:`emulator.services.sagemaker.responses.SageMakerResponses`: one method per operation,
named after it in snake_case, shaping the output as the API reference does:
https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DescribeTransformJob.html
"""

from __future__ import annotations

from typing import Any

from emulator.core.errors import NotImplementedOperationError
from emulator.core.paging import list_query, page
from emulator.services.sagemaker.transform import TransformJobBackend
from emulator.services.sagemaker.transform_records import TransformJob

#: Request members echoed unchanged by DescribeTransformJob.
_ECHOED = ("ModelName", "MaxConcurrentTransforms", "ModelClientConfig", "MaxPayloadInMB", "BatchStrategy",
           "Environment", "TransformInput", "TransformOutput", "DataCaptureConfig", "TransformResources",
           "DataProcessing", "ExperimentConfig")


class TransformResponses:
    """The transform family's handlers; ``transforms`` is set by the subclass."""

    transforms: TransformJobBackend | None = None

    def _transform_backend(self) -> TransformJobBackend:
        if self.transforms is None:
            raise NotImplementedOperationError("batch transform is not enabled on this server")
        return self.transforms

    def create_transform_job(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        job = self._transform_backend().create_transform_job(region, params)
        self._tag(job.arn, params)  # type: ignore[attr-defined]  # the endpoint family's, beside this mixin
        return {"TransformJobArn": job.arn}

    def describe_transform_job(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        return describe_transform_job_output(
            self._transform_backend().describe_transform_job(region, params["TransformJobName"]))

    def list_transform_jobs(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        jobs, token = self._transform_backend().list_transform_jobs(region, list_query(params))
        return page("TransformJobSummaries", [transform_job_summary(job) for job in jobs], token)

    def stop_transform_job(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        self._transform_backend().stop_transform_job(region, params["TransformJobName"])
        return {}


def transform_job_summary(job: TransformJob) -> dict[str, Any]:
    out: dict[str, Any] = {
        "TransformJobName": job.name,
        "TransformJobArn": job.arn,
        "CreationTime": job.creation_time,
        "LastModifiedTime": job.last_modified_time,
        "TransformJobStatus": job.status,
    }
    if job.transform_end_time is not None:
        out["TransformEndTime"] = job.transform_end_time
    if job.failure_reason:
        out["FailureReason"] = job.failure_reason
    return out


def describe_transform_job_output(job: TransformJob) -> dict[str, Any]:
    out = transform_job_summary(job)
    del out["LastModifiedTime"]  # not a DescribeTransformJob member
    out.update({member: job.request[member] for member in _ECHOED if member in job.request})
    if job.transform_start_time is not None:
        out["TransformStartTime"] = job.transform_start_time
    return out
