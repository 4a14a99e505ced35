"""One URL for every AWS API: our SageMaker beside embedded moto's S3, Logs and CloudWatch."""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request
from urllib.parse import urlsplit

import psutil
import pytest
from botocore.exceptions import ClientError


def test_health_lists_what_is_served(harbor):
    with urllib.request.urlopen(harbor.endpoint + "/_mlharbor/health") as response:
        assert response.status == 200
        facts = json.loads(response.read())
    assert facts["status"] == "ready"
    assert "CreateTrainingJob" in facts["sagemaker_operations"]


def non_loopback_ipv4() -> str | None:
    """An IPv4 address of this machine that is not 127.x, if it has one."""
    for addresses in psutil.net_if_addrs().values():
        for address in addresses:
            if address.family == socket.AF_INET and not address.address.startswith("127."):
                return address.address
    return None


def test_server_listens_on_loopback_only(harbor):
    """The edge and graph ports answer on loopback and refuse a connection through any other address."""
    address = non_loopback_ipv4()
    if address is None:
        pytest.skip("this machine has no non-loopback IPv4 address to connect through")
    assert harbor.graph is not None
    for port in (urlsplit(harbor.endpoint).port, urlsplit(harbor.graph).port):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()  # it is listening at all
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((address, port), timeout=5).close()


def test_s3_round_trip_through_the_edge(s3, bucket):
    s3.put_object(Bucket=bucket, Key="dir/data.csv", Body=b"a,b\n1,2\n")
    assert s3.get_object(Bucket=bucket, Key="dir/data.csv")["Body"].read() == b"a,b\n1,2\n"
    listed = s3.list_objects_v2(Bucket=bucket, Prefix="dir/")
    assert [item["Key"] for item in listed["Contents"]] == ["dir/data.csv"]


def test_an_empty_object_put_is_answered(harbor, bucket):
    """botocore sends ``Expect: 100-continue`` with every PutObject; with no body to follow, the edge answers
    at once (waitress 3.0 alone sends the 100 and never the final answer: the client waits out its timeout)."""
    s3 = harbor.client("s3", read_timeout=10)
    s3.put_object(Bucket=bucket, Key="empty", Body=b"")
    assert s3.get_object(Bucket=bucket, Key="empty")["Body"].read() == b""
    host, port = urlsplit(harbor.endpoint).hostname, urlsplit(harbor.endpoint).port
    with socket.create_connection((host, port), timeout=10) as raw:
        raw.sendall(f"GET /_mlharbor/health HTTP/1.1\r\nHost: {host}:{port}\r\nExpect: 100-continue\r\n"
                    "Content-Length: 0\r\n\r\n".encode())
        assert raw.recv(64).startswith(b"HTTP/1.1 200")


def test_cloudwatch_logs_and_metrics_through_the_same_url(harbor):
    logs = harbor.client("logs")
    logs.create_log_group(logGroupName="/edge/test")
    logs.create_log_stream(logGroupName="/edge/test", logStreamName="s")
    logs.put_log_events(logGroupName="/edge/test", logStreamName="s",
                        logEvents=[{"timestamp": int(time.time() * 1000), "message": "hello"}])
    events = logs.get_log_events(logGroupName="/edge/test", logStreamName="s", startFromHead=True)["events"]
    assert [event["message"] for event in events] == ["hello"]
    cloudwatch = harbor.client("cloudwatch")
    cloudwatch.put_metric_data(Namespace="edge/test", MetricData=[{"MetricName": "m", "Value": 1.5}])
    metrics = cloudwatch.list_metrics(Namespace="edge/test")["Metrics"]
    assert [metric["MetricName"] for metric in metrics] == ["m"]


def test_unimplemented_sagemaker_operation_is_a_typed_error_not_a_fake_success(sagemaker):
    with pytest.raises(ClientError) as caught:
        sagemaker.list_notebook_instances()
    assert caught.value.response["Error"]["Code"] == "NotImplementedException"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 501


def _raw_post(harbor, target: str, body: bytes) -> tuple[int, dict]:
    request = urllib.request.Request(
        harbor.endpoint + "/", data=body, method="POST",
        headers={"X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.1"},
    )
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_malformed_json_and_unknown_operation_answer_in_the_aws_error_shape(harbor):
    status, body = _raw_post(harbor, "SageMaker.DescribeTrainingJob", b"{not json")
    assert status == 400 and body["__type"] == "SerializationException"
    status, body = _raw_post(harbor, "SageMaker.MakeCoffee", b"{}")
    assert status == 400 and body["__type"] == "UnknownOperationException"
    status, body = _raw_post(harbor, "SageMaker.DescribeTrainingJob", b"[1, 2]")
    assert status == 400 and body["__type"] == "SerializationException"


def test_mlharbor_up_also_serves_the_graph_server(harbor):
    from gremlin_python.driver.driver_remote_connection import DriverRemoteConnection
    from gremlin_python.process.anonymous_traversal import traversal

    assert harbor.graph and harbor.graph.startswith("http://127.0.0.1:")
    with urllib.request.urlopen(harbor.graph + "/status") as response:
        assert json.loads(response.read())["status"] == "healthy"
    connection = DriverRemoteConnection(harbor.graph.replace("http://", "ws://") + "/gremlin", "g")
    try:
        g = traversal().with_remote(connection)
        g.add_v("edge-test").property("name", "from-the-edge-suite").iterate()
        assert g.V().has_label("edge-test").values("name").to_list() == ["from-the-edge-suite"]
    finally:
        connection.close()
