"""sdk.client / sdk.session reach the running edge without further configuration."""

from __future__ import annotations

import sdk


def test_session_clients_and_resources_default_to_the_edge(harbor, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", harbor.endpoint)
    session = sdk.session()
    assert session.client("s3").meta.endpoint_url == harbor.endpoint
    bucket = session.resource("s3").Bucket("sdk-session-bucket")
    bucket.create()
    bucket.put_object(Key="k", Body=b"v")
    assert sdk.client("s3").get_object(Bucket="sdk-session-bucket", Key="k")["Body"].read() == b"v"
    assert sdk.client("sagemaker").list_training_jobs(MaxResults=1)["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_endpoint_order_argument_then_environment_then_default(monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    assert sdk.endpoint_url() == "http://127.0.0.1:4600"
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9999")
    assert sdk.endpoint_url() == "http://127.0.0.1:9999"
    assert sdk.endpoint_url("http://127.0.0.1:1") == "http://127.0.0.1:1"
