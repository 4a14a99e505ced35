"""IAM SimulatePrincipalPolicy at the edge (moto lacks it): real boto3, IAM's query protocol and XML shape."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from emulator.testing import InProcessHarbor

TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}]}


@pytest.fixture
def iam(inprocess: InProcessHarbor) -> Any:
    return inprocess.client("iam")


@pytest.fixture
def role(iam: Any) -> str:
    """A role the embedded IAM holds (on a path, as console-made roles are), with no policy attached."""
    return iam.create_role(RoleName="SageMakerRole", Path="/service-role/",
                           AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]


@pytest.fixture
def raw_iam(inprocess: InProcessHarbor) -> Any:
    return inprocess.client("iam", validate=False)


def test_every_action_is_allowed_for_a_role(iam: Any, role: str) -> None:
    answer = iam.simulate_principal_policy(PolicySourceArn=role,
                                           ActionNames=["sagemaker:CreateTrainingJob", "s3:GetObject"])
    results = answer["EvaluationResults"]
    assert [(r["EvalActionName"], r["EvalResourceName"], r["EvalDecision"]) for r in results] == [
        ("sagemaker:CreateTrainingJob", "*", "allowed"), ("s3:GetObject", "*", "allowed")]
    assert answer["IsTruncated"] is False


def test_the_stored_policies_do_not_deny_what_mlharbor_serves(iam: Any, role: str) -> None:
    deny = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": "*"}]}
    iam.put_role_policy(RoleName="SageMakerRole", PolicyName="deny-s3", PolicyDocument=json.dumps(deny))
    answer = iam.simulate_principal_policy(PolicySourceArn=role, ActionNames=["s3:PutObject"])
    assert answer["EvaluationResults"][0]["EvalDecision"] == "allowed"  # the rule: mlharbor enforces no IAM


def test_a_principal_iam_does_not_hold_is_no_such_entity(raw_iam: Any) -> None:
    with pytest.raises(ClientError) as caught:
        raw_iam.simulate_principal_policy(PolicySourceArn="arn:aws:iam::123456789012:role/NoSuchRole",
                                          ActionNames=["s3:GetObject"])
    assert caught.value.response["Error"]["Code"] == "NoSuchEntity"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert "NoSuchRole" in caught.value.response["Error"]["Message"]


def test_each_action_is_evaluated_for_each_resource(iam: Any) -> None:
    iam.create_user(UserName="alice")
    answer = iam.simulate_principal_policy(
        PolicySourceArn="arn:aws:iam::123456789012:user/alice", ActionNames=["s3:GetObject"],
        ResourceArns=["arn:aws:s3:::a/x", "arn:aws:s3:::b/y"])
    assert [r["EvalResourceName"] for r in answer["EvaluationResults"]] == ["arn:aws:s3:::a/x", "arn:aws:s3:::b/y"]


def test_results_page_with_max_items_and_marker(iam: Any, role: str) -> None:
    actions = [f"s3:Action{n}" for n in range(5)]
    first = iam.simulate_principal_policy(PolicySourceArn=role, ActionNames=actions, MaxItems=2)
    assert first["IsTruncated"] is True and len(first["EvaluationResults"]) == 2
    seen = [r["EvalActionName"] for r in first["EvaluationResults"]]
    marker = first["Marker"]
    while marker:
        page = iam.simulate_principal_policy(PolicySourceArn=role, ActionNames=actions, MaxItems=2, Marker=marker)
        seen += [r["EvalActionName"] for r in page["EvaluationResults"]]
        marker = page.get("Marker")
    assert seen == actions


def test_a_principal_that_is_not_a_user_group_or_role_is_invalid_input(raw_iam: Any) -> None:
    with pytest.raises(ClientError) as caught:
        raw_iam.simulate_principal_policy(PolicySourceArn="arn:aws:s3:::not-a-principal-bucket",
                                          ActionNames=["s3:GetObject"])
    assert caught.value.response["Error"]["Code"] == "InvalidInput"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_the_paginator_sdk_v3_uses_walks_every_page(iam: Any, role: str) -> None:
    paginator = iam.get_paginator("simulate_principal_policy")
    pages = list(paginator.paginate(PolicySourceArn=role, ActionNames=[f"s3:A{n}" for n in range(3)],
                                    PaginationConfig={"PageSize": 2}))
    assert [len(page["EvaluationResults"]) for page in pages] == [2, 1]


def test_missing_action_names_is_a_validation_error(raw_iam: Any, role: str) -> None:
    with pytest.raises(ClientError) as caught:
        raw_iam.simulate_principal_policy(PolicySourceArn=role)
    error = caught.value.response["Error"]
    assert error["Code"] == "ValidationError"
    assert "actionNames" in error["Message"]


def test_an_action_without_its_service_is_invalid_input(raw_iam: Any, role: str) -> None:
    with pytest.raises(ClientError) as caught:
        raw_iam.simulate_principal_policy(PolicySourceArn=role, ActionNames=["CreateTrainingJob"])
    assert caught.value.response["Error"]["Code"] == "InvalidInput"


def test_other_iam_calls_still_reach_moto(iam: Any) -> None:
    iam.create_user(UserName="sim-user")
    assert iam.get_user(UserName="sim-user")["User"]["UserName"] == "sim-user"


def test_sts_caller_identity_answers(inprocess: InProcessHarbor) -> None:
    identity = inprocess.client("sts").get_caller_identity()
    assert identity["Account"].isdigit() and identity["Arn"].startswith("arn:aws:")
