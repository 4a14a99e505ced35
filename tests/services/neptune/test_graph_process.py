"""The graph server in its own process under ``mlharbor up``: supervised, restarted, its query timeout a setting."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from gremlin_python.driver.driver_remote_connection import DriverRemoteConnection
from gremlin_python.driver.protocol import GremlinServerError
from gremlin_python.process.anonymous_traversal import traversal
from gremlin_python.process.traversal import T

from emulator.testing.subprocess_harbor import RunningHarbor, start_harbor

#: the harbor's default query timeout here (``--neptune-query-timeout``), in ms
DEFAULT_TIMEOUT_MS = 1500


@pytest.fixture(scope="module")
def harbor_with_graph(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningHarbor]:
    running = start_harbor(tmp_path_factory.mktemp("graph-process"), "--neptune-query-timeout",
                           str(DEFAULT_TIMEOUT_MS))
    yield running
    running.kill()


def server_info(harbor: RunningHarbor) -> dict:
    return json.loads((harbor.data_dir / "server.json").read_text())


def gremlin_url(harbor: RunningHarbor) -> str:
    assert harbor.graph is not None
    return harbor.graph.replace("http://", "ws://") + "/gremlin"


def graph_pid(harbor: RunningHarbor) -> int:
    with urllib.request.urlopen(harbor.endpoint + "/_mlharbor/health", timeout=10):
        pass
    return int(server_info(harbor)["graph_pid"])


def children_of(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.add(int(entry.name))
    return found


def test_the_graph_runs_in_its_own_process(harbor_with_graph: RunningHarbor) -> None:
    info = server_info(harbor_with_graph)
    assert info["graph_pid"] != info["pid"]
    assert info["graph_pid"] in children_of(harbor_with_graph.process.pid)
    remote = DriverRemoteConnection(gremlin_url(harbor_with_graph), "g")
    try:
        g = traversal().with_remote(remote)
        for index in range(120):
            g.add_v("heavy").property(T.id, f"h{index}").iterate()
        assert g.V().has_label("heavy").count().next() == 120
    finally:
        remote.close()


def test_a_heavy_query_does_not_hold_back_the_edge(harbor_with_graph: RunningHarbor) -> None:
    """While a query that can only end by its timeout runs in the graph process, S3 answers."""
    remote = DriverRemoteConnection(gremlin_url(harbor_with_graph), "g")
    outcome: list[BaseException] = []

    def heavy() -> None:
        g = traversal().with_remote(remote)
        try:  # 120^4 traversers: minutes of work, ended by the 8 s evaluationTimeout
            g.with_("evaluationTimeout", 8000).V().has_label("heavy").V().V().V().count().next()
        except BaseException as error:
            outcome.append(error)

    runner = threading.Thread(target=heavy)
    runner.start()
    try:
        time.sleep(0.5)  # let the query start
        s3 = harbor_with_graph.client("s3")
        s3.create_bucket(Bucket="while-the-graph-works")
        assert "while-the-graph-works" in [b["Name"] for b in s3.list_buckets()["Buckets"]]
        assert runner.is_alive(), "the S3 calls answered only after the graph query ended"
    finally:
        runner.join(60)
        remote.close()
    assert outcome and isinstance(outcome[0], GremlinServerError) and outcome[0].status_code == 598


def test_the_server_default_timeout_ends_a_query(harbor_with_graph: RunningHarbor) -> None:
    remote = DriverRemoteConnection(gremlin_url(harbor_with_graph), "g")
    try:
        g = traversal().with_remote(remote)
        with pytest.raises(GremlinServerError) as error:
            g.V().has_label("heavy").V().V().V().count().next()  # no evaluationTimeout: the setting's
        assert error.value.status_code == 598
        assert "TimeLimitExceededException" in str(error.value)
    finally:
        remote.close()


def test_a_dead_graph_process_is_started_again(harbor_with_graph: RunningHarbor) -> None:
    before = graph_pid(harbor_with_graph)
    os.kill(before, signal.SIGKILL)
    deadline = time.monotonic() + 60
    while True:
        remaining = children_of(harbor_with_graph.process.pid) - {before}
        try:
            remote = DriverRemoteConnection(gremlin_url(harbor_with_graph), "g")
            try:
                count = traversal().with_remote(remote).V().has_label("heavy").count().next()
            finally:
                remote.close()
            break
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    assert count == 120  # same port, same graph file
    assert remaining, "no new graph process"
    assert "restarting it" in harbor_with_graph.log_path.read_text()
    while server_info(harbor_with_graph)["graph_pid"] == before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert server_info(harbor_with_graph)["graph_pid"] in remaining  # server.json names the new process
