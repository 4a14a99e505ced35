"""The nine causes of HTTP 500 found by fuzzing (issue 11, item 5), each answered as AWS does.

Bodies are sent as raw bytes (botocore would not build them); every answer must be a 4xx
that botocore's JSON parser reads as the expected error code, and a job created with a
``null`` member must not fail later with a Python exception as its reason.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from emulator.core.awsjson import MAX_BODY_BYTES, load_service_model
from emulator.testing import ROLE, training_request, unique_name, wait_for_status
from tests.fuzz.wire import error_code, post, post_sagemaker

MODEL = load_service_model("sagemaker")
RUNTIME = load_service_model("sagemaker-runtime")
ARN = "arn:aws:sagemaker:us-east-1:123456789012:training-job/x"


def _token(position: str) -> str:
    return base64.urlsafe_b64encode(f'{{"position": {position}, "query": "0"}}'.encode()).decode()


def _job(**overrides: Any) -> dict[str, Any]:
    return training_request("bucket", **overrides)


def _algorithm(**extra: Any) -> dict[str, Any]:
    return {"TrainingImage": "mlharbor/pytorch", "TrainingInputMode": "File", **extra}


CASES: list[tuple[str, str, str, str]] = [
    # (case, operation, body, error code)
    ("null list item", "AddTags", json.dumps({"ResourceArn": ARN, "Tags": [None]}), "ValidationException"),
    ("null member of a list item", "AddTags", json.dumps({"ResourceArn": ARN, "Tags": [{"Key": "k", "Value": None}]}),
     "ValidationException"),
    ("null sort member", "ListTrainingJobs", '{"SortBy": null, "SortOrder": null, "MaxResults": null}', ""),
    ("unparseable timestamp", "ListTrainingJobs", '{"CreationTimeAfter": "yesterday"}', "SerializationException"),
    ("timestamp past a double", "ListProcessingJobs", '{"LastModifiedTimeBefore": 1e400}', "SerializationException"),
    ("token position 1e400", "ListTrainingJobs", json.dumps({"NextToken": _token("1e400")}), "ValidationException"),
    ("token position true", "ListModels", json.dumps({"NextToken": _token("true")}), "ValidationException"),
    ("token nested deep", "ListEndpoints",
     json.dumps({"NextToken": base64.urlsafe_b64encode(b"[" * 5000).decode()}), "ValidationException"),
    ("JSON nested 100,000 deep", "ListTrainingJobs", "[" * 100_000 + "]" * 100_000, "SerializationException"),
    ("JSON nested 200 deep in a member", "ListTrainingJobs", '{"NameContains": ' + "[" * 200 + "]" * 200 + "}",
     "SerializationException"),
    ("integer of 5,000 digits", "ListTrainingJobs", '{"MaxResults": ' + "9" * 5000 + "}", "SerializationException"),
    ("integer past Java's int", "ListTrainingJobs", '{"MaxResults": 4294967296}', "SerializationException"),
    ("NaN", "ListTrainingJobs", '{"MaxResults": NaN}', "SerializationException"),
    ("NUL in Environment", "CreateTrainingJob", json.dumps(_job(Environment={"A": "x\u0000y"})), "ValidationException"),
    ("lone surrogate in HyperParameters", "CreateTrainingJob", json.dumps(_job(HyperParameters={"a": "\ud800"})),
     "ValidationException"),
    ("null in Environment", "CreateTrainingJob", json.dumps(_job(Environment={"A": None})), "ValidationException"),
    ("null in ContainerEntrypoint", "CreateTrainingJob",
     json.dumps(_job(AlgorithmSpecification=_algorithm(ContainerEntrypoint=["python3", None]))), "ValidationException"),
    ("NUL in ContainerEntrypoint", "CreateTrainingJob",
     json.dumps(_job(AlgorithmSpecification=_algorithm(ContainerEntrypoint=["python3\u0000"]))), "ValidationException"),
    ("NUL in a processing Environment", "CreateProcessingJob", json.dumps({
        "ProcessingJobName": "p", "RoleArn": ROLE, "AppSpecification": {"ImageUri": "mlharbor/graph-etl"},
        "ProcessingResources": {"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large",
                                                  "VolumeSizeInGB": 1}},
        "Environment": {"A": "\u0000"}}), "ValidationException"),
    ("null required MaxRuntimeInSeconds of a processing job", "CreateProcessingJob", json.dumps({
        "ProcessingJobName": "p", "RoleArn": ROLE, "StoppingCondition": {"MaxRuntimeInSeconds": None},
        "AppSpecification": {"ImageUri": "mlharbor/graph-etl"},
        "ProcessingResources": {"ClusterConfig": {"InstanceCount": None, "InstanceType": "ml.m5.large",
                                                  "VolumeSizeInGB": 1}}}), "ValidationException"),
    ("lone surrogate in a model's Environment", "CreateModel", json.dumps({
        "ModelName": "m", "ExecutionRoleArn": ROLE,
        "PrimaryContainer": {"Image": "mlharbor/pytorch", "Environment": {"A": "\udfff"}}}), "ValidationException"),
]


@pytest.mark.parametrize(("operation", "body", "code"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_bad_input_gets_an_aws_error_not_a_500(harbor, operation, body, code):
    response = post_sagemaker(harbor.endpoint, operation, body)
    if not code:  # null optional members read as absent: the call succeeds
        assert response.status == 200, response.body
        return
    assert 400 <= response.status < 500, response.body
    assert error_code(response, MODEL.operation_model(operation), "json") == code


def test_null_members_name_the_member_path(harbor):
    body = json.dumps(_job(Environment={"A": None}, AlgorithmSpecification=_algorithm(ContainerEntrypoint=[None])))
    message = json.loads(post_sagemaker(harbor.endpoint, "CreateTrainingJob", body).body)["message"]
    assert message.startswith("2 validation errors detected: ")
    assert "Value null at 'algorithmSpecification.containerEntrypoint.1.member' failed to satisfy constraint: " \
           "Member must not be null" in message
    assert "at 'environment' failed to satisfy constraint: Map value must satisfy constraint: " \
           "[Member must not be null]" in message


@pytest.mark.parametrize("nulled", ["InstanceCount", "MaxRuntimeInSeconds"])
def test_a_null_optional_number_is_absent_and_the_job_does_not_fail_with_a_python_error(harbor, sagemaker, nulled,
                                                                                       fake_runner):
    fake_runner.default_outcome = "Completed"
    request = _job(TrainingJobName=unique_name("null"))
    if nulled == "InstanceCount":
        request["ResourceConfig"]["InstanceCount"] = None
    else:
        request["StoppingCondition"]["MaxRuntimeInSeconds"] = None
    response = post_sagemaker(harbor.endpoint, "CreateTrainingJob", json.dumps(request))
    assert response.status == 200, response.body
    final = wait_for_status(sagemaker, request["TrainingJobName"])
    # the runner was handed whole numbers (the defaults), and the job ran to its end inside mlharbor
    assert final["TrainingJobStatus"] == "Completed", final.get("FailureReason")
    run = next(r for r in fake_runner.requests if r.job_name == request["TrainingJobName"])
    assert isinstance(run.instance_count, int) and run.instance_count >= 1
    assert isinstance(run.max_runtime_seconds, int) and run.max_runtime_seconds >= 1
    assert "InstanceCount" not in final["ResourceConfig"] or final["ResourceConfig"]["InstanceCount"] is not None


def test_a_body_past_the_limit_is_refused_unread(harbor):
    body = b'{"NameContains": "' + b"a" * MAX_BODY_BYTES + b'"}'
    response = post_sagemaker(harbor.endpoint, "ListTrainingJobs", body)
    assert response.status == 413
    assert error_code(response, MODEL.operation_model("ListTrainingJobs"), "json") == "ValidationException"
    assert harbor.internal("/health")  # and the server still answers


def test_an_invoke_payload_past_6_mb_is_the_runtimes_validation_error(harbor):
    response = post(harbor.endpoint, "/endpoints/nowhere/invocations", b"x" * (6 * 1024 * 1024 + 1),
                    {"Content-Type": "application/json"})
    assert response.status == 400
    assert error_code(response, RUNTIME.operation_model("InvokeEndpoint"), "rest-json") == "ValidationError"
