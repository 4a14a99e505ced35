"""Glue -> Neptune from a job: write vertices and edges with gremlinpython, or bulk-load CSV through ``/loader``.

Rows follow Neptune's Gremlin load-data columns: ``~id`` and ``~label`` for vertices, ``~id``, ``~from``,
``~to`` and ``~label`` for edges; every other column is a property, named by the part of its header
before ``:`` (``age:Int`` -> ``age``); nulls are left out. The graph server is named by the job's Glue
connection (``JDBC_CONNECTION_URL = jdbc:wss://HOST:PORT/gremlin``), else by the graph endpoint every
run is given. The same pattern as AWS's neptune-python-utils (one client per Spark partition, from
``foreachPartition``), written here from its documented usage.

Example (in a glueetl script)::

    from mlharbor_glue import neptune
    graph = neptune.endpoint("my-neptune-connection")
    neptune.write_vertices(vertices_df, graph)
    neptune.write_edges(edges_df, graph)
"""

from __future__ import annotations

import functools
import json
import os
import time
import urllib.request
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from mlharbor_glue import runenv

#: Set for every run by the server: the graph server's Gremlin URL (ws://HOST:PORT/gremlin).
GRAPH_ENDPOINT_ENV = "MLHARBOR_GRAPH_ENDPOINT"
JDBC_URL = "JDBC_CONNECTION_URL"
SYSTEM_COLUMNS = ("~id", "~label", "~from", "~to")
DEFAULT_LOAD_ROLE = "arn:aws:iam::123456789012:role/NeptuneLoadFromS3"
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


class GraphConnectionError(ValueError):
    """No graph server is named, or a named connection does not name one."""


@dataclass(frozen=True)
class GraphEndpoint:
    """Where the graph server is: its Gremlin websocket URL, and its HTTP root (``/loader``, ``/status``)."""

    gremlin_url: str

    @property
    def http_url(self) -> str:
        parsed = urlparse(self.gremlin_url)
        return f"{'https' if parsed.scheme == 'wss' else 'http'}://{parsed.netloc}"


def endpoint_from_url(url: str) -> GraphEndpoint:
    """A graph endpoint from ``jdbc:wss://H:P/gremlin``, ``wss://``, ``ws://`` or ``http(s)://H:P``.

    The local graph server speaks plain websockets, so a ``wss`` URL to a loopback host (what a
    connection copied from Neptune says) is used as ``ws``.

    Raises:
        GraphConnectionError: not a URL of those forms.
    """
    value = url[len("jdbc:"):] if url.startswith("jdbc:") else url
    parsed = urlparse(value)
    if parsed.scheme not in ("ws", "wss", "http", "https") or not parsed.hostname:
        raise GraphConnectionError(f"not a Gremlin endpoint URL: {url!r}")
    scheme = {"http": "ws", "https": "wss"}.get(parsed.scheme, parsed.scheme)
    if scheme == "wss" and parsed.hostname in _LOOPBACK:
        scheme = "ws"
    path = parsed.path if parsed.path.rstrip("/").endswith("/gremlin") else parsed.path.rstrip("/") + "/gremlin"
    return GraphEndpoint(f"{scheme}://{parsed.netloc}{path}")


def endpoint(connection_name: str | None = None) -> GraphEndpoint:
    """The graph server a job writes to: its Glue connection's URL, else the run's graph endpoint.

    Args:
        connection_name: one of the job's Connections (the only one or the run's default when ``None``).

    Raises:
        GraphConnectionError: the connection is not the job's, or nothing names a graph server.
    """
    path = runenv.current().connections
    connections: dict[str, Any] = {}
    if path is not None and path.is_file():
        connections = json.loads(path.read_text(encoding="utf-8") or "{}")
    if connection_name is not None and connection_name not in connections:
        raise GraphConnectionError(f"connection {connection_name!r} is not one of the job's Connections "
                                   f"({', '.join(sorted(connections)) or 'none'})")
    chosen = [connections[connection_name]] if connection_name else list(connections.values())
    for connection in chosen:
        url = connection.get("GraphEndpoint") or connection.get("ConnectionProperties", {}).get(JDBC_URL, "")
        if url:
            return endpoint_from_url(url)
    if os.environ.get(GRAPH_ENDPOINT_ENV):
        return endpoint_from_url(os.environ[GRAPH_ENDPOINT_ENV])
    raise GraphConnectionError("no graph server: give the job a connection with JDBC_CONNECTION_URL "
                               "jdbc:wss://HOST:PORT/gremlin, or run it on a server with a graph port")


def property_name(column: str) -> str:
    """``age:Int`` -> ``age`` (the bulk-load header's type suffix is not part of the key)."""
    return column.split(":", 1)[0]


