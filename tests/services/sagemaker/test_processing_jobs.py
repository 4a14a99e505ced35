"""Processing jobs over real boto3: the /opt/ml/processing contract, statuses, errors."""

from __future__ import annotations

import time

import pytest
from botocore.exceptions import ClientError

from tests.conftest import ROLE, RUNNER_KINDS, unique_name

SCRIPT = r"""
import json, os, sys
config = json.load(open('/opt/ml/config/processingjobconfig.json'))
rows = open('/opt/ml/processing/input/raw/data.csv').read().split()
os.makedirs('/opt/ml/processing/output/clean/part', exist_ok=True)
with open('/opt/ml/processing/output/clean/part/doubled.csv', 'w') as out:
    out.write('\n'.join(str(2 * int(r)) for r in rows))
open('/opt/ml/output/message', 'w').write(f"processed {len(rows)} rows for {config['ProcessingJobName']}")
print('args', sys.argv[1:], 'env', os.environ.get('STAGE'))
"""


def processing_request(bucket: str, code_key: str, **overrides) -> dict:
    request = {
        "ProcessingJobName": unique_name("proc"),
        "RoleArn": ROLE,
        "AppSpecification": {
            "ImageUri": "mlharbor/pytorch",
            "ContainerEntrypoint": ["python3", "/opt/ml/processing/input/code/script.py"],
            "ContainerArguments": ["--mode", "double"],
        },
        "ProcessingResources": {"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large",
                                                  "VolumeSizeInGB": 1}},
        "ProcessingInputs": [
            {"InputName": "code", "S3Input": {"S3Uri": f"s3://{bucket}/{code_key}", "LocalPath":
             "/opt/ml/processing/input/code", "S3DataType": "S3Prefix", "S3InputMode": "File"}},
            {"InputName": "raw", "S3Input": {"S3Uri": f"s3://{bucket}/raw/", "LocalPath":
             "/opt/ml/processing/input/raw", "S3DataType": "S3Prefix", "S3InputMode": "File"}},
        ],
        "ProcessingOutputConfig": {"Outputs": [
            {"OutputName": "clean", "S3Output": {"S3Uri": f"s3://{bucket}/clean", "LocalPath":
             "/opt/ml/processing/output/clean", "S3UploadMode": "EndOfJob"}},
        ]},
        "Environment": {"STAGE": "test"},
        "StoppingCondition": {"MaxRuntimeInSeconds": 120},
    }
    request.update(overrides)
    return request


def wait_processing(sagemaker, name: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        description = sagemaker.describe_processing_job(ProcessingJobName=name)
        if description["ProcessingJobStatus"] in ("Completed", "Failed", "Stopped"):
            return description
        time.sleep(0.3)
    raise TimeoutError(name)


@pytest.fixture
def code(s3, bucket) -> str:
    s3.put_object(Bucket=bucket, Key="code/script.py", Body=SCRIPT.encode())
    s3.put_object(Bucket=bucket, Key="raw/data.csv", Body=b"1\n2\n3\n")
    return "code/script.py"


@pytest.mark.parametrize("runner", RUNNER_KINDS)
def test_a_processing_job_reads_inputs_writes_outputs_and_exit_message(sagemaker, s3, bucket, code, harbor, runner,
                                                                       request):
    if runner == "docker":
        request.getfixturevalue("docker_images")
    request = processing_request(bucket, code, Environment={"STAGE": "test", "MLHARBOR_RUNNER": runner})
    arn = sagemaker.create_processing_job(**request)["ProcessingJobArn"]
    assert arn.endswith(f":processing-job/{request['ProcessingJobName']}")
    final = wait_processing(sagemaker, request["ProcessingJobName"])
    assert final["ProcessingJobStatus"] == "Completed", final.get("FailureReason")
    assert final["ExitMessage"] == f"processed 3 rows for {request['ProcessingJobName']}"
    assert final["ProcessingEndTime"] >= final["ProcessingStartTime"]
    assert final["AppSpecification"]["ContainerArguments"] == ["--mode", "double"]
    assert s3.get_object(Bucket=bucket, Key="clean/part/doubled.csv")["Body"].read() == b"2\n4\n6"
    logs = harbor.client("logs")
    streams = logs.describe_log_streams(logGroupName="/aws/sagemaker/ProcessingJobs",
                                        logStreamNamePrefix=request["ProcessingJobName"] + "/")["logStreams"]
    events = logs.get_log_events(logGroupName="/aws/sagemaker/ProcessingJobs",
                                 logStreamName=streams[0]["logStreamName"], startFromHead=True)["events"]
    assert any("args ['--mode', 'double'] env test" in event["message"] for event in events)
    listed = sagemaker.list_processing_jobs(NameContains=request["ProcessingJobName"])["ProcessingJobSummaries"]
    assert [(s["ProcessingJobName"], s["ProcessingJobStatus"]) for s in listed] == [
        (request["ProcessingJobName"], "Completed")]


def test_a_failing_processing_job_reports_why(sagemaker, s3, bucket):
    s3.put_object(Bucket=bucket, Key="code/fail.py", Body=b"raise SystemExit('schema mismatch in raw data')\n")
    s3.put_object(Bucket=bucket, Key="raw/data.csv", Body=b"1\n")
    request = processing_request(bucket, "code/fail.py")
    request["AppSpecification"]["ContainerEntrypoint"] = ["python3", "/opt/ml/processing/input/code/fail.py"]
    sagemaker.create_processing_job(**request)
    final = wait_processing(sagemaker, request["ProcessingJobName"])
    assert final["ProcessingJobStatus"] == "Failed"
    assert "schema mismatch in raw data" in final["FailureReason"]


def test_stop_a_running_processing_job(sagemaker, s3, bucket):
    s3.put_object(Bucket=bucket, Key="code/sleep.py", Body=b"import time\ntime.sleep(120)\n")
    s3.put_object(Bucket=bucket, Key="raw/data.csv", Body=b"1\n")
    request = processing_request(bucket, "code/sleep.py")
    request["AppSpecification"]["ContainerEntrypoint"] = ["python3", "/opt/ml/processing/input/code/sleep.py"]
    sagemaker.create_processing_job(**request)
    deadline = time.monotonic() + 60
    while "ProcessingStartTime" not in sagemaker.describe_processing_job(ProcessingJobName=request["ProcessingJobName"]):
        assert time.monotonic() < deadline
        time.sleep(0.2)
    sagemaker.stop_processing_job(ProcessingJobName=request["ProcessingJobName"])
    assert wait_processing(sagemaker, request["ProcessingJobName"])["ProcessingJobStatus"] == "Stopped"
    with pytest.raises(ClientError) as caught:
        sagemaker.stop_processing_job(ProcessingJobName=request["ProcessingJobName"])
    assert caught.value.response["Error"]["Code"] == "ValidationException"
