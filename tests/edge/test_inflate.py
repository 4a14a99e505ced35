"""Compressed request bodies: botocore's gzip PutMetricData is stored; a gzip bomb or bad gzip is a 400."""

from __future__ import annotations

import gzip
import urllib.error
import urllib.request

import pytest

from emulator.edge.inflate import BodyError, inflate


def test_inflate_bounds_and_refuses() -> None:
    assert inflate(gzip.compress(b"abc")) == b"abc"
    with pytest.raises(BodyError, match="more than 1000"):
        inflate(gzip.compress(b"\0" * 5000), limit=1000)
    with pytest.raises(BodyError, match="not valid gzip"):
        inflate(b'{"plain": "json"}')
    with pytest.raises(BodyError, match="truncated"):
        inflate(gzip.compress(b"x" * 100)[:-12])


def test_a_compressed_put_metric_data_is_stored(harbor) -> None:
    """botocore gzips a PutMetricData body past 10 KiB; moto alone inflated it twice and answered 500."""
    cloudwatch = harbor.client("cloudwatch")
    sent: list[str] = []
    cloudwatch.meta.events.register("before-send.cloudwatch.PutMetricData",
                                    lambda request, **_: sent.append(request.headers.get("Content-Encoding", "")))
    data = [{"MetricName": "inflated", "Value": float(i), "Dimensions": [{"Name": "pad", "Value": "x" * 200}]}
            for i in range(100)]
    cloudwatch.put_metric_data(Namespace="mlharbor/inflate-test", MetricData=data)
    assert sent == [b"gzip"]  # the request really was compressed
    listed = cloudwatch.list_metrics(Namespace="mlharbor/inflate-test")["Metrics"]
    assert [metric["MetricName"] for metric in listed][:1] == ["inflated"]


def test_a_gzip_bomb_is_refused_in_the_protocols_shape(harbor) -> None:
    bomb = gzip.compress(b"\0" * (17 * 1024 * 1024))
    request = urllib.request.Request(harbor.endpoint + "/", data=bomb, method="POST", headers={
        "Content-Encoding": "gzip", "Content-Type": "application/x-amz-json-1.0",
        "X-Amz-Target": "Logs_20140328.DescribeLogGroups",
        "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/logs/aws4_request, "
                         "SignedHeaders=host, Signature=00"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 400
    assert b"more than" in refused.value.read()


def test_an_oversized_compressed_body_is_refused_unread() -> None:
    """The compressed body itself is bounded too: a claimed 5 GiB is refused before a byte is read."""
    from emulator.edge.inflate import InflatingApp

    class Unreadable:
        def read(self, *_: object) -> bytes:
            raise AssertionError("the body was read")

    statuses: list[str] = []
    app = InflatingApp(lambda environ, start_response: [b"reached moto"])
    body = app({"HTTP_CONTENT_ENCODING": "gzip", "HTTP_X_AMZ_TARGET": "Logs_20140328.PutLogEvents",
                "CONTENT_LENGTH": str(5 * 1024**3), "wsgi.input": Unreadable()},
               lambda status, headers: statuses.append(status))
    assert statuses == ["400 Bad Request"] and b"more than" in b"".join(body)
