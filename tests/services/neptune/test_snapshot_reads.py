"""Snapshot reads: while one request writes, read-only requests answer from the last commit, not after it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from gremlin_python.driver.driver_remote_connection import DriverRemoteConnection
from gremlin_python.driver.protocol import GremlinServerError
from gremlin_python.process.anonymous_traversal import traversal
from gremlin_python.process.graph_traversal import __
from gremlin_python.process.traversal import T
from gremlin_python.structure.graph import Vertex

from emulator.services.neptune import GraphServer
from emulator.services.neptune.gremlin.bytecode import Bytecode, Pred, Strategy
from emulator.services.neptune.gremlin.traversal import execute
from emulator.services.neptune.snapshot import ReadView, writes
from emulator.services.neptune.store import GraphStore
from tests.services.neptune.conftest import ws_url


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


def test_a_long_write_traversal_does_not_hold_back_reads_on_another_connection(server: GraphServer) -> None:
    writer_remote = DriverRemoteConnection(ws_url(server), "g")
    reader_remote = DriverRemoteConnection(ws_url(server), "g")
    g = traversal().with_remote(reader_remote)
    for index in range(150):
        g.add_v("slowwrite").property(T.id, f"slowwrite{index}").property("state", "before").iterate()
    outcome: list[BaseException] = []

    def long_write() -> None:
        try:  # the first vertex is written at once, then 150^3 traversers: only the timeout ends it
            traversal().with_remote(writer_remote).with_("evaluationTimeout", 6000).V().has_label("slowwrite") \
                .property("state", "after").V().V().V().count().next()
        except BaseException as error:
            outcome.append(error)

    runner = threading.Thread(target=long_write)
    runner.start()
    try:
        for _ in range(200):  # until the write traversal has the graph (its lock held for write)
            if server.store is not None and server.store.lock.writer_active():
                break
            runner.join(0.05)
        assert server.store is not None and server.store.lock.writer_active()
        states = g.V().has_label("slowwrite").values("state").dedup().to_list()
        neighbours = g.V("slowwrite7").both().count().next()
        assert runner.is_alive(), "the reads were answered only after the write traversal ended"
        runner.join(60)
        rolled_back = g.V().has_label("slowwrite").where(__.values("state").is_("after")).count().next() == 0
    finally:
        runner.join(60)
        writer_remote.close()
        reader_remote.close()
    assert states == ["before"] and neighbours == 0
    assert outcome and isinstance(outcome[0], GremlinServerError) and outcome[0].status_code == 598
    assert rolled_back  # the timed-out write kept nothing
