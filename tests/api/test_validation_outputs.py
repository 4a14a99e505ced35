"""Every Describe*/List* output of training and processing jobs carries the members botocore's output
shapes mark required (issue 11, item 9), in each status a job passes through; in process, the fake
runner ends each job as the test says (endpoints, which need a served model:
tests/services/sagemaker/test_validation_outputs.py).
"""

from __future__ import annotations

import time
from typing import Any

from emulator.testing import FakeRunner, training_request, unique_name, wait_for_status
from tests.services.sagemaker.test_processing_jobs import wait_processing
from tests.services.sagemaker.test_validation_outputs import assert_complete


def describe_job(sagemaker: Any, name: str) -> dict[str, Any]:
    description = sagemaker.describe_training_job(TrainingJobName=name)
    assert_complete("DescribeTrainingJob", description)
    return description


def wait_until(check: Any, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.3)


def test_training_jobs_in_every_status_carry_the_required_members(sagemaker, bucket, fake_runner: FakeRunner):
    failed = training_request(bucket)
    failed.pop("StoppingCondition")  # optional on Create, required on Describe
    sagemaker.create_training_job(**failed)
    completed = training_request(bucket)
    sagemaker.create_training_job(**completed)
    stopped = training_request(bucket)
    sagemaker.create_training_job(**stopped)
    fake_runner.fail(failed["TrainingJobName"])
    fake_runner.complete(completed["TrainingJobName"])

    assert describe_job(sagemaker, stopped["TrainingJobName"])["TrainingJobStatus"] == "InProgress"
    wait_until(lambda: describe_job(sagemaker, stopped["TrainingJobName"])["SecondaryStatus"] == "Training")
    sagemaker.stop_training_job(TrainingJobName=stopped["TrainingJobName"])
    assert describe_job(sagemaker, stopped["TrainingJobName"])["TrainingJobStatus"] in ("Stopping", "Stopped")

    ends = {name: wait_for_status(sagemaker, name)["TrainingJobStatus"]
            for name in (failed["TrainingJobName"], completed["TrainingJobName"], stopped["TrainingJobName"])}
    assert sorted(ends.values()) == ["Completed", "Failed", "Stopped"]
    for name in ends:
        description = describe_job(sagemaker, name)
        assert description["ModelArtifacts"]["S3ModelArtifacts"].endswith(f"/{name}/output/model.tar.gz")
    assert describe_job(sagemaker, failed["TrainingJobName"])["StoppingCondition"] == {"MaxRuntimeInSeconds": 86400}
    for status in ("Completed", "Failed", "Stopped"):
        assert_complete("ListTrainingJobs", sagemaker.list_training_jobs(StatusEquals=status, MaxResults=100))


def _processing(bucket: str, code: str) -> dict[str, Any]:
    return {
        "ProcessingJobName": unique_name("proc"),
        "RoleArn": "arn:aws:iam::123456789012:role/mlharbor-tests",
        "AppSpecification": {"ImageUri": "mlharbor/pytorch", "ContainerEntrypoint": ["python3", "-c", code]},
        "ProcessingResources": {"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large",
                                                  "VolumeSizeInGB": 1}},
        "ProcessingOutputConfig": {"Outputs": [{"OutputName": "out", "S3Output": {
            "S3Uri": f"s3://{bucket}/out", "LocalPath": "/opt/ml/processing/output", "S3UploadMode": "EndOfJob"}}]},
    }


def test_processing_jobs_in_every_status_carry_the_required_members(sagemaker, bucket, fake_runner: FakeRunner):
    jobs = [_processing(bucket, "print(1)"), _processing(bucket, "raise SystemExit(3)"), _processing(bucket, "")]
    for job in jobs:
        sagemaker.create_processing_job(**job)
    sleeper = jobs[2]["ProcessingJobName"]
    fake_runner.complete(jobs[0]["ProcessingJobName"])
    fake_runner.fail(jobs[1]["ProcessingJobName"], "exited with code 3")
    running = sagemaker.describe_processing_job(ProcessingJobName=sleeper)
    assert running["ProcessingJobStatus"] == "InProgress"
    assert_complete("DescribeProcessingJob", running)
    assert_complete("ListProcessingJobs", sagemaker.list_processing_jobs(StatusEquals="InProgress"))
    sagemaker.stop_processing_job(ProcessingJobName=sleeper)
    ends = [wait_processing(sagemaker, job["ProcessingJobName"]) for job in jobs]
    assert [end["ProcessingJobStatus"] for end in ends] == ["Completed", "Failed", "Stopped"]
    for end in ends:
        assert_complete("DescribeProcessingJob", end)
    assert_complete("ListProcessingJobs", sagemaker.list_processing_jobs(MaxResults=100))
