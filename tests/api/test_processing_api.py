"""CreateProcessingJob / Describe over real boto3, in process: path checks and errors in the AWS shape."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from emulator.testing import ROLE, unique_name
from tests.services.sagemaker.test_processing_jobs import SCRIPT, processing_request


@pytest.fixture
def code(s3, bucket) -> str:
    s3.put_object(Bucket=bucket, Key="code/script.py", Body=SCRIPT.encode())
    return "code/script.py"


@pytest.mark.parametrize("local_path", ["/tmp/elsewhere", "/opt/ml/processing/../../etc", "relative/path"])
def test_local_paths_outside_opt_ml_processing_are_refused(sagemaker, bucket, local_path):
    request = processing_request(bucket, "code/script.py")
    request["ProcessingInputs"][1]["S3Input"]["LocalPath"] = local_path
    with pytest.raises(ClientError) as caught:
        sagemaker.create_processing_job(**request)
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert "/opt/ml/processing" in caught.value.response["Error"]["Message"]


def test_processing_errors_in_the_aws_shape(sagemaker, raw_sagemaker, s3, bucket, code):
    with pytest.raises(ClientError) as caught:
        sagemaker.describe_processing_job(ProcessingJobName=unique_name("missing"))
    assert caught.value.response["Error"]["Message"] == "Requested resource not found."
    request = processing_request(bucket, code)
    sagemaker.create_processing_job(**request)
    with pytest.raises(ClientError) as caught:
        sagemaker.create_processing_job(**request)
    assert caught.value.response["Error"]["Code"] == "ResourceInUse"
    with pytest.raises(ClientError) as caught:
        raw_sagemaker.create_processing_job(ProcessingJobName="bad_name", RoleArn=ROLE,
                                            AppSpecification={"ImageUri": "mlharbor/pytorch"},
                                            ProcessingResources=json.loads('{"ClusterConfig": {}}'))
    message = caught.value.response["Error"]["Message"]
    assert "at 'processingJobName' failed to satisfy constraint" in message
    assert "Value null at 'processingResources.clusterConfig.volumeSizeInGB' failed to satisfy constraint: Member must not be null" in message
    no_type = processing_request(bucket, code)
    del no_type["ProcessingResources"]["ClusterConfig"]["InstanceType"]
    with pytest.raises(ClientError) as caught:
        sagemaker.create_processing_job(**no_type)
    assert "InstanceType" in caught.value.response["Error"]["Message"]
