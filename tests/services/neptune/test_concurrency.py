"""Reads beside a long query and beside a bulk load: the graph is shared by readers, loads are staged."""

from __future__ import annotations

import threading
import time

import pytest
from gremlin_python.driver.client import Client
from gremlin_python.driver.driver_remote_connection import DriverRemoteConnection
from gremlin_python.driver.protocol import GremlinServerError
from gremlin_python.process.anonymous_traversal import traversal
from gremlin_python.process.traversal import T

from emulator.services.neptune import GraphServer
from emulator.services.neptune.errors import ConcurrentModification
from emulator.services.neptune.snapshot import ReadView
from emulator.services.neptune.staging import LoadConflict, StagedLoad
from emulator.services.neptune.store import GraphStore
from tests.services.neptune.conftest import ws_url


def test_a_long_query_does_not_hold_back_a_point_read(server: GraphServer) -> None:
    heavy_remote = DriverRemoteConnection(ws_url(server), "g")
    reader_remote = DriverRemoteConnection(ws_url(server), "g")
    g = traversal().with_remote(reader_remote)
    for index in range(150):
        g.add_v("busy").property(T.id, f"busy{index}").iterate()
    outcome: list[BaseException] = []

    def heavy() -> None:
        try:  # 150^4 traversers: only the 6 s timeout ends it
            traversal().with_remote(heavy_remote).with_("evaluationTimeout", 6000) \
                .V().has_label("busy").V().V().V().count().next()
        except BaseException as error:
            outcome.append(error)

    runner = threading.Thread(target=heavy)
    runner.start()
    try:
        time.sleep(0.5)  # the heavy query is running
        assert g.V("busy7").id_().next() == "busy7"
        assert runner.is_alive(), "the point read was answered only after the long query ended"
    finally:
        runner.join(60)
        heavy_remote.close()
        reader_remote.close()
    assert outcome and isinstance(outcome[0], GremlinServerError) and outcome[0].status_code == 598


def graph_with_two_vertices() -> GraphStore:
    store = GraphStore()
    with store.transaction() as tx:
        a, b = tx.add_vertex("a", "person"), tx.add_vertex("b", "person")
        tx.set_vertex_property(a, "name", "alice", "single")
        tx.add_edge("ab", "knows", a, b)
    return store


def test_a_staged_load_is_invisible_until_published() -> None:
    store = graph_with_two_vertices()
    load = StagedLoad(store)
    c = load.add_vertex("c", "person")
    load.set_vertex_property(store.vertices["a"], "name", "alicia", "single")
    load.add_edge("ac", "knows", load.store.vertices.get("a"), c)
    # the loader sees its own changes; the graph does not have them yet
    assert load.store.vertices.get("a").props["name"] == ["alicia"]
    assert "c" not in store.vertices and store.vertices["a"].props["name"] == ["alice"]
    assert [e.id for e in store.vertices["a"].out_e] == ["ab"]
    load.publish()
    a = store.vertices["a"]
    assert a.props["name"] == ["alicia"] and "c" in store.vertices
    assert sorted(e.in_v.id for e in a.out_e) == ["b", "c"]
    assert store.vertices["c"].in_e[0].out_v is a  # linked to the live record, not the load's copy


def test_a_read_that_locks_the_graph_after_a_load_is_linked_sees_the_whole_load() -> None:
    """The load replaces the graph's dictionaries by merged ones at linking: a request prepared before
    (its read view made) and run after reads the new ones, in the order a restart would give."""
    store = graph_with_two_vertices()
    view = ReadView(store)
    load = StagedLoad(store)
    c = load.add_vertex("c", "person")
    load.add_edge("bc", "knows", load.store.vertices.get("b"), c)
    load.publish()
    with view.transaction():
        assert list(view.vertices) == ["a", "b", "c"] and list(view.edges) == ["ab", "bc"]
        assert view.vertices["c"].in_e[0].out_v is view.vertices["b"] is store.vertices["b"]
    assert [e.id for e in store.vertices["b"].out_e] == ["bc"]


def test_a_staged_load_refuses_to_overwrite_a_change_made_meanwhile() -> None:
    store = graph_with_two_vertices()
    load = StagedLoad(store)
    load.set_vertex_property(store.vertices["a"], "name", "from the load", "single")
    load.add_vertex("d")
    with store.transaction() as tx:  # another request changes what the load read
        tx.set_vertex_property(store.vertices["a"], "name", "from a query", "single")
    with pytest.raises(LoadConflict):
        load.publish()
    assert store.vertices["a"].props["name"] == ["from a query"] and "d" not in store.vertices


def test_a_staged_load_refuses_an_edge_id_another_request_took_meanwhile() -> None:
    store = graph_with_two_vertices()
    load = StagedLoad(store)
    c = load.add_vertex("c")
    load.add_edge("taken", "knows", load.store.vertices.get("a"), c)
    with store.transaction() as tx:
        tx.add_edge("taken", "likes", store.vertices["b"], store.vertices["a"])
    with pytest.raises(LoadConflict, match="Edge taken was created by another request"):
        load.publish()
    assert "c" not in store.vertices and store.edges["taken"].label == "likes"
    assert [e.id for e in store.vertices["a"].out_e] == ["ab"]


def test_the_request_args_timeout_ends_a_script(server: GraphServer) -> None:
    """``evaluationTimeout`` in the request's args (gremlinpython's ``request_options``), not the bytecode."""
    client = Client(ws_url(server), "g")
    try:
        client.submit("g.addV('slow').property(id, 'slow0')").all().result()
        for index in range(1, 150):
            client.submit(f"g.addV('slow').property(id, 'slow{index}')").all().result()
        with pytest.raises(GremlinServerError) as error:
            client.submit("g.V().hasLabel('slow').V().V().V().count()",
                          request_options={"evaluationTimeout": 200}).all().result()
        assert error.value.status_code == 598 and "TimeLimitExceededException" in str(error.value)
    finally:
        client.close()


def test_a_write_while_a_load_publishes_is_a_retryable_conflict() -> None:
    """While a load writes its rows (the writer's place reserved), readers go on and writers are refused."""
    store = graph_with_two_vertices()
    reserved, done = threading.Event(), threading.Event()

    def publishing_load() -> None:
        store.lock.reserve()
        reserved.set()
        done.wait(10)
        store.lock.cancel_reservation()

    thread = threading.Thread(target=publishing_load)
    thread.start()
    try:
        assert reserved.wait(10)
        with store.transaction():
            assert sorted(store.vertices) == ["a", "b"]  # a read goes on
        with pytest.raises(ConcurrentModification), store.transaction() as tx:
            tx.add_vertex("c")
        assert "c" not in store.vertices
    finally:
        done.set()
        thread.join(10)
    with store.transaction() as tx:  # once published, writing works again
        tx.add_vertex("c")
    assert "c" in store.vertices
