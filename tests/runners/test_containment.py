"""Containers stay contained: a job can neither read host files through its tree nor leave Docker.

Two holes, each tried the way a hostile job would:

* it plants symlinks (and a FIFO) in its checkpoint, model and output directories, pointing at a
  file of this machine, and waits for the server to copy "its" files out to S3 and the artifact
  store;
* from inside its container it calls the SageMaker API through its relay (the ``AWS_ENDPOINT_URL``
  it is given) asking for ``MLHARBOR_RUNNER=process`` (a process on this machine), or reaches for
  mlharbor's own ``/_mlharbor`` API.

The relay-level tests drive a real :class:`Relay` into the session's server (no Docker needed);
the Docker tests run real containers on the session's (process-runner) server.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from emulator.runners.docker.relay import Relay
from tests.conftest import ROLE, RUNNER_KINDS, read_tar, script_job, training_request, unique_name, wait_for_status


# -- through a relay, no container ---------------------------------------------------------
@pytest.fixture(scope="module")
def relayed_endpoint(harbor) -> Iterator[str]:
    """The session server's edge as a job's container reaches it: through a relay."""
    target = urlsplit(harbor.endpoint)
    relay = Relay("127.0.0.1", (target.hostname, target.port))
    port = relay.start()
    yield f"http://127.0.0.1:{port}"
    relay.stop()


@pytest.fixture(scope="module")
def relayed_sagemaker(relayed_endpoint: str) -> Any:
    return boto3.client("sagemaker", endpoint_url=relayed_endpoint, region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing",
                        config=Config(retries={"max_attempts": 1}))


def error_of(call, **request) -> dict[str, str]:
    with pytest.raises(ClientError) as caught:
        call(**request)
    return caught.value.response["Error"]


def http_status(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_a_relayed_request_cannot_choose_the_process_runner(relayed_sagemaker, sagemaker, bucket):
    request = training_request(bucket, Environment={"MLHARBOR_RUNNER": "process"})
    error = error_of(relayed_sagemaker.create_training_job, **request)
    assert error["Code"] == "ValidationException"
    assert "MLHARBOR_RUNNER" in error["Message"] and "docker" in error["Message"]
    assert error_of(sagemaker.describe_training_job, TrainingJobName=request["TrainingJobName"])["Message"] == \
        "Requested resource not found."


def test_a_relayed_job_without_a_runner_key_is_recorded_on_docker(relayed_sagemaker, sagemaker, bucket):
    """The session server's default is the process runner: a job's job must not get it."""
    request = training_request(bucket, Environment={"A": "1"})
    relayed_sagemaker.create_training_job(**request)
    try:
        described = sagemaker.describe_training_job(TrainingJobName=request["TrainingJobName"])
        assert described["Environment"] == {"A": "1", "MLHARBOR_RUNNER": "docker"}
    finally:
        sagemaker.stop_training_job(TrainingJobName=request["TrainingJobName"])


def test_the_same_request_from_the_user_keeps_its_choice(sagemaker, bucket):
    request = training_request(bucket, Environment={"MLHARBOR_RUNNER": "process"})
    sagemaker.create_training_job(**request)
    described = sagemaker.describe_training_job(TrainingJobName=request["TrainingJobName"])
    assert described["Environment"] == {"MLHARBOR_RUNNER": "process"}
    sagemaker.stop_training_job(TrainingJobName=request["TrainingJobName"])


def test_a_relayed_processing_job_cannot_choose_the_process_runner(relayed_sagemaker, bucket):
    from tests.services.sagemaker.test_processing_jobs import processing_request

    request = processing_request(bucket, "code/script.py", Environment={"MLHARBOR_RUNNER": "Process "})
    assert error_of(relayed_sagemaker.create_processing_job, **request)["Code"] == "ValidationException"


def test_a_relayed_model_serves_on_docker_and_a_users_model_cannot_be_deployed_from_a_job(
        relayed_sagemaker, sagemaker, bucket):
    container = {"Image": "mlharbor/pytorch", "ModelDataUrl": f"s3://{bucket}/model.tar.gz"}
    refused = error_of(relayed_sagemaker.create_model, ModelName=unique_name("model"), ExecutionRoleArn=ROLE,
                       PrimaryContainer={**container, "Environment": {"MLHARBOR_RUNNER": "process"}})
    assert refused["Code"] == "ValidationException"
    jobs_model = unique_name("model")
    relayed_sagemaker.create_model(ModelName=jobs_model, ExecutionRoleArn=ROLE, PrimaryContainer=container)
    environment = sagemaker.describe_model(ModelName=jobs_model)["PrimaryContainer"]["Environment"]
    assert environment == {"MLHARBOR_RUNNER": "docker"}
    users_model = unique_name("model")
    sagemaker.create_model(ModelName=users_model, ExecutionRoleArn=ROLE, PrimaryContainer=container)
    config = unique_name("config")
    sagemaker.create_endpoint_config(EndpointConfigName=config, ProductionVariants=[{
        "VariantName": "v", "ModelName": users_model, "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}])
    refused = error_of(relayed_sagemaker.create_endpoint, EndpointName=unique_name("ep"), EndpointConfigName=config)
    assert refused["Code"] == "ValidationException" and users_model in refused["Message"]


def test_mlharbors_own_api_is_refused_through_a_relay(harbor, relayed_endpoint):
    assert http_status(harbor.endpoint + "/_mlharbor/health")[0] == 200
    for path in ("/_mlharbor/health", "//_mlharbor/health", "/_mlharbor/artifacts", "/moto-api/reset"):
        status, body = http_status(relayed_endpoint + path)
        assert status == 403, path
        assert json.loads(body)["__type"] == "AccessDeniedException"


def test_s3_still_works_through_a_relay(relayed_endpoint, s3, bucket):
    relayed_s3 = boto3.client("s3", endpoint_url=relayed_endpoint, region_name="us-east-1",
                              aws_access_key_id="testing", aws_secret_access_key="testing")
    relayed_s3.put_object(Bucket=bucket, Key="via-relay.txt", Body=b"ok")
    assert s3.get_object(Bucket=bucket, Key="via-relay.txt")["Body"].read() == b"ok"


# -- real jobs: symlinks planted in the tree -----------------------------------------------------
PLANT = """
import os
secret = os.environ["SECRET_PATH"]
def plant(directory):
    os.makedirs(directory, exist_ok=True)
    os.symlink(secret, os.path.join(directory, "stolen.txt"))
    os.symlink(os.path.dirname(secret), os.path.join(directory, "stolen-dir"))
    os.mkfifo(os.path.join(directory, "pipe"))
    open(os.path.join(directory, "real.txt"), "w").write("real " + os.path.basename(directory))
