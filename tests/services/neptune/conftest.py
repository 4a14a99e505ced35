"""Fixtures for the graph server tests: an embedded S3 (moto), a graph server, and real clients.

Every test talks to a running :class:`GraphServer` over its real ports, with gremlinpython
(GraphBinary and GraphSON) and boto3's ``neptunedata`` client.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from gremlin_python.driver.driver_remote_connection import DriverRemoteConnection
from gremlin_python.driver.serializer import GraphBinarySerializersV1, GraphSONSerializersV3d0
from gremlin_python.process.anonymous_traversal import traversal
from gremlin_python.process.graph_traversal import GraphTraversalSource
from moto.server import ThreadedMotoServer

from emulator.services.neptune import GraphServer

CORA = Path(__file__).resolve().parents[3] / "../shared/datasets/cora"
SERIALIZERS = {"graphbinary": GraphBinarySerializersV1, "graphson": GraphSONSerializersV3d0}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The issue's client code uses ``with_remote()``, which gremlinpython 3.8 marks deprecated."""
    for item in items:
        if "tests/services/neptune/" in str(item.path):
            item.add_marker(pytest.mark.filterwarnings(
                "ignore:gremlin_python.process.AnonymousTraversalSource.with_remote:DeprecationWarning"))


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """An embedded S3 on a free loopback port."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(scope="session")
def s3(s3_endpoint: str) -> Any:
    return boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing")


@pytest.fixture
def bucket(s3: Any) -> str:
    name = f"graph-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


def start_server(data_dir: Path, s3_endpoint: str) -> GraphServer:
    server = GraphServer(data_dir=data_dir, host="127.0.0.1", port=0, s3_endpoint_url=s3_endpoint,
                         region="us-east-1")
    server.start()
    return server


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory, s3_endpoint: str) -> Iterator[GraphServer]:
    """One graph server for the session; tests that need a clean graph use ``empty_graph``."""
    running = start_server(tmp_path_factory.mktemp("graph"), s3_endpoint)
    yield running
    running.stop()


def neptune_client(url: str) -> Any:
    return boto3.client("neptunedata", endpoint_url=url, region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing",
                        config=Config(retries={"max_attempts": 1}))


@pytest.fixture(scope="session")
def neptune(server: GraphServer) -> Any:
    return neptune_client(server.url)


def ws_url(server: GraphServer) -> str:
    return f"ws://127.0.0.1:{server.port}/gremlin"


@pytest.fixture(scope="session", params=sorted(SERIALIZERS))
def connection(request: pytest.FixtureRequest, server: GraphServer) -> Iterator[DriverRemoteConnection]:
    """A gremlinpython connection, once per serializer (GraphBinary v1 and GraphSON v3)."""
    conn = DriverRemoteConnection(ws_url(server), "g", message_serializer=SERIALIZERS[request.param]())
    yield conn
    conn.close()


@pytest.fixture
def g(connection: DriverRemoteConnection) -> GraphTraversalSource:
    return traversal().with_remote(connection)


@pytest.fixture
def empty_graph(g: GraphTraversalSource) -> GraphTraversalSource:
    g.V().drop().iterate()
    return g


def wait_for_load(neptune: Any, load_id: str, timeout: float = 120) -> dict[str, Any]:
    """Poll Get-Status until the load leaves LOAD_NOT_STARTED / LOAD_IN_QUEUE / LOAD_IN_PROGRESS."""
    deadline = time.monotonic() + timeout
    while True:
        payload = neptune.get_loader_job_status(loadId=load_id, details=True, errors=True,
                                                errorsPerPage=100)["payload"]
        if payload["overallStatus"]["status"] not in ("LOAD_NOT_STARTED", "LOAD_IN_QUEUE", "LOAD_IN_PROGRESS"):
            return payload
        if time.monotonic() > deadline:
            raise TimeoutError(f"load {load_id} still {payload['overallStatus']['status']}")
        time.sleep(0.05)


@pytest.fixture
def load(neptune: Any, s3: Any, bucket: str) -> Callable[..., dict[str, Any]]:
    """Upload ``{name: csv text}`` under a fresh prefix, bulk-load it, wait; returns the status payload."""

    def run(files: dict[str, str | bytes], **params: Any) -> dict[str, Any]:
        prefix = f"load-{uuid.uuid4().hex[:8]}/"
        for name, body in files.items():
            s3.put_object(Bucket=bucket, Key=prefix + name, Body=body.encode() if isinstance(body, str) else body)
        response = neptune.start_loader_job(source=f"s3://{bucket}/{prefix}", format="csv",
                                            s3BucketRegion="us-east-1",
                                            iamRoleArn="arn:aws:iam::123456789012:role/NeptuneLoadFromS3",
                                            **params)
        payload = wait_for_load(neptune, response["payload"]["loadId"])
        payload["loadId"] = response["payload"]["loadId"]
        return payload

    return run


MODERN_VERTICES = [
    ("1", "person", {"name": "marko", "age": 29}),
    ("2", "person", {"name": "vadas", "age": 27}),
    ("3", "software", {"name": "lop", "lang": "java"}),
    ("4", "person", {"name": "josh", "age": 32}),
    ("5", "software", {"name": "ripple", "lang": "java"}),
    ("6", "person", {"name": "peter", "age": 35}),
]
MODERN_EDGES = [
    ("7", "1", "knows", "2", 0.5), ("8", "1", "knows", "4", 1.0), ("9", "1", "created", "3", 0.4),
    ("10", "4", "created", "5", 1.0), ("11", "4", "created", "3", 0.4), ("12", "6", "created", "3", 0.2),
]


@pytest.fixture
def modern(empty_graph: GraphTraversalSource) -> GraphTraversalSource:
    """TinkerPop's "modern" toy graph (the Gherkin features' reference graph), added through Gremlin."""
    from gremlin_python.process.graph_traversal import __
    from gremlin_python.process.traversal import T

    g = empty_graph
    for vid, label, props in MODERN_VERTICES:
        t = g.add_v(label).property(T.id, vid)
        for key, value in props.items():
            t = t.property(key, value)
        t.iterate()
    for eid, out_id, label, in_id, weight in MODERN_EDGES:
        g.V(out_id).add_e(label).to(__.V(in_id)).property(T.id, eid).property("weight", weight).iterate()
    return g