def properties(row: dict[str, Any]) -> list[tuple[str, Any]]:
    return [(property_name(k), v) for k, v in row.items() if k not in SYSTEM_COLUMNS and v is not None]


def _batches(rows: Iterable[Any], size: int) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row.asDict() if hasattr(row, "asDict") else dict(row))
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _with_graph(url: str, work: Any) -> None:
    from gremlin_python.driver.driver_remote_connection import DriverRemoteConnection
    from gremlin_python.process.anonymous_traversal import traversal

    connection = DriverRemoteConnection(url, "g")
    try:
        work(traversal().with_(connection))
    finally:
        connection.close()


def add_vertices(url: str, batch_size: int, rows: Iterable[Any]) -> None:
    """Adds every vertex row of one partition, ``batch_size`` vertices per traversal."""
    from gremlin_python.process.traversal import T

    def work(g: Any) -> None:
        for batch in _batches(rows, batch_size):
            traversal = g
            for row in batch:
                traversal = traversal.add_v(str(row.get("~label") or "vertex"))
                if row.get("~id") is not None:
                    traversal = traversal.property(T.id, str(row["~id"]))
                for key, value in properties(row):
                    traversal = traversal.property(key, value)
            traversal.iterate()

    _with_graph(url, work)


def add_edges(url: str, batch_size: int, rows: Iterable[Any]) -> None:
    """Adds every edge row of one partition (``~from`` -> ``~to``), one traversal per edge."""
    from gremlin_python.process.graph_traversal import __
    from gremlin_python.process.traversal import T

    def work(g: Any) -> None:
        for batch in _batches(rows, batch_size):
            for row in batch:
                traversal = g.V(str(row["~from"])).add_e(str(row.get("~label") or "edge")).to(__.V(str(row["~to"])))
                if row.get("~id") is not None:
                    traversal = traversal.property(T.id, str(row["~id"]))
                for key, value in properties(row):
                    traversal = traversal.property(key, value)
                traversal.iterate()

    _with_graph(url, work)


def _frame(data: Any) -> Any:
    return data.toDF() if hasattr(data, "toDF") and not hasattr(data, "foreachPartition") else data


def write_vertices(data: Any, graph: GraphEndpoint, batch_size: int = 50) -> None:
    """Writes a DataFrame (or DynamicFrame) of vertex rows to the graph, from every partition at once."""
    _frame(data).foreachPartition(functools.partial(add_vertices, graph.gremlin_url, batch_size))


def write_edges(data: Any, graph: GraphEndpoint, batch_size: int = 50) -> None:
    """Writes a DataFrame (or DynamicFrame) of edge rows; their vertices must exist."""
    _frame(data).foreachPartition(functools.partial(add_edges, graph.gremlin_url, batch_size))


def write_load_csv(data: Any, path: str, mode: str = "overwrite") -> None:
    """Writes rows as Neptune Gremlin load-data CSV (header line, ``~id,~label,name:Type...``) under ``path``."""
    _frame(data).write.mode(mode).option("header", "true").csv(path)


def _http(method: str, url: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read() or b"{}")


def start_load(graph: GraphEndpoint, source: str, region: str | None = None, role_arn: str = DEFAULT_LOAD_ROLE,
               wait: bool = True, timeout: float = 600) -> dict[str, Any]:
    """Starts a Neptune bulk load of ``source`` (an S3 folder or object) and, with ``wait``, waits for its end.

    Returns:
        ``{"loadId": ...}`` and, when waited for, the ``overallStatus`` of ``GET /loader/{loadId}``.

    Raises:
        RuntimeError: the load ended in a state other than ``LOAD_COMPLETED``, or ran past ``timeout``.
    """
    body = {"source": source, "format": "csv", "iamRoleArn": role_arn, "failOnError": "TRUE",
            "region": region or os.environ.get("AWS_DEFAULT_REGION", "us-east-1")}
    load_id = _http("POST", f"{graph.http_url}/loader", body)["payload"]["loadId"]
    if not wait:
        return {"loadId": load_id}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = _http("GET", f"{graph.http_url}/loader/{load_id}")["payload"]["overallStatus"]
        if status.get("status") == "LOAD_COMPLETED":
            return {"loadId": load_id, "overallStatus": status}
        if status.get("status") not in ("LOAD_NOT_STARTED", "LOAD_IN_PROGRESS", "LOAD_IN_QUEUE"):
            raise RuntimeError(f"Neptune load {load_id} ended {status.get('status')}: {status}")
        time.sleep(0.5)
    raise RuntimeError(f"Neptune load {load_id} still running after {timeout} s")