for directory in (os.environ["SM_CHECKPOINT_DIR"], os.environ["SM_MODEL_DIR"], os.environ["SM_OUTPUT_DATA_DIR"]):
    plant(directory)
print("planted")
"""

FAIL_THROUGH_A_LINK = """
import os, sys
secret = os.environ["SECRET_PATH"]
if not os.path.exists(secret):  # in a container: give the link a target there, or the toolkit writes through it
    os.makedirs(os.path.dirname(secret))
    open(secret, "w").write("the container's own file")
os.symlink(secret, os.path.join(os.environ["SM_OUTPUT_DIR"], "failure"))
sys.exit(3)
"""


@pytest.fixture
def secret(tmp_path: Path) -> tuple[Path, bytes]:
    """A host file outside every job tree, with content that must never show up anywhere."""
    marker = f"host-secret-{uuid.uuid4().hex}".encode()
    path = tmp_path / "host-only" / "secret.txt"
    path.parent.mkdir()
    path.write_bytes(marker)
    return path, marker


def all_objects(s3: Any, bucket: str) -> dict[str, bytes]:
    keys = [item["Key"] for item in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    return {key: s3.get_object(Bucket=bucket, Key=key)["Body"].read() for key in keys}


def regular_files(root: Path) -> Iterator[Path]:
    return (path for path in root.rglob("*") if path.is_file() and not path.is_symlink())


@pytest.mark.parametrize("runner", RUNNER_KINDS)
def test_planted_symlinks_never_carry_a_host_file_out(runner, request, harbor, sagemaker, s3, bucket, secret):
    if runner == "docker":
        request.getfixturevalue("docker_images")
    path, marker = secret
    job = script_job(s3, bucket, PLANT, Environment={"MLHARBOR_RUNNER": runner, "SECRET_PATH": str(path)},
                     CheckpointConfig={"S3Uri": f"s3://{bucket}/checkpoints"})
    sagemaker.create_training_job(**job)
    final = wait_for_status(sagemaker, job["TrainingJobName"], timeout=300)
    assert final["TrainingJobStatus"] == "Completed", final.get("FailureReason")
    objects = all_objects(s3, bucket)
    assert objects["checkpoints/real.txt"] == b"real checkpoints"
    assert sorted(key for key in objects if key.startswith("checkpoints/")) == ["checkpoints/real.txt"]
    assert read_tar(s3, final["ModelArtifacts"]["S3ModelArtifacts"]) == {"real.txt": b"real model"}
    output = final["ModelArtifacts"]["S3ModelArtifacts"].replace("model.tar.gz", "output.tar.gz")
    assert read_tar(s3, output) == {"real.txt": b"real data"}
    assert all(marker not in body for body in objects.values())
    stored = harbor.artifacts(job["TrainingJobName"])
    assert stored and all(marker not in file.read_bytes() for file in regular_files(harbor.data_dir / "artifacts"))
    assert path.read_bytes() == marker  # and the host file is untouched


@pytest.mark.parametrize("runner", RUNNER_KINDS)
def test_a_failure_file_linked_to_a_host_file_is_not_read(runner, request, sagemaker, s3, bucket, secret):
    if runner == "docker":
        request.getfixturevalue("docker_images")
    path, marker = secret
    job = script_job(s3, bucket, FAIL_THROUGH_A_LINK, Environment={"MLHARBOR_RUNNER": runner,
                                                                    "SECRET_PATH": str(path)})
    sagemaker.create_training_job(**job)
    final = wait_for_status(sagemaker, job["TrainingJobName"], timeout=300)
    assert final["TrainingJobStatus"] == "Failed"
    assert marker.decode() not in final["FailureReason"]


# -- real jobs: calling the API from inside a container ---------------------------------------------
FROM_INSIDE = """
import json, os, urllib.error, urllib.request
import boto3
from botocore.exceptions import ClientError
s3 = boto3.client("s3")
child = json.loads(s3.get_object(Bucket=os.environ["BUCKET"], Key=os.environ["CHILD_KEY"])["Body"].read())
sagemaker = boto3.client("sagemaker")
report = {}
try:
    sagemaker.create_training_job(**{**child, "TrainingJobName": child["TrainingJobName"] + "-p",
                                     "Environment": {"MLHARBOR_RUNNER": "process"}})
    report["process"] = "created"
