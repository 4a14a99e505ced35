"""The IAM and STS calls SDK v3 makes answer as AWS does for an allowed role (no HTML 500 anywhere)."""

from __future__ import annotations

from typing import Any

import pytest


def test_v3_validates_the_execution_role_for_training_and_serving(session: Any, role: str) -> None:
    from sagemaker.core.helper.iam_role_resolver import resolve_and_validate_role

    # GetRole, the trust policy and SimulatePrincipalPolicy (paged) must all say yes
    for role_type in ("training", "serving"):
        assert resolve_and_validate_role(provided_role=role, role_type=role_type, sagemaker_session=session) == role


def test_a_role_iam_does_not_hold_fails_validation_as_on_aws(session: Any) -> None:
    from sagemaker.core.helper.iam_role_resolver import RoleValidationError, resolve_and_validate_role

    with pytest.raises(RoleValidationError):
        resolve_and_validate_role(provided_role="arn:aws:iam::123456789012:role/NoSuchRole", role_type="training",
                                  sagemaker_session=session)


def test_boto3_simulate_principal_policy_says_allowed(session: Any, role: str) -> None:
    iam = session.boto_session.client("iam")
    answer = iam.simulate_principal_policy(PolicySourceArn=role, ActionNames=["s3:PutObject"],
                                           ResourceArns=[f"arn:aws:s3:::{session.default_bucket()}/*"])
    assert [r["EvalDecision"] for r in answer["EvaluationResults"]] == ["allowed"]


def test_the_session_asks_sts_on_the_edge_for_the_account(session: Any) -> None:
    # v3 names AWS's STS host itself (Session.account_id): the edge session must still answer it
    assert session.account_id() == "123456789012"


def test_sagemaker_validate_role_false_lets_any_role_arn_through(session: Any,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from sagemaker.core.helper.iam_role_resolver import resolve_and_validate_role

    monkeypatch.setenv("SAGEMAKER_VALIDATE_ROLE", "false")  # v3's own switch, the README's other way
    arn = "arn:aws:iam::123456789012:role/NeverCreated"
    assert resolve_and_validate_role(provided_role=arn, role_type="training", sagemaker_session=session) == arn
