"""The graph ML pipeline end to end through a real ``mlharbor up``: real boto3 (S3, SageMaker
processing and training jobs, CloudWatch Logs), the real graph server (``/loader`` through
boto3 ``neptunedata``, topology over gremlinpython) and the gnn serve module over HTTP."""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import tarfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gremlin_python.driver.driver_remote_connection import DriverRemoteConnection
from gremlin_python.process.anonymous_traversal import traversal

from sdk.pipeline import GraphPipeline, PipelineError, PipelineHooks
from sdk.session import session
from tests.conftest import CORA, REPO

CORA_ARGS = ["--vertex-label", "paper", "--edge-label", "cites"]


class Recorder(PipelineHooks):
    """Hooks that keep every status transition and log line."""

    def __init__(self) -> None:
        self.statuses: list[tuple[str, str]] = []
        self.lines: list[str] = []
        super().__init__(on_status=lambda step, name, status, message: self.statuses.append((step, status)),
                         on_log=lambda step, name, line: self.lines.append(line))


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def pipeline(harbor, recorder) -> GraphPipeline:
    """The graph server's URL is not given: the driver asks mlharbor's health facts, as the demo does."""
    return GraphPipeline(bucket=f"pipe-{uuid.uuid4().hex[:10]}", hooks=recorder,
                         session=session(endpoint=harbor.endpoint), poll_seconds=0.3)


def gremlin_url(graph_url: str) -> str:
    return graph_url.replace("http://", "ws://").rstrip("/") + "/gremlin"


