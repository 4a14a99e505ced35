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
