"""Every path a Create request names is checked at Create, in process: a bad one is a ValidationException
and no job (a good one running end to end: tests/services/sagemaker/test_request_paths.py).

A relative ``CheckpointConfig.LocalPath`` such as ``../../../../tmp/x`` used to be mapped against
the server's working directory and land outside the job's tree: the server created that host
directory, restored S3 objects into it and copied what it held into S3.
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from emulator.testing import script_job, training_request
from tests.services.sagemaker.test_processing_jobs import processing_request
from tests.services.sagemaker.test_request_paths import WRITE_CHECKPOINT


def climbing_to(target) -> str:
    """A relative path that climbs from anywhere in the data directory to ``target`` (absolute)."""
    return "../" * 40 + str(target).lstrip("/")


def refused(call, **request) -> str:
    with pytest.raises(ClientError) as caught:
        call(**request)
    error = caught.value.response["Error"]
    assert error["Code"] == "ValidationException", error
    return error["Message"]


def assert_no_training_job(sagemaker, name: str) -> None:
    with pytest.raises(ClientError) as caught:
        sagemaker.describe_training_job(TrainingJobName=name)
    assert caught.value.response["Error"]["Message"] == "Requested resource not found."


@pytest.mark.parametrize("local_path", [
    "relative/checkpoints", "../../../../tmp/x", "/opt/ml/../../tmp/x", "/opt/ml/./checkpoints",
    "/opt/ml//checkpoints", "/opt/ml", "/",
])
def test_a_bad_checkpoint_local_path_is_refused_and_no_job_is_created(sagemaker, bucket, local_path):
    request = training_request(bucket, CheckpointConfig={"S3Uri": f"s3://{bucket}/ckpt", "LocalPath": local_path})
    message = refused(sagemaker.create_training_job, **request)
    assert "CheckpointConfig.LocalPath" in message
    assert_no_training_job(sagemaker, request["TrainingJobName"])


def test_a_relative_checkpoint_path_reaches_nothing_on_this_machine(sagemaker, s3, bucket, tmp_path):
    """The escape itself: the target directory is never created, and S3 objects never land in it."""
    target = tmp_path / "escaped"
    s3.put_object(Bucket=bucket, Key="ckpt/planted.txt", Body=b"from S3")
    request = script_job(s3, bucket, WRITE_CHECKPOINT,
                         CheckpointConfig={"S3Uri": f"s3://{bucket}/ckpt", "LocalPath": climbing_to(target)})
    refused(sagemaker.create_training_job, **request)
    assert_no_training_job(sagemaker, request["TrainingJobName"])
    assert not target.exists()


@pytest.mark.parametrize("member", ["TensorBoardOutputConfig", "DebugHookConfig"])
def test_other_local_paths_of_a_training_job_are_checked_alike(sagemaker, bucket, member):
    request = training_request(bucket, **{member: {"S3OutputPath": f"s3://{bucket}/x", "LocalPath": "../../etc"}})
    assert f"{member}.LocalPath" in refused(sagemaker.create_training_job, **request)
    assert_no_training_job(sagemaker, request["TrainingJobName"])


@pytest.mark.parametrize("local_path", ["relative/out", "/opt/ml/processing/../../../tmp/out",
                                        "/opt/ml/processing/./out", "/opt/ml/processing//out", "/opt/ml/output"])
def test_a_bad_processing_output_path_is_refused_and_no_job_is_created(sagemaker, bucket, local_path):
    request = processing_request(bucket, "code/script.py")
    request["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["LocalPath"] = local_path
    message = refused(sagemaker.create_processing_job, **request)
    assert "ProcessingOutput clean: LocalPath" in message and "/opt/ml/processing" in message
    with pytest.raises(ClientError) as caught:
        sagemaker.describe_processing_job(ProcessingJobName=request["ProcessingJobName"])
    assert caught.value.response["Error"]["Message"] == "Requested resource not found."


def test_a_bad_processing_input_path_is_refused(sagemaker, bucket, tmp_path):
    request = processing_request(bucket, "code/script.py")
    request["ProcessingInputs"][1]["S3Input"]["LocalPath"] = climbing_to(tmp_path / "escaped")
    assert "ProcessingInput raw: LocalPath" in refused(sagemaker.create_processing_job, **request)
    assert not (tmp_path / "escaped").exists()