def extract_model(pipeline: GraphPipeline, uri: str, target: Path) -> Path:
    bucket, key = uri.removeprefix("s3://").split("/", 1)
    body = pipeline.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body)) as archive:
        archive.extractall(target, filter="data")
    return target


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def serve_model(harbor) -> Iterator[Any]:
    """Start ``python -m containers.gnn.serve`` on a model directory; yields a POST helper."""
    processes: list[subprocess.Popen[bytes]] = []

    def start(model_dir: Path) -> Any:
        port = free_port()
        env = {**os.environ, "SM_MODEL_DIR": str(model_dir), "SAGEMAKER_BIND_TO_PORT": str(port),
               "MLHARBOR_GRAPH_ENDPOINT": gremlin_url(harbor.graph)}
        process = subprocess.Popen([sys.executable, "-m", "containers.gnn.serve"], cwd=REPO, env=env,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        processes.append(process)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(base + "/ping", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"serve did not start: {process.stdout.read().decode()}") from None
                time.sleep(0.2)

        def invoke(body: dict[str, Any]) -> tuple[int, bytes]:
            request = urllib.request.Request(base + "/invocations", data=json.dumps(body).encode(),
                                             headers={"Content-Type": "application/json"}, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    return response.status, response.read()
            except urllib.error.HTTPError as error:
                return error.code, error.read()

        return invoke

    yield start
    for process in processes:
        process.terminate()
        process.wait(10)


@pytest.mark.slow
def test_cora_gcn_through_etl_bulk_load_training_and_serving(pipeline, recorder, harbor, tmp_path, serve_model):
    result = pipeline.run(CORA / "nodes.csv", CORA / "edges.csv", hyperparameters={"model": "gcn", "seed": 0},
                          etl_arguments=CORA_ARGS)
    assert result.etl.exit_message == "graph-etl: 2708 vertices, 5278 edges, 1433 features, 7 classes, 0 bad rows"
    assert result.load.status["overallStatus"]["totalRecords"] == 2708 + 5278
    connection = DriverRemoteConnection(gremlin_url(harbor.graph), "g")
    try:
        g = traversal().with_(connection)
        assert g.V().has_label("paper").count().next() == 2708
        assert g.V("c0").values("split").next() == "train"
    finally:
        connection.close()

    training = result.training
    epochs = [line for line in training.lines if line.startswith("epoch=")]
    assert len(epochs) == 200 and epochs[-1].startswith("epoch=200 train_loss=")
    metrics = training.metrics
    assert metrics["test_acc"] >= 0.75, metrics  # published 81.5%; a broken pipeline lands far lower
    final = {m["MetricName"]: m["Value"] for m in training.description["FinalMetricDataList"]}
    assert abs(final["test_acc"] - metrics["test_acc"]) < 1e-4
    assert [s for step, s in recorder.statuses if step == "etl"] == ["InProgress", "Completed"]
    assert [s for step, s in recorder.statuses if step == "load"][-1] == "LOAD_COMPLETED"
    assert [s for step, s in recorder.statuses if step == "train"] == [
        "Starting", "Downloading", "Training", "Uploading", "Completed"]
    assert {item["kind"] for item in harbor.artifacts(training.job_name)} == {"checkpoint", "model"}

    model_dir = extract_model(pipeline, training.model_data, tmp_path / "model")
    assert json.loads((model_dir / "config.json").read_text())["model"] == "gcn"
    invoke = serve_model(model_dir)
    test_ids = [line.split(",")[0] for line in (CORA / "nodes.csv").read_text().splitlines()[1:]
                if line.split(",")[2] == "test"][:200]
    truth = {line.split(",")[0]: line.split(",")[1] for line in (CORA / "nodes.csv").read_text().splitlines()[1:]}
    status, body = invoke({"node_ids": test_ids})
    assert status == 200, body
    predictions = json.loads(body)["predictions"]
    assert [p["node_id"] for p in predictions] == test_ids
    correct = sum(p["class"] == truth[p["node_id"]] for p in predictions)
    assert correct / len(test_ids) >= 0.7
    status, body = invoke({"node_ids": ["c1", "no-such-paper"]})
    assert status == 400 and b"unknown node id(s): 'no-such-paper'" in body


TOY_NODES = "".join(
    ["key,group,fold,bag,year\n"]
    + [f"k{i},{'ab'[i % 2]},{['train', 'validation', 'test'][i % 3]},{i % 2} {2 + i % 3},{2000 + i}\n"
       for i in range(30)]
)
TOY_EDGES = "".join(["from_key,to_key\n"] + [f"k{i},k{(i + 2) % 30}\n" for i in range(30)])


def test_a_toy_table_with_a_json_config_through_the_whole_pipeline(pipeline, recorder, harbor, tmp_path):
    assert pipeline.graph_url == harbor.graph
    (tmp_path / "nodes.csv").write_text(TOY_NODES)
    (tmp_path / "edges.csv").write_text(TOY_EDGES)
    config = {"node_id": "key", "label": "group", "split": "fold", "features": "bag", "vertex_label": "item",
              "source": "from_key", "target": "to_key", "edge_label": "near", "properties": {"year": "Int"}}
    result = pipeline.run(tmp_path / "nodes.csv", tmp_path / "edges.csv", etl_config=config,
                          hyperparameters={"model": "sage", "epochs": 15, "checkpoint_every": 5})
    assert result.etl.exit_message.startswith("graph-etl: 30 vertices, 30 edges, 5 features, 2 classes")
    vertices = pipeline.s3.get_object(Bucket=pipeline.bucket,
                                      Key=result.etl.graph_uri.split("/", 3)[3] + "vertices.csv")["Body"].read()
    assert vertices.decode().splitlines()[:2] == ["~id,~label,group:String,fold:String,year:Int", "k0,item,a,train,2000"]
    assert result.training.description["TrainingJobStatus"] == "Completed"
    assert "graph: 30 nodes, 60 directed edges, 5 features, 2 classes" in recorder.lines
    assert len([line for line in result.training.lines if line.startswith("epoch=")]) == 15
    assert 0.0 <= result.training.metrics["test_acc"] <= 1.0


def test_bad_raw_rows_fail_the_etl_job_naming_file_and_line(pipeline, tmp_path):
    (tmp_path / "nodes.csv").write_text("node_id,label,split,features\nc1,0,train,1 2\nc2,1,train,3 oops\n")
    (tmp_path / "edges.csv").write_text("source,target\nc1,c2\nc1,c9\n")
    pipeline.upload_raw(tmp_path / "nodes.csv", tmp_path / "edges.csv")
    with pytest.raises(PipelineError) as caught:
        pipeline.run_etl()
    message = str(caught.value)
    assert "Failed" in message and "3 bad rows (max_bad_rows=0)" in message
    assert "nodes.csv:3: features: invalid literal for int() with base 10: 'oops'" in message
    assert "edges.csv:2: edge to unknown or rejected node 'c2'" in message
    assert "edges.csv:3: edge to unknown or rejected node 'c9'" in message
