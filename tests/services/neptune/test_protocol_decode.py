"""Every websocket reply carries its request id; what gremlinpython 3.8 sends decodes; no error drops a socket.

gremlinpython matches a reply to its request by id: a reply without one fails the client with
``KeyError('None')`` and leaves the request hanging. These tests use real gremlinpython over a real websocket.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from typing import Any

import aiohttp
import pytest
import urllib3
from gremlin_python.driver.protocol import GremlinServerError
from gremlin_python.driver.request import RequestMessage
from gremlin_python.process.graph_traversal import GraphTraversalSource, __
from gremlin_python.process.traversal import Bytecode, GType, P

from emulator.services.neptune import GraphServer
from tests.services.neptune.conftest import SERIALIZERS, ws_url
from tests.services.neptune.test_protocol import bytecode_request, raw_exchange

AWARE = dt.datetime(2023, 8, 8, 10, 30, 15, 250_000, tzinfo=dt.timezone(dt.timedelta(hours=2)))


def test_timezone_aware_datetime_round_trips(empty_graph: GraphTraversalSource) -> None:
    """gremlinpython 3.8 sends an aware ``datetime`` as OffsetDateTime; it comes back with its offset."""
    g = empty_graph
    [echoed] = g.inject(AWARE).to_list()
    assert echoed == AWARE and echoed.utcoffset() == dt.timedelta(hours=2)
    g.add_v("event").property("when", AWARE).iterate()
    [stored] = g.V().has_label("event").values("when").to_list()
    assert stored == AWARE and stored.utcoffset() == dt.timedelta(hours=2)
    assert g.V().has("when", AWARE).count().next() == 1


def test_a_request_holding_a_gtype_is_answered(g: GraphTraversalSource) -> None:
    """A ``GType`` argument decodes: the client gets the server's answer (a result or a Gremlin error that
    carries the request id), never ``KeyError('None')``, and the connection goes on serving."""
    try:
        answer: Any = g.inject(1, "a").is_(P.type_of(GType.INT)).to_list()
    except GremlinServerError as error:
        answer = error
    assert answer == [1] or isinstance(answer, GremlinServerError)
    assert g.inject(2).to_list() == [2]


@pytest.mark.parametrize("name", sorted(SERIALIZERS))
def test_gtype_decodes_on_the_wire(server: GraphServer, name: str) -> None:
    """``constant(GType.STRING)`` decodes into an enum and is written back as one, under the request id."""
    serializer = SERIALIZERS[name]()
    request_id = str(uuid.uuid4())
    frame = serializer.serialize_message(request_id, bytecode_request(__.inject(1).constant(GType.STRING).bytecode))

    async def exchange() -> bytes:
        async with aiohttp.ClientSession() as session, session.ws_connect(ws_url(server)) as ws:
            await ws.send_bytes(frame)
            received = await asyncio.wait_for(ws.receive(), 30)
            return received.data if isinstance(received.data, bytes) else received.data.encode()

    data = asyncio.run(exchange())
    if name == "graphson":
        reply = json.loads(data)
        assert reply["requestId"] == request_id and reply["status"]["code"] == 200
        assert reply["result"]["data"]["@value"][0]["@value"]["value"] == {"@type": "g:GType", "@value": "STRING"}
    else:  # gremlinpython cannot read a GType result (it looks the name up snake-cased); the bytes are TinkerPop's
        assert data[1:2] == b"\x00" and str(uuid.UUID(bytes=data[2:18])) == request_id
        assert b"\x30\x00\x03\x00\x00\x00\x00\x06STRING" in data


def _graphbinary_frame_with_bad_args(request_id: str) -> bytes:
    good = SERIALIZERS["graphbinary"]().serialize_message(request_id, bytecode_request(Bytecode()))
    header = b"\x20application/vnd.graphbinary-v1.0"
    body = good[len(header):]
    # version, 16-byte id, then op/processor/args: keep "bytecode" and "traversal", break the args map
    return header + body[:1 + 16] + body[17:17 + 4 + 8 + 4 + 9] + b"\x00\x00\x00\x01\x77\x00"


def test_graphbinary_decode_failure_keeps_the_request_id(server: GraphServer) -> None:
    request_id = str(uuid.uuid4())
    responses = raw_exchange(server, SERIALIZERS["graphbinary"](), _graphbinary_frame_with_bad_args(request_id))
    assert responses[0]["status"]["code"] == 498
    assert responses[0]["requestId"] == request_id
    assert request_id in responses[0]["status"]["message"]


def test_graphson_decode_failure_keeps_the_request_id(server: GraphServer) -> None:
    request_id = str(uuid.uuid4())
    message = {"requestId": request_id, "op": "bytecode", "processor": "traversal",
               "args": {"gremlin": {"@type": "g:Bytecode", "@value": {"step": [["inject", {"@type": "x:Nope",
                                                                                         "@value": 1}]]}}}}
    frame = b"\x21application/vnd.gremlin-v3.0+json" + json.dumps(message).encode()
    responses = raw_exchange(server, SERIALIZERS["graphson"](), frame)
    assert responses[0]["status"]["code"] == 498
    assert responses[0]["requestId"] == request_id
    assert "x:Nope" in responses[0]["status"]["message"]


def test_an_unexpected_failure_answers_with_the_id_and_keeps_the_socket(
        server: GraphServer, g: GraphTraversalSource, monkeypatch: pytest.MonkeyPatch) -> None:
    """A bug of ours while answering (here: evaluation raising a plain ``RuntimeError``) is a 500 reply under
    the request id; the same connection then serves the next request."""
    original = server.protocol._evaluate
    calls = {"n": 0}

    def failing_once(request: RequestMessage, connection: Any = None) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("boom")
        return original(request, connection)

    monkeypatch.setattr(server.protocol, "_evaluate", failing_once)
    with pytest.raises(GremlinServerError) as raised:
        g.inject(1).to_list()
    assert raised.value.status_code == 500 and "boom" in str(raised.value)
    assert g.inject(3).to_list() == [3]


def test_a_handler_bug_does_not_drop_the_websocket(server: GraphServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """Even if answering one frame raises inside the server, the socket stays open for the next frame."""
    original = server.protocol.handle
    calls = {"n": 0}

    def handle(frame: bytes | str, connection: Any = None) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("handler bug")
        return original(frame, connection=connection)

    monkeypatch.setattr(server.protocol, "handle", handle)
    serializer = SERIALIZERS["graphbinary"]()
    request_id = str(uuid.uuid4())

    async def exchange() -> dict[str, Any]:
        async with aiohttp.ClientSession() as session, session.ws_connect(ws_url(server)) as ws:
            await ws.send_bytes(serializer.serialize_message(str(uuid.uuid4()),
                                                             bytecode_request(__.inject(1).bytecode)))
            await ws.send_bytes(serializer.serialize_message(request_id, bytecode_request(__.inject(2).bytecode)))
            received = await asyncio.wait_for(ws.receive(), 30)
            return serializer.deserialize_message(received.data)

    reply = asyncio.run(exchange())
    assert reply["requestId"] == request_id and reply["result"]["data"][0].object == 2


def test_http_internal_failure_is_neptune_json(server: GraphServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """An unexpected error behind ``POST /gremlin`` is Neptune's JSON error, not aiohttp's plain-text 500."""
    import emulator.services.neptune.http_api as http_api

    def broken(*args: Any) -> Any:
        raise RuntimeError("script runner bug")

    monkeypatch.setattr(http_api, "run_script", broken)
    response = urllib3.request("POST", f"{server.url}/gremlin", body=json.dumps({"gremlin": "g.V().count()"}),
                               headers={"Content-Type": "application/json"})
    assert response.status == 500
    assert response.headers["Content-Type"].startswith("application/json")
    body = json.loads(response.data)
    assert body["code"] == "InternalFailureException" and "script runner bug" in body["detailedMessage"]


def _round_trip_values() -> dict[str, Any]:
    from gremlin_python.statics import ByteBufferType
    from gremlin_python.structure.graph import Edge, Path, Property, Vertex, VertexProperty

    # (BigInteger and BigDecimal round-trips are the value fixes' own tests)
    return {"duration": dt.timedelta(seconds=5),
            "bytes": ByteBufferType(b"\x00ab"), "edge": Edge("7", Vertex("1", "person"), "knows", Vertex("2", "person")),
            "vertex property": VertexProperty("0", "name", "marko", Vertex("1")), "property": Property("weight", 0.5, None),
            "path": Path([set(), set()], [1, "a"])}


@pytest.mark.parametrize("kind", sorted(_round_trip_values()))
def test_values_gremlinpython_sends_come_back_unchanged(g: GraphTraversalSource, connection: Any, kind: str) -> None:
    """What gremlinpython writes, the server reads and writes back as the same value (both serializers)."""
    value = _round_trip_values()[kind]
    if kind == "path" and isinstance(connection._client._message_serializer, SERIALIZERS["graphson"]):
        pytest.skip("gremlinpython's GraphSON writer cannot write a Path (TypeError in the client)")
    [echoed] = g.inject(value).to_list()
    assert echoed == value and type(echoed) is type(value)
    if kind == "edge":
        assert (echoed.outV.id, echoed.inV.id, echoed.label) == ("1", "2", "knows")
