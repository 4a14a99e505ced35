"""The in-process harness itself: a reset leaves nothing of the last test, and the fake runner ends a job
the way the test says, through the real backends' state machine."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from emulator.runners.base import FailureKind
from emulator.testing import FakeRunner, InProcessHarbor, training_request, wait_for_status


def test_a_reset_empties_moto_and_our_records(harbor: InProcessHarbor, sagemaker, s3, bucket, fake_runner):
    fake_runner.default_outcome = "Completed"
    request = training_request(bucket)
    sagemaker.create_training_job(**request)
    assert wait_for_status(sagemaker, request["TrainingJobName"])["TrainingJobStatus"] == "Completed"
    before = harbor.data_dir
    harbor.reset()
    assert harbor.data_dir != before
    assert s3.list_buckets()["Buckets"] == []
    assert sagemaker.list_training_jobs()["TrainingJobSummaries"] == []
    with pytest.raises(ClientError, match="Requested resource not found"):
        sagemaker.describe_training_job(TrainingJobName=request["TrainingJobName"])


def test_a_job_fails_with_the_reason_the_test_gives(sagemaker, bucket, fake_runner: FakeRunner):
    request = training_request(bucket)
    sagemaker.create_training_job(**request)
    fake_runner.wait_started(request["TrainingJobName"])
    assert sagemaker.describe_training_job(TrainingJobName=request["TrainingJobName"])["SecondaryStatus"] == "Training"
    fake_runner.fail(request["TrainingJobName"], "AlgorithmError: loss went to NaN", FailureKind.ALGORITHM)
    final = wait_for_status(sagemaker, request["TrainingJobName"])
    assert (final["TrainingJobStatus"], final["FailureReason"]) == ("Failed", "AlgorithmError: loss went to NaN")


def test_the_runner_is_handed_the_parsed_request(sagemaker, bucket, fake_runner: FakeRunner):
    request = training_request(bucket, HyperParameters={"epochs": "3"}, InputDataConfig=[{
        "ChannelName": "train", "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix",
                                                                "S3Uri": f"s3://{bucket}/train"}}}])
    sagemaker.create_training_job(**request)
    fake_runner.wait_started(request["TrainingJobName"])
    run = next(r for r in fake_runner.requests if r.job_name == request["TrainingJobName"])
    assert run.hyperparameters == {"epochs": "3"}
    assert [(c.name, c.source.uri if c.source else None) for c in run.channels] == [("train", f"s3://{bucket}/train")]
    assert run.s3_endpoint_url == sagemaker.meta.endpoint_url
