"""The Gremlin Server websocket protocol: status codes, 206 batches, batchSize, errors, iterate()."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import aiohttp
import pytest
from gremlin_python.driver.client import Client
from gremlin_python.driver.protocol import GremlinServerError
from gremlin_python.driver.request import RequestMessage
from gremlin_python.driver.serializer import GraphBinarySerializersV1, GraphSONSerializersV3d0
from gremlin_python.process.graph_traversal import GraphTraversalSource
from gremlin_python.process.strategies import OptionsStrategy
from gremlin_python.process.traversal import Bytecode, T, Traverser

from emulator.services.neptune import GraphServer
from tests.services.neptune.conftest import SERIALIZERS, ws_url


def raw_exchange(server: GraphServer, serializer: Any, message: RequestMessage | bytes) -> list[dict[str, Any]]:
    """Send one request frame over a plain websocket; return every response, decoded by gremlinpython."""

    async def run() -> list[dict[str, Any]]:
        frame = message if isinstance(message, bytes) else \
            serializer.serialize_message(str(uuid.uuid4()), message)
        responses = []
        async with aiohttp.ClientSession() as session, session.ws_connect(ws_url(server)) as ws:
            await ws.send_bytes(frame)
            while True:
                received = await asyncio.wait_for(ws.receive(), 30)
                data = received.data if received.type == aiohttp.WSMsgType.BINARY else received.data.encode()
                decoded = serializer.deserialize_message(data)
                responses.append(decoded)
                if decoded["status"]["code"] != 206:
                    return responses

    return asyncio.run(run())


def bytecode_request(bytecode: Bytecode, **options: Any) -> RequestMessage:
    return RequestMessage("traversal", "bytecode", {"gremlin": bytecode, "aliases": {"g": "g"}, **options})


@pytest.fixture
def g_empty(empty_graph: GraphTraversalSource) -> GraphTraversalSource:
    return empty_graph


@pytest.mark.parametrize("name", sorted(SERIALIZERS))
def test_results_stream_in_206_batches(server: GraphServer, g_empty: GraphTraversalSource, name: str) -> None:
    serializer = SERIALIZERS[name]()
    g = g_empty
    responses = raw_exchange(server, serializer, bytecode_request(g.inject(*range(150)).bytecode))
    codes = [r["status"]["code"] for r in responses]
    assert codes == [206, 206, 200]  # default batch size 64
    sizes = [len(r["result"]["data"]) for r in responses]
    assert sizes == [64, 64, 22]
    first = responses[0]["result"]["data"][0]
    assert isinstance(first, Traverser) and first.object == 0 and first.bulk == 1
    responses = raw_exchange(server, serializer, bytecode_request(g.inject(*range(25)).bytecode, batchSize=10))
    assert [len(r["result"]["data"]) for r in responses] == [10, 10, 5]


@pytest.mark.parametrize("name", sorted(SERIALIZERS))
def test_empty_result_is_204(server: GraphServer, g_empty: GraphTraversalSource, name: str) -> None:
    responses = raw_exchange(server, SERIALIZERS[name](), bytecode_request(g_empty.V("missing").bytecode))
    assert [r["status"]["code"] for r in responses] == [204]


@pytest.mark.parametrize("name", sorted(SERIALIZERS))
def test_malformed_frames_get_498(server: GraphServer, name: str) -> None:
    serializer = SERIALIZERS[name]()
    header = b"\x20application/vnd.graphbinary-v1.0" if name == "graphbinary" else \
        b"\x21application/vnd.gremlin-v3.0+json"
    responses = raw_exchange(server, serializer, header + b"\x81garbage")
    assert responses[0]["status"]["code"] == 498
    assert "Malformed request" in responses[0]["status"]["message"]


def test_batch_size_through_the_driver(server: GraphServer, g_empty: GraphTraversalSource) -> None:
    client = Client(ws_url(server), "g")
    try:
        result_set = client.submit(g_empty.inject(*range(30)).bytecode, request_options={"batchSize": 7})
        batches = []
        while True:
            batch = result_set.one()
            if not batch:
                break
            batches.append(len(batch))
        assert batches == [7, 7, 7, 7, 2]
    finally:
        client.close()
    g = g_empty.with_strategies(OptionsStrategy(batchSize=5))
    assert g.inject(*range(12)).to_list() == list(range(12))


def test_iterate_with_discard_and_none(g_empty: GraphTraversalSource) -> None:
    g_empty.add_v("x").property(T.id, "it1").iterate()  # discard() since 3.7
    assert g_empty.V("it1").count().next() == 1
    g_empty.add_v("x").property(T.id, "it2").none().to_list()  # the older none()
    assert g_empty.V("it2").count().next() == 1


def test_errors_carry_status_codes_and_reasons(g_empty: GraphTraversalSource) -> None:
    with pytest.raises(GremlinServerError) as error:
        g_empty.V().map(lambda: "it.get().value('name')").to_list()
    assert error.value.status_code == 499
    assert "Lambdas are not supported" in str(error.value)
    with pytest.raises(GremlinServerError) as error:
        g_empty.V().page_rank().to_list()  # GraphComputer-only: Neptune has no OLAP steps
    assert error.value.status_code == 499 and "pageRank" in str(error.value)
    with pytest.raises(GremlinServerError) as error:
        g_empty.V().out().values("x").fold().by("x").to_list()
    assert error.value.status_code == 597
    with pytest.raises(GremlinServerError) as error:
        g_empty.inject(1).out().to_list()
    assert error.value.status_code == 597 and "needs a vertex" in str(error.value)
    with pytest.raises(GremlinServerError) as error:
        g_empty.with_sack(lambda: "[]").V().to_list()  # a sack supplier lambda
    assert error.value.status_code == 499 and "Lambdas are not supported" in str(error.value)


def test_timeout_is_598(g_empty: GraphTraversalSource) -> None:
    for index in range(300):
        g_empty.add_v("t").property(T.id, f"to{index}").iterate()
    # a cartesian product of 300 x 300 x 300 vertices cannot finish in 1 ms
    with pytest.raises(GremlinServerError) as error:
        g_empty.with_("evaluationTimeout", 1).V().V().V().count().next()
    assert error.value.status_code == 598
    assert "evaluationTimeout" in str(error.value)


def test_scripts_over_the_websocket(server: GraphServer, g_empty: GraphTraversalSource) -> None:
    g_empty.add_v("person").property(T.id, "s1").property("name", "ann").iterate()
    for serializer in (GraphBinarySerializersV1(), GraphSONSerializersV3d0()):
        client = Client(ws_url(server), "g", message_serializer=serializer)
        try:
            assert client.submit("g.V('s1').values('name')").all().result() == ["ann"]
            assert client.submit("g.V(x).count()", {"x": "s1"}).all().result() == [1]
            with pytest.raises(GremlinServerError) as error:
                client.submit("g.V().map{ it.get() }").all().result()
            assert error.value.status_code == 597
        finally:
            client.close()
    assert g_empty.V("s1").out().fold().next() == []
