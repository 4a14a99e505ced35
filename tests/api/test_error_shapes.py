"""Every request that reaches the edge gets an answer botocore parses: never an HTML page.

Raw requests that miss every route, name an unknown operation, use a wrong method or an odd
endpoint name; the answers go through botocore's own response parsers.
"""

from __future__ import annotations

import http.client
import json
import urllib.parse

import botocore.parsers
import botocore.session
import pytest


def raw(harbor, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None):
    parts = urllib.parse.urlsplit(harbor.endpoint)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    connection.request(method, path, body=body, headers=headers or {})
    response = connection.getresponse()
    answer = response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    connection.close()
    return answer


def parsed_error(service: str, operation: str, status: int, headers: dict[str, str], body: bytes) -> dict[str, str]:
    model = botocore.session.get_session().get_service_model(service)
    parser = botocore.parsers.create_parser(model.protocol)
    return parser.parse({"status_code": status, "headers": headers, "body": body},
                        model.operation_model(operation).output_shape)["Error"]


def assert_not_html(headers: dict[str, str], body: bytes) -> None:
    assert not headers.get("content-type", "").startswith("text/html") or not body.lstrip().startswith(b"<")
    assert b"<html" not in body.lower() and b"<!doctype" not in body.lower()


@pytest.mark.parametrize("target", ["Nope.Op", "SageMaker.NoSuchOp", "Logs_20140328.NoSuchOp", "SageMaker"])
def test_an_unknown_target_is_an_unknown_operation(harbor, target):
    status, headers, body = raw(harbor, "POST", "/", b"{}", {"X-Amz-Target": target,
                                                            "Content-Type": "application/x-amz-json-1.1"})
    assert_not_html(headers, body)
    assert 400 <= status < 500
    error = parsed_error("sagemaker", "ListTrainingJobs", status, headers, body)
    assert error["Code"] == "UnknownOperationException"


@pytest.mark.parametrize("method,path", [("GET", "/_mlharbor/no/such/route"), ("DELETE", "/_mlharbor/health"),
                                         ("PUT", "/_mlharbor/artifacts")])
def test_a_missed_mlharbor_route_is_json(harbor, method, path):
    status, headers, body = raw(harbor, method, path)
    assert_not_html(headers, body)
    assert status in (404, 405)
    document = json.loads(body)
    assert document["__type"] in ("NotFound", "MethodNotAllowed")
    assert headers["x-amzn-errortype"] == document["__type"]


@pytest.mark.parametrize("path", ["/endpoints/a%2Fb/invocations", "/endpoints/%00/invocations",
                                  "/endpoints/x/invocations/extra"])
def test_invoke_endpoint_edge_cases_are_runtime_errors(harbor, path):
    auth = ("AWS4-HMAC-SHA256 Credential=testing/20240101/us-east-1/sagemaker/aws4_request, "
            "SignedHeaders=host, Signature=00")
    status, headers, body = raw(harbor, "POST", path, b"{}", {"Authorization": auth,
                                                             "Content-Type": "application/json"})
    assert_not_html(headers, body)
    assert 400 <= status < 500
    error = parsed_error("sagemaker-runtime", "InvokeEndpoint", status, headers, body)
    assert error["Code"] in ("ValidationError", "NotFound")


def test_a_request_that_misses_every_route_is_s3_xml(harbor):
    status, headers, body = raw(harbor, "GET", "/-/" + "x" * 10 + "?versioning&uploads")
    assert_not_html(headers, body)
    error = parsed_error("s3", "ListBuckets", status, headers, body) if status >= 300 else None
    assert error is None or error["Code"]


def test_an_unsupported_method_is_not_an_html_500(harbor):
    status, headers, body = raw(harbor, "PATCH", "/some-bucket/key", b"x", {"Content-Type": "text/plain"})
    assert_not_html(headers, body)
    error = parsed_error("s3", "ListBuckets", status, headers, body)
    assert error["Code"]


def test_moto_json_errors_pass_through_unchanged(harbor):
    logs = harbor.client("logs")
    with pytest.raises(logs.exceptions.ResourceNotFoundException):
        logs.get_log_events(logGroupName="/no/such/group", logStreamName="s")


@pytest.mark.parametrize("path,body,content_type,status,code", [
    ("/some-bucket", b"--b\r\nContent-Disposition: form-data; name=\"acl\"\r\n\r\nprivate\r\n--b--\r\n",
     "multipart/form-data; boundary=b", 400, "InvalidArgument"),
    ("/some-bucket", b"", "text/plain", 400, "InvalidArgument"),
    ("/some-bucket/a/key", b"", "text/plain", 405, "MethodNotAllowed"),
    ("/endpoints/x/invocations/", b"", "text/plain", 405, "MethodNotAllowed"),
])
def test_s3_posts_moto_cannot_serve_get_s3s_own_errors(harbor, path, body, content_type, status, code):
    """moto crashed (HTTP 500) on a form upload without ``key`` and on an object POST naming no action."""
    got_status, headers, got_body = raw(harbor, "POST", path, body, {"Content-Type": content_type})
    assert got_status == status
    assert parsed_error("s3", "PutObject", got_status, headers, got_body)["Code"] == code


def test_a_form_upload_with_a_key_still_reaches_s3(harbor, s3, bucket):
    boundary = "mlharborboundary"
    form = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nfrom-form.txt\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f.txt\"\r\n"
            f"Content-Type: text/plain\r\n\r\nhello\r\n--{boundary}--\r\n").encode()
    status, _, _ = raw(harbor, "POST", f"/{bucket}", form, {"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert status < 300
    assert s3.get_object(Bucket=bucket, Key="from-form.txt")["Body"].read() == b"hello"
