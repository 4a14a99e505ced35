"""The graph server answers only its own Host names and no foreign web origin, on HTTP and the websocket.

Browsers apply no CORS to websockets, so without the Origin check any page could open
``ws://127.0.0.1:8182/gremlin`` and drop the graph; without the Host check a rebinding name could.
"""

from __future__ import annotations

import base64
import http.client
import json
import os

import botocore.parsers
import botocore.session
import pytest
from gremlin_python.driver.driver_remote_connection import DriverRemoteConnection
from gremlin_python.process.anonymous_traversal import traversal

from emulator.services.neptune import GraphServer
from tests.services.neptune.conftest import ws_url


def request(server: GraphServer, method: str, path: str, headers: dict[str, str]) -> tuple[int, dict, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    connection.putrequest(method, path, skip_host="Host" in headers, skip_accept_encoding=True)
    for name, value in headers.items():
        connection.putheader(name, value)
    connection.endheaders()
    response = connection.getresponse()
    answer = response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    connection.close()
    return answer


def handshake(**headers: str) -> dict[str, str]:
    """The headers of a websocket upgrade as gremlinpython (and a browser) sends it."""
    return {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode(), **headers}


def neptune_error(status: int, headers: dict, body: bytes) -> dict:
    model = botocore.session.get_session().get_service_model("neptunedata")
    parser = botocore.parsers.create_parser(model.protocol)
    return parser.parse({"status_code": status, "headers": headers, "body": body},
                        model.operation_model("GetEngineStatus").output_shape)["Error"]


@pytest.mark.parametrize("host", ["attacker.example", "attacker.example:8182"])
def test_http_api_refuses_a_foreign_host(server, host):
    status, headers, body = request(server, "GET", "/status", {"Host": host})
    assert status == 403
    assert neptune_error(status, headers, body)["Code"] == "AccessDeniedException"


def test_websocket_handshake_refuses_a_foreign_host(server):
    status, _, body = request(server, "GET", "/gremlin", handshake(Host="attacker.example"))
    assert status == 403
    assert json.loads(body)["code"] == "AccessDeniedException"


def test_websocket_handshake_refuses_a_foreign_origin(server):
    status, _, body = request(server, "GET", "/gremlin", handshake(Origin="http://evil.example"))
    assert status == 403
    assert json.loads(body)["code"] == "AccessDeniedException"


def test_http_api_refuses_a_foreign_origin(server):
    status, headers, _ = request(server, "GET", "/status", {"Origin": "http://evil.example"})
    assert status == 403
    assert "access-control-allow-origin" not in headers


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "[::1]"])
def test_loopback_names_are_answered(server, host):
    status, _, body = request(server, "GET", "/status", {"Host": f"{host}:{server.port}"})
    assert status == 200, body
    status, _, _ = request(server, "GET", "/gremlin", handshake(Host=host))
    assert status == 101


def test_gremlinpython_still_connects(server):
    connection = DriverRemoteConnection(ws_url(server), "g")
    try:
        assert traversal().with_remote(connection).V().limit(1).count().next() in (0, 1)
    finally:
        connection.close()


def request_from(server: GraphServer, source: str, method: str, path: str, body: bytes = b"") -> tuple[int, dict, bytes]:
    """A request whose socket is bound to ``source``: what a job's container sends through its relay."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30, source_address=(source, 0))
    connection.request(method, path, body=body, headers={"Content-Type": "application/json"})
    response = connection.getresponse()
    answer = response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    connection.close()
    return answer


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/ml/dataprocessing"), ("POST", "/ml/modeltraining"), ("DELETE", "/ml/endpoints/ep"),
    ("POST", "/v1/neptune-export"), ("GET", "//ml/endpoints"),
])
def test_neptune_ml_and_the_export_refuse_a_jobs_container(server, method, path):
    from emulator.runners.docker.relay import JOB_SOURCE_ADDRESS

    status, headers, body = request_from(server, JOB_SOURCE_ADDRESS, method, path, b"{}")
    assert status == 403
    error = neptune_error(status, headers, body)
    assert error["Code"] == "AccessDeniedException" and "job's container" in error["Message"]


def test_a_jobs_container_still_reads_the_graph_and_the_user_still_reaches_neptune_ml(server):
    from emulator.runners.docker.relay import JOB_SOURCE_ADDRESS

    status, _, body = request_from(server, JOB_SOURCE_ADDRESS, "GET", "/status")
    assert status == 200 and json.loads(body)["status"] == "healthy"
    status, _, body = request_from(server, JOB_SOURCE_ADDRESS, "POST", "/gremlin", b'{"gremlin": "g.V().count()"}')
    assert status == 200, body
    status, _, body = request_from(server, "127.0.0.1", "GET", "/ml/dataprocessing")
    assert status == 200 and "ids" in json.loads(body), body


@pytest.mark.parametrize("path", ["/gremlin", "/loader", "/ml/dataprocessing", "/ml/endpoints", "/v1/neptune-export"])
@pytest.mark.parametrize("body", [b"[" * 100_000, b'{"a": ' * 100 + b"1" + b"}" * 100, b'{"gremlin": NaN}', b"{"])
def test_hostile_json_bodies_are_bad_requests_not_500s(server, path, body):
    status, headers, answer = request_from(server, "127.0.0.1", "POST", path, body)
    assert status == 400, answer
    assert neptune_error(status, headers, answer)["Code"] == "BadRequestException"
