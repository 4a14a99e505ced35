"""Which graph server a Glue job writes to: its connection's JDBC URL, else the run's graph endpoint."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "containers" / "glue"))

from mlharbor_glue import neptune  # noqa: E402


def test_urls_of_every_form() -> None:
    assert neptune.endpoint_from_url("jdbc:wss://127.0.0.1:8182/gremlin").gremlin_url == "ws://127.0.0.1:8182/gremlin"
    assert neptune.endpoint_from_url("wss://db.example:8182/gremlin").gremlin_url == "wss://db.example:8182/gremlin"
    graph = neptune.endpoint_from_url("http://127.0.0.1:9000")
    assert graph.gremlin_url == "ws://127.0.0.1:9000/gremlin" and graph.http_url == "http://127.0.0.1:9000"
    with pytest.raises(neptune.GraphConnectionError):
        neptune.endpoint_from_url("jdbc:mysql://h/db")


def test_a_named_connection_wins_over_the_run_endpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    connections = tmp_path / "connections.json"
    connections.write_text(json.dumps({
        "graph": {"ConnectionType": "JDBC", "ConnectionProperties": {"JDBC_CONNECTION_URL": "jdbc:wss://127.0.0.1:7/gremlin"}},
        "net": {"ConnectionType": "NETWORK", "ConnectionProperties": {}},
    }))
    monkeypatch.setenv("MLHARBOR_GLUE_CONNECTIONS", str(connections))
    monkeypatch.setenv("MLHARBOR_GRAPH_ENDPOINT", "ws://127.0.0.1:9/gremlin")
    assert neptune.endpoint("graph").gremlin_url == "ws://127.0.0.1:7/gremlin"
    assert neptune.endpoint("net").gremlin_url == "ws://127.0.0.1:9/gremlin"
    with pytest.raises(neptune.GraphConnectionError, match="not one of the job's Connections"):
        neptune.endpoint("other")
    monkeypatch.delenv("MLHARBOR_GRAPH_ENDPOINT")
    with pytest.raises(neptune.GraphConnectionError, match="no graph server"):
        neptune.endpoint("net")


def test_property_names_drop_the_type_suffix() -> None:
    assert neptune.properties({"~id": "1", "~label": "p", "age:Int": 3, "name": None}) == [("age", 3)]
