"""Neptune IAM authentication on the graph server: SigV4 for service ``neptune-db``.

boto3's ``neptunedata`` signs the HTTP API itself; a gremlinpython client signs its websocket
handshake GET (as AWS's neptune-python-utils does) and passes the headers to
``DriverRemoteConnection``.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from gremlin_python.driver.driver_remote_connection import DriverRemoteConnection
from gremlin_python.process.anonymous_traversal import traversal

from emulator.core.sigv4 import SigV4Verifier
from emulator.services.neptune import GraphServer


@pytest.fixture(scope="module")
def iam_server(tmp_path_factory: pytest.TempPathFactory, s3_endpoint: str) -> Iterator[GraphServer]:
    server = GraphServer(data_dir=tmp_path_factory.mktemp("iam-graph"), host="127.0.0.1", port=0,
                         s3_endpoint_url=s3_endpoint, verifier=SigV4Verifier({"testing": "testing"}))
    server.start()
    yield server
    server.stop()


def neptune(server: GraphServer, key: str = "testing", secret: str = "testing") -> Any:
    return boto3.client("neptunedata", endpoint_url=server.url, region_name="us-east-1", aws_access_key_id=key,
                        aws_secret_access_key=secret, config=Config(retries={"max_attempts": 1}))


def signed_handshake_headers(server: GraphServer, key: str = "testing", secret: str = "testing") -> dict[str, str]:
    """SigV4 headers for ``GET /gremlin``, signed for ``neptune-db`` like neptune-python-utils signs them."""
    url = f"http://127.0.0.1:{server.port}/gremlin"
    request = AWSRequest(method="GET", url=url, data=None)
    SigV4Auth(Credentials(key, secret), "neptune-db", "us-east-1").add_auth(request)
    return {name: value for name, value in request.headers.items()}


def test_signed_http_api_works(iam_server):
    assert neptune(iam_server).get_engine_status()["status"] == "healthy"
    result = neptune(iam_server).execute_gremlin_query(gremlinQuery="g.V().count()")
    assert result["status"]["code"] == 200


@pytest.mark.parametrize("key,secret,code", [("testing", "wrong", "InvalidSignatureException"),
                                             ("nobody", "x", "UnrecognizedClientException")])
def test_badly_signed_http_api_calls_are_refused(iam_server, key, secret, code):
    with pytest.raises(ClientError) as caught:
        neptune(iam_server, key, secret).get_engine_status()
    assert caught.value.response["Error"]["Code"] == code
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_unsigned_http_api_calls_are_refused(iam_server):
    connection = http.client.HTTPConnection("127.0.0.1", iam_server.port, timeout=30)
    connection.request("GET", "/status")
    response = connection.getresponse()
    assert response.status == 403
    assert json.loads(response.read())["code"] == "AccessDeniedException"
    connection.close()


def test_a_signed_websocket_handshake_connects(iam_server):
    connection = DriverRemoteConnection(f"ws://127.0.0.1:{iam_server.port}/gremlin", "g",
                                        headers=signed_handshake_headers(iam_server))
    try:
        g = traversal().with_remote(connection)
        g.add_v("person").property("name", "signed").iterate()
        assert "signed" in g.V().values("name").to_list()
    finally:
        connection.close()


@pytest.mark.parametrize("signed_badly", [False, True], ids=["unsigned", "wrong-secret"])
def test_an_unsigned_or_badly_signed_handshake_is_refused(iam_server, signed_badly):
    handshake = {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
                 "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode()}
    if signed_badly:
        handshake.update(signed_handshake_headers(iam_server, secret="wrong"))
    connection = http.client.HTTPConnection("127.0.0.1", iam_server.port, timeout=30)
    connection.request("GET", "/gremlin", headers=handshake)
    response = connection.getresponse()
    assert response.status == 403
    assert response.getheader("Upgrade") is None
    connection.close()


def test_gremlinpython_without_signature_cannot_query(iam_server):
    with pytest.raises(Exception) as caught:  # noqa: B017 - the driver raises its transport's error
        connection = DriverRemoteConnection(f"ws://127.0.0.1:{iam_server.port}/gremlin", "g")
        try:
            traversal().with_remote(connection).V().count().next()
        finally:
            connection.close()
    assert "403" in str(caught.value)


def test_the_gnn_containers_graph_reader_signs_its_handshake(iam_server, monkeypatch):
    from containers.gnn import data

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    endpoint = f"ws://127.0.0.1:{iam_server.port}/gremlin"
    assert isinstance(data.gremlin_edges(endpoint)(), list)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wrong")
    with pytest.raises(Exception, match="403"):  # noqa: B017 - gremlinpython's own error type
        data.gremlin_edges(endpoint)()
