"""IAM SimulatePrincipalPolicy at the edge (moto lacks it): real boto3, IAM's query protocol and XML shape."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from emulator.testing import InProcessHarbor

ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"


@pytest.fixture
def iam(inprocess: InProcessHarbor) -> Any:
    return inprocess.client("iam")


@pytest.fixture
def raw_iam(inprocess: InProcessHarbor) -> Any:
    return inprocess.client("iam", validate=False)


def test_every_action_is_allowed_for_a_role(iam: Any) -> None:
    answer = iam.simulate_principal_policy(PolicySourceArn=ROLE,
                                           ActionNames=["sagemaker:CreateTrainingJob", "s3:GetObject"])
    results = answer["EvaluationResults"]
    assert [(r["EvalActionName"], r["EvalResourceName"], r["EvalDecision"]) for r in results] == [
        ("sagemaker:CreateTrainingJob", "*", "allowed"), ("s3:GetObject", "*", "allowed")]
    assert answer["IsTruncated"] is False


def test_a_role_moto_holds_with_policies_is_allowed_too(iam: Any) -> None:
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    arn = iam.create_role(RoleName="sim-role", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    answer = iam.simulate_principal_policy(PolicySourceArn=arn, ActionNames=["iam:PassRole"])
    assert answer["EvaluationResults"][0]["EvalDecision"] == "allowed"


def test_each_action_is_evaluated_for_each_resource(iam: Any) -> None:
    answer = iam.simulate_principal_policy(
        PolicySourceArn="arn:aws:iam::123456789012:user/alice", ActionNames=["s3:GetObject"],
        ResourceArns=["arn:aws:s3:::a/x", "arn:aws:s3:::b/y"])
    assert [r["EvalResourceName"] for r in answer["EvaluationResults"]] == ["arn:aws:s3:::a/x", "arn:aws:s3:::b/y"]


def test_results_page_with_max_items_and_marker(iam: Any) -> None:
    actions = [f"s3:Action{n}" for n in range(5)]
    first = iam.simulate_principal_policy(PolicySourceArn=ROLE, ActionNames=actions, MaxItems=2)
    assert first["IsTruncated"] is True and len(first["EvaluationResults"]) == 2
    seen = [r["EvalActionName"] for r in first["EvaluationResults"]]
    marker = first["Marker"]
    while marker:
        page = iam.simulate_principal_policy(PolicySourceArn=ROLE, ActionNames=actions, MaxItems=2, Marker=marker)
        seen += [r["EvalActionName"] for r in page["EvaluationResults"]]
        marker = page.get("Marker")
    assert seen == actions


def test_a_principal_that_is_not_a_user_group_or_role_is_invalid_input(raw_iam: Any) -> None:
    with pytest.raises(ClientError) as caught:
        raw_iam.simulate_principal_policy(PolicySourceArn="arn:aws:s3:::not-a-principal-bucket",
                                          ActionNames=["s3:GetObject"])
    assert caught.value.response["Error"]["Code"] == "InvalidInput"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_missing_action_names_is_a_validation_error(raw_iam: Any) -> None:
    with pytest.raises(ClientError) as caught:
        raw_iam.simulate_principal_policy(PolicySourceArn=ROLE)
    error = caught.value.response["Error"]
    assert error["Code"] == "ValidationError"
    assert "actionNames" in error["Message"]


def test_an_action_without_its_service_is_invalid_input(raw_iam: Any) -> None:
    with pytest.raises(ClientError) as caught:
        raw_iam.simulate_principal_policy(PolicySourceArn=ROLE, ActionNames=["CreateTrainingJob"])
    assert caught.value.response["Error"]["Code"] == "InvalidInput"


def test_other_iam_calls_still_reach_moto(iam: Any) -> None:
    iam.create_user(UserName="sim-user")
    assert iam.get_user(UserName="sim-user")["User"]["UserName"] == "sim-user"


def test_sts_caller_identity_answers(inprocess: InProcessHarbor) -> None:
    identity = inprocess.client("sts").get_caller_identity()
    assert identity["Account"].isdigit() and identity["Arn"].startswith("arn:aws:")
