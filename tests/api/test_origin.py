"""Cross-origin and DNS-rebinding requests never reach an API: the edge's Host and Origin gate.

Each test speaks raw HTTP as a browser would (a preflight, a cross-origin POST, a rebinding
``Host``), then checks that the answer is refused in a shape botocore parses and that nothing ran;
against the edge in process (its gate is the one ``mlharbor up`` serves behind).
"""

from __future__ import annotations

import http.client
import json
import urllib.parse
from pathlib import Path

import botocore.parsers
import botocore.session
import pytest
from botocore.exceptions import ClientError

from emulator.testing import ROLE, FakeRunner, InProcessHarbor, create_app, unique_name

EVIL = "http://evil.example"
OK = "http://ok.example"


def raw(harbor: InProcessHarbor, method: str, path: str = "/", body: bytes = b"",
        headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """One request with exactly these headers (``Host`` too, when given)."""
    parts = urllib.parse.urlsplit(harbor.endpoint)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    headers = dict(headers or {})
    connection.putrequest(method, path, skip_host="Host" in headers, skip_accept_encoding=True)
    for name, value in {**headers, "Content-Length": str(len(body))}.items():
        connection.putheader(name, value)
    connection.endheaders(body)
    response = connection.getresponse()
    answer = response.status, {name.lower(): value for name, value in response.getheaders()}, response.read()
    connection.close()
    return answer


def create_job_body(marker: Path) -> bytes:
    """A CreateTrainingJob that would run a shell command as the server's user."""
    return json.dumps({
        "TrainingJobName": unique_name("csrf"),
        "AlgorithmSpecification": {"TrainingImage": "mlharbor/pytorch", "TrainingInputMode": "File",
                                   "ContainerEntrypoint": ["/bin/sh", "-c", f"touch {marker}"]},
        "RoleArn": ROLE,
        "OutputDataConfig": {"S3OutputPath": "s3://nowhere/output"},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
        "StoppingCondition": {"MaxRuntimeInSeconds": 60},
    }).encode()


def botocore_error(service: str, operation: str, status: int, headers: dict[str, str], body: bytes) -> dict:
    """What botocore's own response parser makes of an answer (as boto3 would raise it)."""
    model = botocore.session.get_session().get_service_model(service)
    parser = botocore.parsers.create_parser(model.protocol)
    return parser.parse({"status_code": status, "headers": headers, "body": body},
                        model.operation_model(operation).output_shape)


def json_headers(target: str, **extra: str) -> dict[str, str]:
    return {"X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.1", **extra}


def test_preflight_from_another_origin_is_not_granted(harbor):
    status, headers, _ = raw(harbor, "OPTIONS", "/", headers={
        "Origin": EVIL, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "x-amz-target,content-type,authorization"})
    assert "access-control-allow-origin" not in headers
    assert "access-control-allow-headers" not in headers
    assert status == 403


def test_preflight_without_origin_is_answered_by_the_edge_not_a_service(harbor):
    status, headers, _ = raw(harbor, "OPTIONS", "/some-bucket/key")
    assert status == 200
    assert not [name for name in headers if name.startswith("access-control-")]


def test_cross_origin_create_training_job_is_refused_and_runs_nothing(harbor, sagemaker, tmp_path,
                                                                      fake_runner: FakeRunner):
    marker = tmp_path / "pwned"
    body = create_job_body(marker)
    name = json.loads(body)["TrainingJobName"]
    status, headers, answer = raw(harbor, "POST", "/", body, json_headers("SageMaker.CreateTrainingJob",
                                                                          Origin=EVIL))
    assert status == 403
    assert json.loads(answer)["__type"] == "AccessDeniedException"
    assert headers["x-amzn-errortype"] == "AccessDeniedException"
    assert "access-control-allow-origin" not in headers
    with pytest.raises(ClientError) as caught:
        sagemaker.describe_training_job(TrainingJobName=name)
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert name not in [request.job_name for request in fake_runner.requests]  # no runner was handed it
    assert not marker.exists()


@pytest.mark.parametrize("headers", [
    {"Origin": EVIL, "Content-Type": "text/plain"},  # a <form enctype=text/plain> or fetch(no-cors)
    {"Origin": "null", "Content-Type": "application/x-www-form-urlencoded"},  # a sandboxed page
    {"Sec-Fetch-Site": "cross-site", "Content-Type": "text/plain"},  # a browser that left Origin out
], ids=["form-post", "null-origin", "sec-fetch-site"])
def test_simple_cross_site_requests_reach_no_api(harbor, headers):
    status, _, answer = raw(harbor, "POST", "/", b'{"x": 1}', headers)
    assert status == 403
    assert b"<Code>AccessDenied</Code>" in answer


@pytest.mark.parametrize("host", ["attacker.example", "attacker.example:4600", "127.0.0.1.attacker.example",
                                  "localhost.attacker.example:80"])
def test_a_foreign_host_is_refused(harbor, host):
    status, headers, answer = raw(harbor, "POST", "/", b"{}", json_headers("SageMaker.ListTrainingJobs", Host=host))
    assert status == 403
    assert json.loads(answer)["__type"] == "AccessDeniedException"
    status, _, answer = raw(harbor, "GET", "/", headers={"Host": host})  # S3 ListBuckets
    assert status == 403
    assert b"<Code>AccessDenied</Code>" in answer


def test_a_foreign_host_gets_an_error_botocore_parses(harbor):
    status, headers, answer = raw(harbor, "POST", "/", b"{}", json_headers("SageMaker.ListTrainingJobs",
                                                                           Host="attacker.example"))
    parsed = botocore_error("sagemaker", "ListTrainingJobs", status, headers, answer)
    assert parsed["Error"]["Code"] == "AccessDeniedException"
    assert "DNS rebinding" in parsed["Error"]["Message"]
    status, headers, answer = raw(harbor, "GET", "/", headers={"Host": "attacker.example"})
    parsed = botocore_error("s3", "ListBuckets", status, headers, answer)
    assert parsed["Error"]["Code"] == "AccessDenied"


@pytest.mark.parametrize("name", ["localhost", "127.0.0.1", "LOCALHOST.", "[::1]"])
def test_loopback_names_with_or_without_the_port_are_answered(harbor, name):
    port = urllib.parse.urlsplit(harbor.endpoint).port
    for host in (name, f"{name}:{port}"):
        status, _, answer = raw(harbor, "POST", "/", b"{}", json_headers("SageMaker.ListTrainingJobs", Host=host))
        assert status == 200, answer
        assert "TrainingJobSummaries" in json.loads(answer)


def test_the_servers_own_origin_is_served(harbor):
    own = harbor.endpoint  # what the browser sends for a page the edge itself serves
    status, headers, _ = raw(harbor, "POST", "/", b"{}", json_headers("SageMaker.ListTrainingJobs", Origin=own))
    assert status == 200
    assert "access-control-allow-origin" not in headers  # same-origin needs no grant


def test_boto3_keeps_working(sagemaker, s3, bucket):
    assert "TrainingJobSummaries" in sagemaker.list_training_jobs()
    s3.put_object(Bucket=bucket, Key="k", Body=b"v")
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"v"


@pytest.fixture(scope="module")
def cors_harbor(tmp_path_factory: pytest.TempPathFactory):
    running = create_app({"data_dir": str(tmp_path_factory.mktemp("cors")),
                          "cors_origin": f"{OK}, http://also.example:8080"})
    yield running
    running.stop()


def test_a_configured_origin_gets_cors_grants(cors_harbor):
    status, headers, _ = raw(cors_harbor, "OPTIONS", "/", headers={
        "Origin": OK, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "x-amz-target,content-type"})
    assert status == 200
    assert headers["access-control-allow-origin"] == OK
    assert headers["access-control-allow-headers"] == "x-amz-target,content-type"
    assert "POST" in headers["access-control-allow-methods"]
    status, headers, answer = raw(cors_harbor, "POST", "/", b"{}",
                                  json_headers("SageMaker.ListTrainingJobs", Origin=OK))
    assert status == 200
    assert headers["access-control-allow-origin"] == OK
    status, headers, _ = raw(cors_harbor, "POST", "/", b"{}",
                             json_headers("SageMaker.ListTrainingJobs", Origin="http://also.example:8080"))
    assert status == 200


def test_only_the_configured_origins_are_granted(cors_harbor):
    status, headers, _ = raw(cors_harbor, "OPTIONS", "/", headers={"Origin": EVIL,
                                                                    "Access-Control-Request-Method": "PUT"})
    assert status == 403
    assert "access-control-allow-origin" not in headers
    status, _, _ = raw(cors_harbor, "POST", "/", b"{}", json_headers("SageMaker.ListTrainingJobs", Origin=EVIL))
    assert status == 403


def test_a_bucket_cors_rule_for_any_origin_grants_nothing_more(cors_harbor):
    s3 = cors_harbor.client("s3")
    name = unique_name("cors")
    s3.create_bucket(Bucket=name)
    s3.put_bucket_cors(Bucket=name, CORSConfiguration={"CORSRules": [
        {"AllowedOrigins": ["*"], "AllowedMethods": ["GET", "PUT"], "AllowedHeaders": ["*"]}]})
    s3.put_object(Bucket=name, Key="k", Body=b"v", ACL="public-read")
    status, headers, _ = raw(cors_harbor, "GET", f"/{name}/k", headers={"Origin": OK})
    assert status == 200
    assert headers["access-control-allow-origin"] == OK  # ours, not moto's "*"
    status, headers, _ = raw(cors_harbor, "GET", f"/{name}/k", headers={"Origin": EVIL})
    assert status == 403
    assert "access-control-allow-origin" not in headers
