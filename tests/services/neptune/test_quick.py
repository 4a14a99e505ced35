"""Quick answers: a request tried on the event loop itself, handed to a worker the moment it would wait, write
or run past its budget; either way the client gets the same answer, and a write is applied once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from gremlin_python.driver.client import Client
from gremlin_python.process.graph_traversal import GraphTraversalSource, __
from gremlin_python.process.traversal import T

from emulator.services.neptune import GraphServer, quick
from emulator.services.neptune.rwlock import ReadWriteLock
from tests.services.neptune.conftest import ws_url


@pytest.fixture
def worker_runs(server: GraphServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """What the server hands to its worker threads from now on."""
    executor = server._executor
    assert executor is not None
    handed: list[Any] = []
    submit = executor.submit

    def counted(fn: Any, *args: Any, **kwargs: Any) -> Any:
        handed.append(fn)
        return submit(fn, *args, **kwargs)

    monkeypatch.setattr(executor, "submit", counted)
    yield handed


def test_an_attempt_gives_its_result_or_none_and_leaves_no_deadline_behind() -> None:
    assert quick.attempt(lambda: 7) == 7
    assert not quick.attempting()

    def waits() -> int:
        assert quick.attempting()
        quick.give_up_if_attempting()
        return 1

    assert quick.attempt(waits) is None
    assert not quick.attempting()
    quick.give_up_if_attempting()  # outside an attempt: nothing happens


def test_a_read_in_an_attempt_gives_up_rather_than_wait_for_a_writer() -> None:
    lock = ReadWriteLock()
    holding, release = threading.Event(), threading.Event()

    def writer() -> None:
        with lock:
            holding.set()
            release.wait(10)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert holding.wait(10)
        assert quick.attempt(lambda: lock.acquire_read()) is None  # returned at once instead of waiting
    finally:
        release.set()
        thread.join(10)
    assert quick.attempt(lambda: lock.acquire_read() or "read") == "read"  # no writer: the read goes ahead
    lock.release_read()


def test_point_reads_are_answered_on_the_loop(empty_graph: GraphTraversalSource, worker_runs: list[Any]) -> None:
    g = empty_graph
    g.add_v("person").property(T.id, "p1").property("name", "ada").iterate()
    worker_runs.clear()
    for _ in range(20):
        assert g.V("p1").value_map().next() == {"name": ["ada"]}
        assert g.V("p1").out().count().next() == 0
    assert worker_runs == []


def test_a_write_goes_to_a_worker_and_is_applied_once(empty_graph: GraphTraversalSource,
                                                      worker_runs: list[Any]) -> None:
    g = empty_graph
    g.add_v("once").iterate()  # an id the server makes: a second run would make a second vertex
    g.inject(1).add_v("once").iterate()
    assert len(worker_runs) == 2
    assert g.V().has_label("once").count().next() == 2


def test_a_read_past_the_budget_is_answered_by_a_worker_in_full(empty_graph: GraphTraversalSource,
                                                                worker_runs: list[Any],
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    g = empty_graph
    g.inject(list(range(3000))).unfold().as_("n").add_v("many").property("n", __.select("n")).iterate()
    monkeypatch.setattr(quick, "BUDGET_S", 0.0)  # every deadline check of an attempt finds the budget spent
    worker_runs.clear()
    values = g.V().has_label("many").values("n").to_list()
    assert sorted(values) == list(range(3000))  # nothing of the attempt's part is sent twice or lost
    assert len(worker_runs) == 1
    worker_runs.clear()
    assert g.V().has_label("many").limit(3).count().next() == 3  # a few steps: no deadline check, on the loop
    assert worker_runs == []


def test_scripts_and_sessions_go_to_workers(server: GraphServer, empty_graph: GraphTraversalSource,
                                            worker_runs: list[Any]) -> None:
    client = Client(ws_url(server), "g")
    try:
        assert client.submit("g.inject(41).math('_ + 1')").all().result() == [42.0]
    finally:
        client.close()
    assert len(worker_runs) == 1
    tx = empty_graph.tx()
    gtx = tx.begin()
    gtx.add_v("in_session").iterate()
    tx.commit()
    assert len(worker_runs) >= 3  # the session's write and its commit
    assert empty_graph.V().has_label("in_session").count().next() == 1
