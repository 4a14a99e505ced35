"""Requests that would run away are refused at Create: an InstanceCount over the per-job quota
(ResourceLimitExceeded, as AWS's Service Quotas answer) and a spot job with a null MaxRuntimeInSeconds.

1,000,000 hosts once wrote 12 GB in 90 s (every host's ``resourceconfig.json`` lists every host); a
null MaxRuntimeInSeconds on a spot job was retried forever.
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from emulator.testing import ROLE, training_request, unique_name

QUOTA = 8  # max_instance_count's default


def quota_message(instance_type: str, usage: str, count: int) -> str:
    return (f"The account-level service limit '{instance_type} for {usage}' is {QUOTA} Instances, with current "
            f"utilization of 0 Instances and a request delta of {count} Instances. Please use AWS Service Quotas "
            "to request an increase for this quota.")


@pytest.mark.parametrize("count", [QUOTA + 1, 1_000_000])
def test_training_instance_count_over_the_quota_is_resource_limit_exceeded(sagemaker, bucket, count):
    request = training_request(bucket, ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": count,
                                                       "VolumeSizeInGB": 1})
    with pytest.raises(ClientError) as raised:
        sagemaker.create_training_job(**request)
    error = raised.value.response
    assert error["Error"]["Code"] == "ResourceLimitExceeded"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error["Error"]["Message"] == quota_message("ml.m5.large", "training job usage", count)
    with pytest.raises(ClientError, match="Requested resource not found"):
        sagemaker.describe_training_job(TrainingJobName=request["TrainingJobName"])


def test_processing_instance_count_over_the_quota_is_resource_limit_exceeded(sagemaker, bucket):
    name = unique_name("proc")
    with pytest.raises(ClientError) as raised:
        sagemaker.create_processing_job(
            ProcessingJobName=name, RoleArn=ROLE,
            AppSpecification={"ImageUri": "mlharbor/pytorch", "ContainerEntrypoint": ["true"]},
            ProcessingResources={"ClusterConfig": {"InstanceCount": QUOTA + 1, "InstanceType": "ml.m5.xlarge",
                                                   "VolumeSizeInGB": 1}},
        )
    assert raised.value.response["Error"]["Code"] == "ResourceLimitExceeded"
    assert raised.value.response["Error"]["Message"] == quota_message("ml.m5.xlarge", "processing job usage",
                                                                      QUOTA + 1)


def test_a_spot_job_with_a_null_max_runtime_is_refused_at_create(raw_sagemaker, bucket):
    request = training_request(bucket, EnableManagedSpotTraining=True,
                               StoppingCondition={"MaxRuntimeInSeconds": None, "MaxWaitTimeInSeconds": 600})
    with pytest.raises(ClientError) as raised:
        raw_sagemaker.create_training_job(**request)
    assert raised.value.response["Error"]["Code"] == "ValidationException"
    # null reads as absent, so the day-long default runtime is longer than the wait: refused, never retried
    assert "MaxRuntimeInSeconds" in raised.value.response["Error"]["Message"]
    with pytest.raises(ClientError, match="Requested resource not found"):
        raw_sagemaker.describe_training_job(TrainingJobName=request["TrainingJobName"])