except ClientError as error:
    report["process"] = error.response["Error"]["Code"]
sagemaker.create_training_job(**child)
try:
    report["health"] = urllib.request.urlopen(os.environ["AWS_ENDPOINT_URL"] + "/_mlharbor/health").status
except urllib.error.HTTPError as error:
    report["health"] = error.code
open(os.path.join(os.environ["SM_MODEL_DIR"], "report.json"), "w").write(json.dumps(report))
"""

WHERE_AM_I = """
import json, os, socket
report = {"in_container": os.path.exists("/.dockerenv"), "hostname": socket.gethostname()}
open(os.path.join(os.environ["SM_MODEL_DIR"], "where.json"), "w").write(json.dumps(report))
"""


@pytest.mark.docker
def test_a_container_cannot_get_a_host_process_through_its_relay(docker_images, sagemaker, s3, bucket):
    child = script_job(s3, bucket, WHERE_AM_I)
    child_key = f"requests/{child['TrainingJobName']}.json"
    s3.put_object(Bucket=bucket, Key=child_key, Body=json.dumps(child).encode())
    parent = script_job(s3, bucket, FROM_INSIDE,
                        Environment={"MLHARBOR_RUNNER": "docker", "BUCKET": bucket, "CHILD_KEY": child_key})
    sagemaker.create_training_job(**parent)
    final = wait_for_status(sagemaker, parent["TrainingJobName"], timeout=300)
    assert final["TrainingJobStatus"] == "Completed", final.get("FailureReason")
    report = json.loads(read_tar(s3, final["ModelArtifacts"]["S3ModelArtifacts"])["report.json"])
    assert report == {"process": "ValidationException", "health": 403}
    with pytest.raises(ClientError):
        sagemaker.describe_training_job(TrainingJobName=child["TrainingJobName"] + "-p")
    child_final = wait_for_status(sagemaker, child["TrainingJobName"], timeout=300)
    assert child_final["TrainingJobStatus"] == "Completed", child_final.get("FailureReason")
    assert child_final["Environment"]["MLHARBOR_RUNNER"] == "docker"
    where = json.loads(read_tar(s3, child_final["ModelArtifacts"]["S3ModelArtifacts"])["where.json"])
    assert where == {"in_container": True, "hostname": "algo-1"}
