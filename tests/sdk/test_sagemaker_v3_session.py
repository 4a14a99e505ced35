"""sdk.sagemaker_v3's boto3 side (no SDK v3 needed): every client on the edge, the environment, the role."""

from __future__ import annotations

import os

from sdk.sagemaker_v3 import EXECUTION_ROLE_NAME, edge_session, execution_role, is_aws_host, use_edge_environment


def test_a_client_made_for_an_aws_host_by_name_goes_to_the_edge() -> None:
    session = edge_session("us-east-1", "http://127.0.0.1:1234")
    # what SDK v3's Session.account_id does
    sts = session.client("sts", region_name="us-east-1", endpoint_url="https://sts.us-east-1.amazonaws.com")
    assert sts.meta.endpoint_url == "http://127.0.0.1:1234"
    assert session.client("s3").meta.endpoint_url == "http://127.0.0.1:1234"
    # an endpoint that is not AWS's is the caller's choice and kept
    assert session.client("s3", endpoint_url="http://127.0.0.1:9").meta.endpoint_url == "http://127.0.0.1:9"


def test_aws_hosts_are_told_apart() -> None:
    assert is_aws_host("https://sts.us-east-1.amazonaws.com")
    assert is_aws_host("https://s3.cn-north-1.amazonaws.com.cn/")
    assert not is_aws_host("http://127.0.0.1:4600")
    assert not is_aws_host("https://amazonaws.com.example.org")


def test_the_environment_points_v3s_own_sessions_at_the_edge(monkeypatch) -> None:
    for name in ("AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_ACCESS_KEY_ID",
                 "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "")  # recorded, so what use_edge_environment sets is undone after the test
        monkeypatch.delenv(name)
    use_edge_environment(edge_session("eu-west-1", "http://127.0.0.1:4321"))
    assert os.environ["AWS_ENDPOINT_URL"] == "http://127.0.0.1:4321"
    assert os.environ["AWS_DEFAULT_REGION"] == "eu-west-1"
    assert os.environ["AWS_ACCESS_KEY_ID"] and os.environ["AWS_SECRET_ACCESS_KEY"]


def test_execution_role_is_made_once_and_trusts_sagemaker(harbor) -> None:
    class Holder:  # what execution_role reads from a v3 session
        boto_session = edge_session("us-east-1", harbor.endpoint)

    arn = execution_role(Holder())
    assert arn.endswith(f":role/{EXECUTION_ROLE_NAME}")
    assert execution_role(Holder()) == arn
    role = Holder.boto_session.client("iam").get_role(RoleName=EXECUTION_ROLE_NAME)["Role"]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "sagemaker.amazonaws.com"}
