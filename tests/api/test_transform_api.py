"""Create/Describe/List/StopTransformJob over real boto3, in process: validation and the record's shape.

The in-process runner serves no model, so a job here ends Failed at its serve step; the runs
themselves (records through a real container) are tests/services/sagemaker/test_transform_jobs.py.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError, WaiterError

from emulator.testing import ROLE, unique_name


def create_model(sagemaker: Any) -> str:
    name = unique_name("model")
    sagemaker.create_model(ModelName=name, ExecutionRoleArn=ROLE, PrimaryContainer={
        "Image": "mlharbor/sklearn", "ModelDataUrl": "s3://nowhere/model.tar.gz"})
    return name


def transform_request(bucket: str, model: str, **overrides: Any) -> dict[str, Any]:
    request: dict[str, Any] = {
        "TransformJobName": unique_name("tj"),
        "ModelName": model,
        "TransformInput": {"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{bucket}/in/"}},
                           "ContentType": "text/csv", "SplitType": "Line"},
        "TransformOutput": {"S3OutputPath": f"s3://{bucket}/out/", "AssembleWith": "Line"},
        "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
    }
    request.update(overrides)
    return request


def error_of(call: Any, **kwargs: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    return caught.value.response["Error"]["Code"], caught.value.response["Error"]["Message"]


def test_a_transform_of_a_model_that_does_not_exist_is_refused_at_create(sagemaker, bucket):
    code, message = error_of(sagemaker.create_transform_job, **transform_request(bucket, "no-such-model"))
    assert code == "ValidationException"
    assert message.startswith('Could not find model "arn:aws:sagemaker:') and "model/no-such-model" in message


@pytest.mark.parametrize(("change", "fragment"), [
    ({"DataProcessing": {"InputFilter": "$..x"}}, "DataProcessing.InputFilter"),
    ({"MaxPayloadInMB": 500}, "cannot be greater than 100 MB"),
    ({"BatchStrategy": "MultiRecord", "TransformInput": {
        "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/in/"}}, "SplitType": "None"}},
     "MultiRecord needs"),
    ({"TransformInput": {"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/in/"}},
                         "SplitType": "RecordIO"}}, "SplitType RecordIO"),
    ({"TransformInput": {"DataSource": {"S3DataSource": {"S3DataType": "AugmentedManifestFile",
                                                         "S3Uri": "s3://b/m"}}}}, "AugmentedManifestFile"),
])
def test_requests_mlharbor_cannot_honour_are_refused_with_the_member(sagemaker, bucket, change, fragment):
    code, message = error_of(sagemaker.create_transform_job, **transform_request(bucket, create_model(sagemaker),
                                                                                 **change))
    assert code == "ValidationException" and fragment in message


def test_the_service_model_validates_the_request(raw_sagemaker, sagemaker, bucket):
    request = transform_request(bucket, create_model(sagemaker), TransformJobName="bad_name", MaxPayloadInMB=-1)
    code, message = error_of(raw_sagemaker.create_transform_job, **request)
    assert code == "ValidationException"
    assert "at 'transformJobName' failed to satisfy constraint" in message
    assert "at 'maxPayloadInMB' failed to satisfy constraint" in message


def test_describe_echoes_the_request_and_list_pages_and_filters(sagemaker, bucket):
    model = create_model(sagemaker)
    names = []
    for _ in range(3):
        request = transform_request(bucket, model, BatchStrategy="MultiRecord", MaxPayloadInMB=1,
                                    MaxConcurrentTransforms=2, Environment={"A": "b"},
                                    DataProcessing={"InputFilter": "$[1:]", "JoinSource": "Input"})
        arn = sagemaker.create_transform_job(**request)["TransformJobArn"]
        assert arn.endswith(f":transform-job/{request['TransformJobName'].lower()}")
        names.append(request["TransformJobName"])
    described = sagemaker.describe_transform_job(TransformJobName=names[-1])
    for member in ("ModelName", "BatchStrategy", "MaxPayloadInMB", "MaxConcurrentTransforms", "Environment",
                   "TransformInput", "TransformOutput", "TransformResources", "DataProcessing"):
        assert described[member] == request[member], member
    assert described["TransformJobStatus"] in ("InProgress", "Failed")
    first = sagemaker.list_transform_jobs(MaxResults=2, SortBy="Name", SortOrder="Ascending")
    assert len(first["TransformJobSummaries"]) == 2 and "NextToken" in first
    rest = sagemaker.list_transform_jobs(MaxResults=2, SortBy="Name", SortOrder="Ascending",
                                         NextToken=first["NextToken"])
    listed = [s["TransformJobName"] for s in first["TransformJobSummaries"] + rest["TransformJobSummaries"]]
    assert listed == sorted(names)
    assert sagemaker.list_transform_jobs(NameContains=names[1])["TransformJobSummaries"][0]["TransformJobName"] \
        == names[1]


def test_a_duplicate_name_is_resource_in_use_and_an_unknown_one_not_found(sagemaker, bucket):
    request = transform_request(bucket, create_model(sagemaker))
    sagemaker.create_transform_job(**request)
    assert error_of(sagemaker.create_transform_job, **request)[0] == "ResourceInUse"
    assert error_of(sagemaker.describe_transform_job, TransformJobName="nope") == (
        "ValidationException", "Requested resource not found.")
    assert error_of(sagemaker.stop_transform_job, TransformJobName="nope")[0] == "ValidationException"


def test_a_model_that_cannot_serve_fails_the_job_and_the_waiter_says_so(sagemaker, s3, bucket):
    s3.put_object(Bucket=bucket, Key="in/a.csv", Body=b"1,2\n")
    request = transform_request(bucket, create_model(sagemaker))
    sagemaker.create_transform_job(**request)
    with pytest.raises(WaiterError):
        sagemaker.get_waiter("transform_job_completed_or_stopped").wait(
            TransformJobName=request["TransformJobName"], WaiterConfig={"Delay": 0.2, "MaxAttempts": 100})
    described = sagemaker.describe_transform_job(TransformJobName=request["TransformJobName"])
    assert described["TransformJobStatus"] == "Failed"
    assert "serves no endpoints" in described["FailureReason"]
    assert "TransformEndTime" in described and "TransformStartTime" in described
    code, message = error_of(sagemaker.stop_transform_job, TransformJobName=request["TransformJobName"])
    assert code == "ValidationException" and "status Failed" in message


def test_an_empty_input_prefix_fails_naming_it(sagemaker, bucket):
    request = transform_request(bucket, create_model(sagemaker))
    sagemaker.create_transform_job(**request)
    with pytest.raises(WaiterError):
        sagemaker.get_waiter("transform_job_completed_or_stopped").wait(
            TransformJobName=request["TransformJobName"], WaiterConfig={"Delay": 0.2, "MaxAttempts": 100})
    reason = sagemaker.describe_transform_job(TransformJobName=request["TransformJobName"])["FailureReason"]
    assert f"s3://{bucket}/in/" in reason
