"""Snapshot reads: while one request writes, read-only requests answer from the last commit, not after it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from gremlin_python.driver.client import Client
from gremlin_python.driver.driver_remote_connection import DriverRemoteConnection
from gremlin_python.driver.protocol import GremlinServerError
from gremlin_python.process.anonymous_traversal import traversal
from gremlin_python.process.graph_traversal import GraphTraversalSource, __
from gremlin_python.process.traversal import T
from gremlin_python.structure.graph import Vertex
from gremlin_python.structure.io.graphsonV3d0 import GraphSONReader

from emulator.services.neptune import GraphServer
from emulator.services.neptune.gremlin.bytecode import Bytecode, Pred, Strategy
from emulator.services.neptune.gremlin.traversal import execute
from emulator.services.neptune.snapshot import ReadView, writes
from emulator.services.neptune.store import GraphStore
from tests.services.neptune.conftest import neptune_client, ws_url


@pytest.fixture
def store(tmp_path: Path) -> Iterator[GraphStore]:
    """A file-backed graph: a -knows-> b -knows-> c, a -likes-> c."""
    graph = GraphStore(tmp_path / "graph.sqlite")
    with graph.transaction() as tx:
        a, b, c = (tx.add_vertex(name, "person") for name in "abc")
        tx.set_vertex_property(a, "name", "alice", "single")
        tx.add_edge("ab", "knows", a, b)
        tx.add_edge("bc", "knows", b, c)
        tx.set_edge_property(tx.add_edge("ac", "likes", a, c), "since", 2020)
    yield graph
    graph.close()


def read(store: GraphStore, *steps: tuple[str, list[object]]) -> list[object]:
    return execute(ReadView(store), Bytecode(list(steps)))


class HeldWrite:
    """A write transaction held open on its own thread, as a long write traversal holds it."""

    def __init__(self, store: GraphStore) -> None:
        self.store = store
        self.written, self.release = threading.Event(), threading.Event()
        self.thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        with self.store.transaction() as tx:
            a = self.store.vertices["a"]
            tx.set_vertex_property(a, "name", "changed", "single")
            tx.add_edge("ad", "knows", a, tx.add_vertex("d", "person"))
            tx.drop_edge(self.store.edges["bc"])
            self.written.set()
            self.release.wait(30)

    def __enter__(self) -> HeldWrite:
        self.thread.start()
        assert self.written.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.thread.join(10)


def test_reads_answer_with_the_pre_write_state_while_a_write_is_held_open(store: GraphStore) -> None:
    with HeldWrite(store):
        assert store.lock.writer_active()
        # each read runs on another thread, so a read waiting for the writer shows as a thread still alive
        answers: dict[str, list[object]] = {}

        def reads() -> None:
            answers["name"] = read(store, ("V", ["a"]), ("values", ["name"]))
            answers["vertices"] = read(store, ("V", []), ("id", []))
            answers["out"] = read(store, ("V", ["a"]), ("out", ["knows"]), ("id", []))
            answers["two hops"] = read(store, ("V", ["a"]), ("out", []), ("out", []), ("id", []))
            answers["in"] = read(store, ("V", ["c"]), ("in", []), ("id", []))
            answers["edges"] = read(store, ("E", []), ("id", []))
            answers["edge props"] = read(store, ("E", ["ac"]), ("values", ["since"]))
            answers["missing"] = read(store, ("V", ["d"]), ("id", []))
            answers["elements"] = read(store, ("V", ["a"]), ("outE", ["likes"]), ("bothV", []))

        reader = threading.Thread(target=reads)
        reader.start()
        reader.join(20)
        assert not reader.is_alive(), "a read waited for the writer"
    assert answers == {"name": ["alice"], "vertices": ["a", "b", "c"], "out": ["b"], "two hops": ["c"],
                       "in": ["b", "a"], "edges": ["ab", "bc", "ac"], "edge props": [2020], "missing": [],
                       "elements": [Vertex("a", "person"), Vertex("c", "person")]}
    # the write committed: reads see it now (from the in-memory graph again)
    assert read(store, ("V", ["a"]), ("values", ["name"])) == ["changed"]
    assert sorted(read(store, ("V", ["a"]), ("out", ["knows"]), ("id", []))) == ["b", "d"]
    assert read(store, ("E", ["bc"]), ("id", [])) == []


def test_a_snapshot_read_keeps_one_snapshot_while_a_commit_lands(store: GraphStore) -> None:
    """A snapshot read that started before a commit keeps seeing the state it started on."""
    with HeldWrite(store) as held:
        view = ReadView(store)
        with view.transaction():
            assert view.snapshot is not None
            held.release.set()
            held.thread.join(10)  # the write commits to the file meanwhile
            assert store.vertices["a"].props["name"] == ["changed"]
            assert view.vertices.get("a").props["name"] == ["alice"]
            assert "d" not in view.vertices and len(view.edges) == 3


def test_what_counts_as_a_write() -> None:
    child_write = Bytecode([("V", []), ("addE", ["x"])])
    assert writes(Bytecode([("V", []), ("drop", [])]))
    assert writes(Bytecode([("V", []), ("sideEffect", [child_write])]))
    assert writes(Bytecode([("V", []), ("where", [Pred("and", [child_write])])]))
    assert writes(Bytecode([("inject", [1])], [("withStrategies", [Strategy("SubgraphStrategy",
                                                                             {"vertices": child_write})])]))
    assert not writes(Bytecode([("V", []), ("out", []), ("where", [Bytecode([("values", ["name"])])])]))


class LongWrite:
    """A write traversal on its own websocket that holds the graph for write until its timeout rolls it back.

    150 ``slowwrite`` vertices are written "before" first; the traversal sets the first to "after", then
    walks 150^3 traversers, so only its ``evaluationTimeout`` ends it.
    """

    def __init__(self, server: GraphServer, g: GraphTraversalSource, timeout_ms: int = 6000) -> None:
        self.server, self.g, self.timeout_ms = server, g, timeout_ms
        self.remote = DriverRemoteConnection(ws_url(server), "g")
        self.outcome: list[BaseException] = []
        self.runner = threading.Thread(target=self._write)

    def _write(self) -> None:
        try:
            traversal().with_remote(self.remote).with_("evaluationTimeout", self.timeout_ms).V().has_label("slowwrite") \
                .property("state", "after").V().V().V().count().next()
        except BaseException as error:
            self.outcome.append(error)

    def __enter__(self) -> LongWrite:
        self.g.V().has_label("slowwrite").drop().iterate()
        for index in range(150):
            self.g.add_v("slowwrite").property(T.id, f"slowwrite{index}").property("state", "before").iterate()
        self.runner.start()
        store = self.server.store
        for _ in range(200):  # until the write traversal has the graph (its lock held for write)
            if store is not None and store.lock.writer_active():
                break
            self.runner.join(0.05)
        assert store is not None and store.lock.writer_active()
        return self

    def still_writing(self) -> bool:
        return self.runner.is_alive()

    def __exit__(self, *exc: object) -> None:
        self.runner.join(60)
        self.remote.close()

    def timed_out(self) -> bool:
        return bool(self.outcome) and isinstance(self.outcome[0], GremlinServerError) \
            and self.outcome[0].status_code == 598


def test_a_long_write_traversal_does_not_hold_back_reads_on_another_connection(server: GraphServer) -> None:
    reader_remote = DriverRemoteConnection(ws_url(server), "g")
    g = traversal().with_remote(reader_remote)
    try:
        with LongWrite(server, g) as write:
            states = g.V().has_label("slowwrite").values("state").dedup().to_list()
            neighbours = g.V("slowwrite7").both().count().next()
            assert write.still_writing(), "the reads were answered only after the write traversal ended"
        rolled_back = g.V().has_label("slowwrite").where(__.values("state").is_("after")).count().next() == 0
    finally:
        reader_remote.close()
    assert states == ["before"] and neighbours == 0
    assert write.timed_out()
    assert rolled_back  # the timed-out write kept nothing


def test_script_and_http_reads_are_not_held_back_by_a_long_write(server: GraphServer) -> None:
    """Gremlin scripts (websocket ``eval``) and HTTP ``POST /gremlin`` read the last commit too."""
    reader_remote = DriverRemoteConnection(ws_url(server), "g")
    scripts = Client(ws_url(server), "g")
    neptune = neptune_client(server.url)
    g = traversal().with_remote(reader_remote)
    try:
        # snapshot reads scan the file's tables: on a graph earlier tests filled, three of them can take seconds
        with LongWrite(server, g, timeout_ms=20_000) as write:
            script_states = scripts.submit("g.V().hasLabel('slowwrite').values('state').dedup()").all().result()
            script_count = scripts.submit("g.V().hasLabel('slowwrite').count().next()").all().result()
            http = neptune.execute_gremlin_query(gremlinQuery="g.V().hasLabel('slowwrite').values('state').dedup()")
            assert write.still_writing(), "the script reads were answered only after the write traversal ended"
            # a script that writes still waits for the writer (it cannot read a snapshot)
            written = scripts.submit("g.addV('afterwrite').property(id, 'aw1').id()").all().result()
    finally:
        scripts.close()
        reader_remote.close()
    assert script_states == ["before"] and script_count == [150]
    assert GraphSONReader().to_object(http["result"]["data"]) == ["before"]
    assert written == ["aw1"] and write.timed_out()
