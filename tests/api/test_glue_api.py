"""The Glue job API in process: routing (our job operations beside moto's catalog), wire shapes and
validation against botocore's ``glue`` model; no run process (runs are tested end to end)."""

from __future__ import annotations

import json
import urllib.request

import pytest
from botocore.exceptions import ClientError

SCRIPT = "s3://bucket/job.py"


@pytest.fixture
def glue(harbor):
    return harbor.client("glue")


@pytest.fixture
def raw_glue(harbor):
    return harbor.client("glue", validate=False)


def post(harbor, target: str, body: bytes) -> tuple[int, dict]:
    request = urllib.request.Request(harbor.endpoint + "/", data=body, method="POST", headers={
        "X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.1",
        "Authorization": "AWS4-HMAC-SHA256 Credential=k/20260101/us-east-1/glue/aws4_request"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_job_operations_are_ours_and_the_catalog_is_moto(harbor, glue):
    glue.create_job(Name="j", Role="r", Command={"Name": "pythonshell", "ScriptLocation": SCRIPT})
    response = glue.get_job(JobName="j")
    assert response["ResponseMetadata"]["HTTPHeaders"]["server"] == "mlharbor"
    assert response["Job"]["MaxCapacity"] == 0.0625
    catalog = glue.create_database(DatabaseInput={"Name": "d"})
    assert catalog["ResponseMetadata"]["HTTPHeaders"].get("server") != "mlharbor"
    assert "StartJobRun" in json.loads(harbor.internal("/health"))["glue_operations"]


def test_bad_bodies_answer_in_the_aws_shape(harbor):
    status, body = post(harbor, "AWSGlue.CreateJob", b"{not json")
    assert (status, body["__type"]) == (400, "SerializationException")
    status, body = post(harbor, "AWSGlue.CreateJob", json.dumps({"Name": "x"}).encode())
    assert status == 400 and body["__type"] == "ValidationException" and "role" in body["message"].lower()
    status, body = post(harbor, "AWSGlue.GetJobRun", json.dumps({"JobName": "nope", "RunId": "jr_1"}).encode())
    assert (status, body["__type"]) == (400, "EntityNotFoundException")


def test_run_members_are_validated_before_anything_runs(glue, raw_glue):
    glue.create_job(Name="j", Role="r", Command={"Name": "glueetl", "ScriptLocation": SCRIPT})
    for members, code in [({"WorkerType": "G.3X", "NumberOfWorkers": 2}, "ValidationException"),
                          ({"Timeout": 0}, "ValidationException"),
                          ({"Arguments": {"--job-bookmark-option": "sometimes"}}, "InvalidInputException"),
                          ({"Arguments": {"--mlharbor-spark-master": "yarn"}}, "InvalidInputException"),
                          ({"JobRunId": "jr_missing"}, "EntityNotFoundException")]:
        with pytest.raises(ClientError) as refused:
            raw_glue.start_job_run(JobName="j", **members)
        assert refused.value.response["Error"]["Code"] == code, members
    assert glue.get_job_runs(JobName="j")["JobRuns"] == []
