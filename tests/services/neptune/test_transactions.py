"""Sessions and transactions over real gremlinpython: ``g.tx()`` commits, rolls back and isolates as Neptune's."""

from __future__ import annotations

import asyncio
import time
import uuid

import aiohttp
import pytest
from gremlin_python.driver.client import Client
from gremlin_python.driver.driver_remote_connection import DriverRemoteConnection
from gremlin_python.driver.protocol import GremlinServerError
from gremlin_python.driver.request import RequestMessage
from gremlin_python.driver.serializer import GraphBinarySerializersV1
from gremlin_python.process.anonymous_traversal import traversal
from gremlin_python.process.graph_traversal import GraphTraversalSource
from gremlin_python.process.traversal import T

from emulator.services.neptune import GraphServer
from tests.services.neptune.conftest import ws_url


def tag() -> str:
    return uuid.uuid4().hex[:10]


def names(g: GraphTraversalSource, label: str) -> list[str]:
    return sorted(g.V().has_label(label).values("name").to_list())


def test_commit_makes_the_writes_visible_only_then(g: GraphTraversalSource) -> None:
    label = f"tx{tag()}"
    tx = g.tx()
    gtx = tx.begin()
    gtx.add_v(label).property("name", "a").iterate()
    gtx.add_v(label).property("name", "b").iterate()
    # the session sees its own writes, everyone else sees nothing yet
    assert sorted(gtx.V().has_label(label).values("name").to_list()) == ["a", "b"]
    assert names(g, label) == []
    tx.commit()
    assert names(g, label) == ["a", "b"]


def test_rollback_discards_the_writes(g: GraphTraversalSource) -> None:
    label = f"tx{tag()}"
    g.add_v(label).property(T.id, f"{label}-kept").property("name", "kept").iterate()
    tx = g.tx()
    gtx = tx.begin()
    gtx.add_v(label).property("name", "dropped").iterate()
    gtx.V(f"{label}-kept").property("name", "changed").iterate()
    assert sorted(gtx.V().has_label(label).values("name").to_list()) == ["changed", "dropped", "kept"]
    tx.rollback()
    assert names(g, label) == ["kept"]


def test_generated_ids_survive_the_commit(g: GraphTraversalSource) -> None:
    """An id the session was given for addV() is the id the committed vertex has."""
    label = f"tx{tag()}"
    tx = g.tx()
    gtx = tx.begin()
    first = gtx.add_v(label).id_().next()
    second = gtx.add_v(label).id_().next()
    gtx.V(first).add_e("knows").to(gtx.V(second).next()).iterate()
    tx.commit()
    assert sorted(g.V().has_label(label).id_().to_list()) == sorted([first, second])
    assert g.V(first).out("knows").id_().to_list() == [second]


def test_a_failed_request_keeps_the_earlier_ones(g: GraphTraversalSource) -> None:
    label = f"tx{tag()}"
    tx = g.tx()
    gtx = tx.begin()
    gtx.add_v(label).property(T.id, f"{label}-1").property("name", "one").iterate()
    with pytest.raises(GremlinServerError):
        gtx.add_v(label).property(T.id, f"{label}-1").iterate()  # duplicate id
    gtx.add_v(label).property("name", "two").iterate()
    tx.commit()
    assert names(g, label) == ["one", "two"]


def test_closing_the_session_rolls_back(server: GraphServer) -> None:
    label = f"tx{tag()}"
    remote = DriverRemoteConnection(ws_url(server), "g")
    try:
        g = traversal().with_remote(remote)
        tx = g.tx()
        gtx = tx.begin()
        gtx.add_v(label).property("name", "never").iterate()
        tx.close()  # no commit: the session ends and its transaction with it
        assert names(g, label) == []
    finally:
        remote.close()


def test_a_session_whose_connection_drops_is_rolled_back(server: GraphServer) -> None:
    """A session request over a plain websocket that then closes without the session's ``close`` op."""
    label = f"tx{tag()}"
    session_id = str(uuid.uuid4())
    serializer = GraphBinarySerializersV1()
    message = RequestMessage("session", "eval", {"gremlin": f"g.addV('{label}')", "session": session_id,
                                                 "aliases": {"g": "g"}})

    async def send_then_drop() -> int:
        async with aiohttp.ClientSession() as http, http.ws_connect(ws_url(server)) as ws:
            await ws.send_bytes(serializer.serialize_message(str(uuid.uuid4()), message))
            reply = serializer.deserialize_message((await asyncio.wait_for(ws.receive(), 30)).data)
            assert server.protocol.sessions.is_open(session_id)
            return reply["status"]["code"]

    assert asyncio.run(send_then_drop()) == 200
    deadline = time.monotonic() + 10
    while server.protocol.sessions.is_open(session_id) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not server.protocol.sessions.is_open(session_id)
    reader = Client(ws_url(server), "g")
    try:
        assert reader.submit(f"g.V().hasLabel('{label}').count()").all().result() == [0]
    finally:
        reader.close()


def test_sessionless_requests_commit_on_their_own(g: GraphTraversalSource) -> None:
    label = f"tx{tag()}"
    g.add_v(label).property("name", "auto").iterate()
    other = g.tx()  # a transaction someone else opened and never commits sees the committed vertex
    gtx = other.begin()
    assert gtx.V().has_label(label).values("name").to_list() == ["auto"]
    other.rollback()
    assert names(g, label) == ["auto"]
