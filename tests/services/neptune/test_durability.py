"""Durability: the graph survives a restart, and a crash in the middle of a load leaves it consistent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from gremlin_python.driver.driver_remote_connection import DriverRemoteConnection
from gremlin_python.process.anonymous_traversal import traversal
from gremlin_python.process.graph_traversal import __
from gremlin_python.process.traversal import T

from tests.services.neptune.conftest import neptune_client, start_server, wait_for_load

REPO = Path(__file__).resolve().parents[3]
ROLE = "arn:aws:iam::123456789012:role/NeptuneLoadFromS3"


def remote(port: int) -> DriverRemoteConnection:
    return DriverRemoteConnection(f"ws://127.0.0.1:{port}/gremlin", "g")


def test_graph_and_load_records_survive_restart(tmp_path: Path, s3_endpoint: str, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="d/v.csv", Body=b"~id,name\nd1,one\nd2,two\n")
    server = start_server(tmp_path, s3_endpoint)
    conn = remote(server.port)
    try:
        g = traversal().with_remote(conn)
        neptune = neptune_client(server.url)
        load_id = neptune.start_loader_job(source=f"s3://{bucket}/d/", format="csv", s3BucketRegion="us-east-1",
                                           iamRoleArn=ROLE)["payload"]["loadId"]
        assert wait_for_load(neptune, load_id)["overallStatus"]["status"] == "LOAD_COMPLETED"
        g.V("d1").add_e("next").to(__.V("d2")).property(T.id, "n1").property("w", 3).iterate()
        g.V("d2").property("name", "deux").iterate()
        g.add_v("gone").property(T.id, "d3").iterate()
        g.V("d3").drop().iterate()
    finally:
        conn.close()
        server.stop()
    server = start_server(tmp_path, s3_endpoint)
    conn = remote(server.port)
    try:
        g = traversal().with_remote(conn)
        assert sorted(g.V().id_().to_list()) == ["d1", "d2"]
        assert sorted(g.V("d2").values("name").to_list()) == ["deux", "two"]
        assert g.E("n1").element_map().next()["w"] == 3
        neptune = neptune_client(server.url)
        assert neptune.get_loader_job_status(loadId=load_id)["payload"]["overallStatus"]["status"] == \
            "LOAD_COMPLETED"
    finally:
        conn.close()
        server.stop()


SERVE = """
import sys, time
from pathlib import Path
from emulator.services.neptune import GraphServer
server = GraphServer(Path(sys.argv[1]), port=0, s3_endpoint_url=sys.argv[2])
server.start()
print(server.port, flush=True)
time.sleep(3600)
"""


@pytest.mark.slow
def test_crash_mid_load_leaves_the_graph_consistent(tmp_path: Path, s3_endpoint: str, s3: Any,
                                                     bucket: str) -> None:
    vertices = 20_000
    edges = 200_000
    body = "~id\n" + "".join(f"v{i}\n" for i in range(vertices))
    s3.put_object(Bucket=bucket, Key="big/v.csv", Body=body.encode())
    body = "~id,~from,~to,~label\n" + "".join(
        f"e{i},v{i % vertices},v{(i * 7 + 1) % vertices},link\n" for i in range(edges))
    s3.put_object(Bucket=bucket, Key="big/e.csv", Body=body.encode())
    # the graph holds something before the load: it must survive whatever happens to the load
    server = start_server(tmp_path, s3_endpoint)
    conn = remote(server.port)
    traversal().with_remote(conn).add_v("before").property(T.id, "keep").iterate()
    conn.close()
    server.stop()

    process = subprocess.Popen([sys.executable, "-c", SERVE, str(tmp_path), s3_endpoint], cwd=REPO,
                               stdout=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        port = int(process.stdout.readline())  # type: ignore[union-attr]
        neptune = neptune_client(f"http://127.0.0.1:{port}")
        load_id = neptune.start_loader_job(source=f"s3://{bucket}/big/", format="csv", s3BucketRegion="us-east-1",
                                           iamRoleArn=ROLE)["payload"]["loadId"]
        deadline = time.monotonic() + 60
        while neptune.get_loader_job_status(loadId=load_id)["payload"]["overallStatus"]["status"] != \
                "LOAD_IN_PROGRESS":
            if time.monotonic() > deadline:
                raise TimeoutError("the load never started")
            time.sleep(0.02)
        time.sleep(0.5)
        process.send_signal(signal.SIGKILL)  # a crash, not a clean stop
        process.wait(30)
    finally:
        if process.poll() is None:
            process.kill()

    server = start_server(tmp_path, s3_endpoint)
    conn = remote(server.port)
    try:
        g = traversal().with_remote(conn)
        status = neptune_client(server.url).get_loader_job_status(loadId=load_id, errors=True)["payload"]
        counts = (g.V().count().next(), g.E().count().next())
        assert g.V("keep").count().next() == 1
        if status["overallStatus"]["status"] == "LOAD_COMPLETED":
            assert counts == (vertices + 1, edges)
        else:
            assert status["overallStatus"]["status"] == "LOAD_FAILED"
            assert counts == (1, 0)  # nothing of the interrupted load, everything from before
            assert "stopped during the load" in status["errors"]["errorLogs"][-1]["errorMessage"]
    finally:
        conn.close()
        server.stop()
