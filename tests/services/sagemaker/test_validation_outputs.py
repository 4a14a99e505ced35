"""Every Describe*/List* output carries the members botocore's output shapes mark required
(issue 11, item 9): the SageMaker SDK indexes them (``ModelArtifacts`` of a failed job crashed its
tuner with ``KeyError``), so each is checked for resources in every status they pass through.
"""

from __future__ import annotations

import time
from typing import Any

from emulator.core.awsjson import load_service_model
from tests.conftest import script_job, training_request, unique_name, wait_for_status
from tests.fuzz.wire import missing_required
from tests.services.sagemaker.test_endpoints import deploy, put_model, wait_endpoint
from tests.services.sagemaker.test_processing_jobs import wait_processing

MODEL = load_service_model("sagemaker")
SLEEP = "import time\ntime.sleep(120)\n"


def assert_complete(operation: str, output: dict[str, Any]) -> None:
    missing = missing_required(MODEL.operation_model(operation).output_shape, output)
    assert not missing, f"{operation} lacks required {missing}"


def describe_job(sagemaker: Any, name: str) -> dict[str, Any]:
    description = sagemaker.describe_training_job(TrainingJobName=name)
    assert_complete("DescribeTrainingJob", description)
    return description


def wait_until(check: Any, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.3)


def test_training_jobs_in_every_status_carry_the_required_members(sagemaker, s3, bucket):
    failed = training_request(bucket)  # no program to run: fails as the algorithm
    failed.pop("StoppingCondition")  # optional on Create, required on Describe
    sagemaker.create_training_job(**failed)
    completed = script_job(s3, bucket, "print('done')\n")
    sagemaker.create_training_job(**completed)
    stopped = script_job(s3, bucket, SLEEP)
    sagemaker.create_training_job(**stopped)

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


def test_processing_jobs_in_every_status_carry_the_required_members(sagemaker, bucket):
    jobs = [_processing(bucket, "print(1)"), _processing(bucket, "raise SystemExit(3)"), _processing(bucket, SLEEP)]
    for job in jobs:
        sagemaker.create_processing_job(**job)
    sleeper = jobs[2]["ProcessingJobName"]
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


def test_models_configs_and_endpoints_carry_the_required_members(sagemaker, s3, bucket):
    serving = deploy(sagemaker, put_model(s3, bucket), wait=False)
    creating = sagemaker.describe_endpoint(EndpointName=serving)
    assert_complete("DescribeEndpoint", creating)
    assert wait_endpoint(sagemaker, serving)["EndpointStatus"] == "InService"
    broken = deploy(sagemaker, f"s3://{bucket}/missing/model.tar.gz", wait=False)
    assert wait_endpoint(sagemaker, broken)["EndpointStatus"] == "Failed"
    for name in (serving, broken):
        described = sagemaker.describe_endpoint(EndpointName=name)
        assert_complete("DescribeEndpoint", described)
        config = sagemaker.describe_endpoint_config(EndpointConfigName=described["EndpointConfigName"])
        assert_complete("DescribeEndpointConfig", config)
        model = sagemaker.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
        assert_complete("DescribeModel", model)
        assert_complete("ListTags", sagemaker.list_tags(ResourceArn=described["EndpointArn"]))
    for operation, call in (("ListEndpoints", sagemaker.list_endpoints), ("ListModels", sagemaker.list_models),
                            ("ListEndpointConfigs", sagemaker.list_endpoint_configs)):
        assert_complete(operation, call(MaxResults=100))
    for name in (serving, broken):
        sagemaker.delete_endpoint(EndpointName=name)
