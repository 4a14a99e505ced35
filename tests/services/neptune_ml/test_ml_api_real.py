"""The neptunedata ML operations on ``mlharbor up``'s own graph server, running the real Neptune ML programs
(``mlharbor/neptune-ml``) on a tiny graph written through gremlinpython and exported by the graph server."""

from __future__ import annotations

import json
from typing import Any

import pytest
from gremlin_python.driver.driver_remote_connection import DriverRemoteConnection
from gremlin_python.process.anonymous_traversal import traversal
from gremlin_python.process.graph_traversal import __
from gremlin_python.process.traversal import T

from emulator.testing import RunningHarbor
from tests.services.neptune_ml.test_export import http, wait_for_export
from tests.services.neptune_ml.test_ml_api import neptune_client, wait

pytestmark = pytest.mark.slow
PAPER, CITES = "mlapaper", "mlacites"


@pytest.fixture(scope="module")
def exported_graph(harbor: RunningHarbor, s3: Any) -> dict[str, str]:
    """Twenty papers in two topics citing each other, exported with the neptune_ml profile."""
    connection = DriverRemoteConnection(harbor.graph.replace("http://", "ws://") + "/gremlin", "g")
    try:
        g = traversal().with_(connection)
        for i in range(20):
            g.add_v(PAPER).property(T.id, f"mla{i}").property("topic", "db" if i % 2 else "ml") \
                .property("words", f"{i % 2};{(i + 1) % 2};1").iterate()
        for i in range(19):
            g.V(f"mla{i}").add_e(CITES).to(__.V(f"mla{(i + 2) % 20}")).property(T.id, f"mlc{i}").iterate()
    finally:
        connection.close()
    bucket = "ml-api-real"
    s3.create_bucket(Bucket=bucket)
    body = {"command": "export-pg", "outputS3Path": f"s3://{bucket}/export",
            "params": {"endpoint": "localhost", "profile": "neptune_ml", "nodeLabels": [PAPER], "edgeLabels": [CITES]},
            "additionalParams": {"neptune_ml": {"version": "v2.0", "targets": [
                {"node": PAPER, "property": "topic", "type": "classification", "split_rate": [0.6, 0.2, 0.2]}],
                "features": [{"node": PAPER, "property": "words", "type": "numerical", "norm": "none",
                              "separator": ";"}]}}}
    status, started = http("POST", f"{harbor.graph}/v1/neptune-export", body)
    assert status == 200, started
    export = wait_for_export(harbor.graph, started["jobId"])
    assert export["status"] == "succeeded", export
    return {"bucket": bucket, "export": export["outputS3Uri"]}


def test_data_processing_runs_the_real_program_on_the_exported_graph(harbor: RunningHarbor, s3: Any,
                                                                     exported_graph: dict[str, str]) -> None:
    neptune = neptune_client(harbor.graph)
    bucket = exported_graph["bucket"]
    started = neptune.start_ml_data_processing_job(id="real-dp", inputDataS3Location=exported_graph["export"],
                                                   processedDataS3Location=f"s3://{bucket}/processed/")
    answer = wait(neptune.get_ml_data_processing_job, started["id"], timeout=300)
    assert answer["status"] == "Completed", answer
    metadata = json.loads(s3.get_object(Bucket=bucket, Key="processed/metadata.json")["Body"].read())
    assert metadata["model_type"] == "heterogeneous"
    assert metadata["node_types"][PAPER]["count"] == 20
    assert metadata["target"]["task"] == "node_class" and metadata["target"]["classes"] == ["db", "ml"]
    hpo = json.loads(s3.get_object(Bucket=bucket, Key="processed/model-HPO-configuration.json")["Body"].read())
    assert hpo["models"][0]["task_type"] == "node_class"
