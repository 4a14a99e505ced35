"""``--auth sigv4``: every request on the edge must be signed by a configured access key.

Real boto3 signs; the server recomputes the signature with botocore's signer. Wrong secrets,
unknown keys, stale dates and unsigned requests are refused in each service's own error shape,
and the server's own clients (log shipping, job data transfers, the graph loader) and the jobs it
starts sign with a configured key.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import boto3
import botocore.auth
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.conftest import REPO, RunningHarbor, script_job, start_harbor, unique_name, wait_for_status

KEYS = "testing:testing,second:second-secret"


@pytest.fixture(scope="module")
def auth_harbor(tmp_path_factory: pytest.TempPathFactory):
    running = start_harbor(tmp_path_factory.mktemp("auth"), "--auth", "sigv4", "--access-keys", KEYS,
                           "--stop-grace-seconds", "3")
    yield running
    running.kill()


def client(harbor: RunningHarbor, service: str, key: str = "testing", secret: str = "testing") -> Any:
    return boto3.client(service, endpoint_url=harbor.endpoint, region_name="us-east-1", aws_access_key_id=key,
                        aws_secret_access_key=secret, config=Config(retries={"max_attempts": 1}))


def error_of(call: Any) -> tuple[str, int]:
    with pytest.raises(ClientError) as caught:
        call()
    return caught.value.response["Error"]["Code"], caught.value.response["ResponseMetadata"]["HTTPStatusCode"]


def raw(url: str, data: bytes | None = None, headers: dict[str, str] | None = None,
        method: str | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@pytest.mark.parametrize("key,secret", [("testing", "testing"), ("second", "second-secret")])
def test_correctly_signed_clients_work(auth_harbor, key, secret):
    assert "TrainingJobSummaries" in client(auth_harbor, "sagemaker", key, secret).list_training_jobs()
    s3 = client(auth_harbor, "s3", key, secret)
    bucket = unique_name("auth")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="dir/a b+c.txt", Body=b"payload")
    assert s3.get_object(Bucket=bucket, Key="dir/a b+c.txt")["Body"].read() == b"payload"
    logs = client(auth_harbor, "logs", key, secret)
    group = "/auth/" + unique_name()
    logs.create_log_group(logGroupName=group)
    assert logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]["logGroupName"] == group


def test_a_multipart_upload_is_verified_part_by_part(auth_harbor):
    s3 = client(auth_harbor, "s3")
    bucket = unique_name("auth")
    s3.create_bucket(Bucket=bucket)
    body = bytes(range(256)) * (9 * 4096)  # 9 MiB: boto3 uploads it in parts
    s3.upload_fileobj(__import__("io").BytesIO(body), bucket, "big")
    assert s3.get_object(Bucket=bucket, Key="big")["Body"].read() == body


def test_a_wrong_secret_is_refused_in_each_services_shape(auth_harbor):
    sagemaker = client(auth_harbor, "sagemaker", secret="wrong")
    assert error_of(sagemaker.list_training_jobs) == ("InvalidSignatureException", 403)
    s3 = client(auth_harbor, "s3", secret="wrong")
    assert error_of(s3.list_buckets) == ("SignatureDoesNotMatch", 403)
    logs = client(auth_harbor, "logs", secret="wrong")
    assert error_of(logs.describe_log_groups) == ("InvalidSignatureException", 403)
    sts = client(auth_harbor, "sts", secret="wrong")
    assert error_of(sts.get_caller_identity) == ("SignatureDoesNotMatch", 403)


def test_an_unknown_key_is_refused_in_each_services_shape(auth_harbor):
    assert error_of(client(auth_harbor, "sagemaker", "nobody", "x").list_training_jobs) == \
        ("UnrecognizedClientException", 403)
    assert error_of(client(auth_harbor, "s3", "nobody", "x").list_buckets) == ("InvalidAccessKeyId", 403)
    assert error_of(client(auth_harbor, "logs", "nobody", "x").describe_log_groups) == \
        ("UnrecognizedClientException", 403)
    assert error_of(client(auth_harbor, "iam", "nobody", "x").list_roles) == ("InvalidClientTokenId", 403)


def test_a_stale_signature_is_refused(auth_harbor, monkeypatch):
    twenty_minutes_ago = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(minutes=20)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda *_, **__: twenty_minutes_ago)
    code, status = error_of(client(auth_harbor, "sagemaker").list_training_jobs)
    assert (code, status) == ("InvalidSignatureException", 403)
    assert error_of(client(auth_harbor, "s3").list_buckets) == ("RequestTimeTooSkewed", 403)


def test_a_tampered_body_is_refused(auth_harbor):
    sagemaker = client(auth_harbor, "sagemaker")

    def tamper(request: Any, **_: Any) -> None:
        request.body = request.body.replace(b"}", b', "MaxResults": 1}') if request.body else request.body
        request.headers["Content-Length"] = str(len(request.body))

    sagemaker.meta.events.register("before-send.sagemaker.ListTrainingJobs", tamper)
    assert error_of(sagemaker.list_training_jobs) == ("InvalidSignatureException", 403)


def test_unsigned_requests_are_refused(auth_harbor):
    status, headers, body = raw(auth_harbor.endpoint + "/", b"{}", {
        "X-Amz-Target": "SageMaker.ListTrainingJobs", "Content-Type": "application/x-amz-json-1.1"})
    assert status == 403
    assert json.loads(body)["__type"] == "MissingAuthenticationTokenException"
    status, _, body = raw(auth_harbor.endpoint + "/")  # S3 ListBuckets
    assert status == 403
    assert b"<Code>AccessDenied</Code>" in body
    status, _, body = raw(auth_harbor.endpoint + "/_mlharbor/artifacts")
    assert status == 403
    status, _, body = raw(auth_harbor.endpoint + "/endpoints/x/invocations", b"{}")
    assert status == 403
    status, _, _ = raw(auth_harbor.endpoint + "/_mlharbor/health")  # the liveness probe stays open
    assert status == 200


def test_presigned_urls_work_and_are_verified(auth_harbor):
    s3 = client(auth_harbor, "s3")
    bucket = unique_name("auth")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="shared file", Body=b"shared")
    v4 = boto3.client("s3", endpoint_url=auth_harbor.endpoint, region_name="us-east-1",
                      aws_access_key_id="testing", aws_secret_access_key="testing",
                      config=Config(signature_version="s3v4"))
    for signer in (s3, v4):  # boto3's S3 default presigns with SigV2 query auth
        url = signer.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "shared file"})
        assert raw(url)[2] == b"shared"
        status, _, body = raw(url.replace("shared%20file", "other"))
        assert status == 403
        assert b"<Code>SignatureDoesNotMatch</Code>" in body
    wrong = boto3.client("s3", endpoint_url=auth_harbor.endpoint, region_name="us-east-1",
                         aws_access_key_id="testing", aws_secret_access_key="wrong")
    status, _, body = raw(wrong.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "shared file"}))
    assert status == 403


def test_jobs_and_the_servers_own_clients_sign_with_a_configured_key(auth_harbor):
    s3 = client(auth_harbor, "s3")
    sagemaker = client(auth_harbor, "sagemaker")
    bucket = unique_name("auth")
    s3.create_bucket(Bucket=bucket)
    source = (
        "import os, boto3\n"
        "s3 = boto3.client('s3', endpoint_url=os.environ['AWS_ENDPOINT_URL'])\n"
        f"s3.put_object(Bucket='{bucket}', Key='from-job.txt', Body=b'written by the job')\n"
        "print('job wrote its object', flush=True)\n"
        "open(os.path.join(os.environ['SM_MODEL_DIR'], 'model.txt'), 'w').write('m')\n"
    )
    request = script_job(s3, bucket, source)
    sagemaker.create_training_job(**request)
    description = wait_for_status(sagemaker, request["TrainingJobName"])
    assert description["TrainingJobStatus"] == "Completed", description.get("FailureReason")
    # the job's own boto3 call, the runner's code download and model upload, all signed
    assert s3.get_object(Bucket=bucket, Key="from-job.txt")["Body"].read() == b"written by the job"
    assert s3.head_object(Bucket=bucket, Key=f"output/{request['TrainingJobName']}/output/model.tar.gz")
    # the control plane's log shipper
    logs = client(auth_harbor, "logs")
    deadline = time.monotonic() + 60
    lines: list[str] = []
    while time.monotonic() < deadline and "job wrote its object" not in lines:
        streams = logs.describe_log_streams(logGroupName="/aws/sagemaker/TrainingJobs",
                                            logStreamNamePrefix=request["TrainingJobName"])["logStreams"]
        lines = [event["message"] for stream in streams for event in logs.get_log_events(
            logGroupName="/aws/sagemaker/TrainingJobs", logStreamName=stream["logStreamName"],
            startFromHead=True)["events"]]
        time.sleep(0.5)
    assert "job wrote its object" in lines


def test_the_graph_loader_reads_s3_with_a_configured_key(auth_harbor):
    s3 = client(auth_harbor, "s3")
    bucket = unique_name("auth")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="load/v.csv", Body=b"~id,~label,name:String\nv1,person,ann\n")
    neptune = boto3.client("neptunedata", endpoint_url=auth_harbor.graph, region_name="us-east-1",
                           aws_access_key_id="testing", aws_secret_access_key="testing")
    load_id = neptune.start_loader_job(source=f"s3://{bucket}/load/", format="csv", s3BucketRegion="us-east-1",
                                       iamRoleArn="arn:aws:iam::123456789012:role/NeptuneLoadFromS3",
                                       )["payload"]["loadId"]
    deadline = time.monotonic() + 60
    while True:
        status = neptune.get_loader_job_status(loadId=load_id)["payload"]["overallStatus"]["status"]
        if status not in ("LOAD_NOT_STARTED", "LOAD_IN_QUEUE", "LOAD_IN_PROGRESS") or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert status == "LOAD_COMPLETED"


def run_up(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "emulator.cli", "up", "--port", "0", "--graph-port", "0",
                           "--data-dir", str(data_dir), *args], cwd=REPO, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("host", ["0.0.0.0", "non-loopback"])
def test_binding_a_non_loopback_host_without_auth_is_refused_at_start(tmp_path, host):
    if host == "non-loopback":
        import psutil

        candidates = [address.address for addresses in psutil.net_if_addrs().values() for address in addresses
                      if address.family.name == "AF_INET" and not address.address.startswith("127.")]
        if not candidates:
            pytest.skip("this machine has no non-loopback IPv4 address")
        host = candidates[0]
    finished = run_up(tmp_path, "--host", host)
    assert finished.returncode != 0
    assert f"refusing to bind '{host}' without authentication" in finished.stderr
    assert "--auth sigv4" in finished.stderr
    assert not (tmp_path / "server.json").exists()


def test_sigv4_without_keys_is_refused_at_start(tmp_path):
    finished = run_up(tmp_path, "--auth", "sigv4")
    assert finished.returncode != 0
    assert "needs at least one access key" in finished.stderr


def test_cli_commands_sign_mlharbors_own_api(auth_harbor):
    def artifacts_list(secret: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": secret}
        return subprocess.run([sys.executable, "-m", "emulator.cli", "artifacts", "list", "--endpoint",
                               auth_harbor.endpoint], cwd=REPO, env=env, capture_output=True, text=True, timeout=60)

    assert artifacts_list("testing").returncode == 0
    refused = artifacts_list("wrong")
    assert refused.returncode == 1
    assert "InvalidSignatureException" in refused.stderr
