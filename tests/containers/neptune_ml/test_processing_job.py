"""Data processing as a real SageMaker processing job on mlharbor/neptune-ml, reading what the graph server's
neptune-export wrote: the Neptune ML path from a gremlinpython graph to the processed graph in S3."""

from __future__ import annotations

import io
import json
import time
from typing import Any

import numpy
import pytest
from gremlin_python.driver.driver_remote_connection import DriverRemoteConnection
from gremlin_python.process.anonymous_traversal import traversal
from gremlin_python.process.graph_traversal import __
from gremlin_python.process.traversal import T

from emulator.testing import ROLE, RunningHarbor, unique_name
from tests.services.neptune_ml.test_export import export_topic_classification

pytestmark = pytest.mark.slow
PAPER, CITES = "ppaper", "pcites"


def load_papers(harbor: RunningHarbor) -> None:
    connection = DriverRemoteConnection(harbor.graph.replace("http://", "ws://") + "/gremlin", "g")
    try:
        g = traversal().with_(connection)
        for i in range(12):
            g.add_v(PAPER).property(T.id, f"pp{i}").property("topic", "db" if i % 2 else "ml") \
                .property("size", i * 10).property("words", f"{i % 3};{i % 2};1").iterate()
        for i in range(11):
            g.V(f"pp{i}").add_e(CITES).to(__.V(f"pp{i + 1}")).property(T.id, f"pc{i}").iterate()
    finally:
        connection.close()


def wait_processing(sagemaker: Any, name: str, timeout: float = 180) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        description = sagemaker.describe_processing_job(ProcessingJobName=name)
        if description["ProcessingJobStatus"] in ("Completed", "Failed", "Stopped"):
            return description
        time.sleep(0.3)
    raise TimeoutError(name)


def processing_job(bucket: str, input_uri: str, output_uri: str, *arguments: str) -> dict[str, Any]:
    return {
        "ProcessingJobName": unique_name("nml-dp"), "RoleArn": ROLE,
        "AppSpecification": {"ImageUri": "mlharbor/neptune-ml",
                             "ContainerEntrypoint": ["python3", "-m", "containers.neptune_ml.processing"],
                             "ContainerArguments": list(arguments)},
        "ProcessingResources": {"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.r5.large",
                                                  "VolumeSizeInGB": 1}},
        "ProcessingInputs": [{"InputName": "export", "S3Input": {
            "S3Uri": input_uri, "LocalPath": "/opt/ml/processing/input", "S3DataType": "S3Prefix",
            "S3InputMode": "File"}}],
        "ProcessingOutputConfig": {"Outputs": [{"OutputName": "processed", "S3Output": {
            "S3Uri": output_uri, "LocalPath": "/opt/ml/processing/output", "S3UploadMode": "EndOfJob"}}]},
        "StoppingCondition": {"MaxRuntimeInSeconds": 300},
    }


def test_export_then_a_processing_job_writes_the_processed_graph(harbor: RunningHarbor, sagemaker: Any, s3: Any,
                                                                bucket: str) -> None:
    load_papers(harbor)
    export = export_topic_classification(harbor.graph, bucket, PAPER, CITES, [0.5, 0.25, 0.25])

    request = processing_job(bucket, export["outputS3Uri"], f"s3://{bucket}/processed",
                             "--config-file-name", "training-data-configuration.json",
                             "--model-type", "heterogeneous", "--seed", "0")
    sagemaker.create_processing_job(**request)
    description = wait_processing(sagemaker, request["ProcessingJobName"])
    assert description["ProcessingJobStatus"] == "Completed", description.get("FailureReason")
    assert description["ExitMessage"].startswith("processed 12 vertices of 1 types and 11 edges of 1 types for "
                                                 "node_class on ppaper")

    def read(key: str) -> bytes:
        return s3.get_object(Bucket=bucket, Key=f"processed/{key}")["Body"].read()

    metadata = json.loads(read("metadata.json"))
    assert metadata["node_types"] == {PAPER: {"count": 12, "feature_dim": 3 + 1}}  # words (3) + size (1)
    assert metadata["edge_types"][0]["key"] == f"{PAPER}__{CITES}__{PAPER}"
    assert metadata["target"]["task"] == "node_class" and metadata["target"]["classes"] == ["db", "ml"]
    with numpy.load(io.BytesIO(read(f"nodes/{PAPER}.npz"))) as arrays:
        assert arrays["features"].shape == (12, 4) and arrays["train_mask"].sum() == 6
    assert json.loads(read("model-HPO-configuration.json"))["models"][0]["task_type"] == "node_class"

    bad = processing_job(bucket, export["outputS3Uri"], f"s3://{bucket}/bad", "--config-file-name", "absent.json")
    sagemaker.create_processing_job(**bad)
    failed = wait_processing(sagemaker, bad["ProcessingJobName"])
    assert failed["ProcessingJobStatus"] == "Failed"
    assert "the training configuration absent.json is not in the input" in failed["FailureReason"]
