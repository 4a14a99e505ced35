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
from tests.conftest import read_tar
from tests.services.neptune_ml.test_export import export_topic_classification
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
    export = export_topic_classification(harbor.graph, bucket, PAPER, CITES, [0.6, 0.2, 0.2])
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



def test_training_transform_and_an_endpoint_run_the_real_programs(harbor: RunningHarbor, s3: Any,
                                                                  exported_graph: dict[str, str]) -> None:
    neptune = neptune_client(harbor.graph)
    bucket = exported_graph["bucket"]
    neptune.start_ml_data_processing_job(id="real-dp-2", inputDataS3Location=exported_graph["export"],
                                         processedDataS3Location=f"s3://{bucket}/processed-2/")
    assert wait(neptune.get_ml_data_processing_job, "real-dp-2", timeout=300)["status"] == "Completed"
    neptune.start_ml_model_training_job(id="real-train", dataProcessingJobId="real-dp-2",
                                        trainModelS3Location=f"s3://{bucket}/model/")
    answer = wait(neptune.get_ml_model_training_job, "real-train", timeout=500)
    assert answer["status"] == "Completed", answer
    sagemaker = harbor.client("sagemaker")
    tuning = sagemaker.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=answer["hpoJob"]["name"])
    assert tuning["TrainingJobStatusCounters"]["Completed"] == 2  # Neptune's default maxHPONumberOfTrainingJobs
    assert tuning["HyperParameterTuningJobConfig"]["HyperParameterTuningJobObjective"]["MetricName"] == \
        "validation:acc"
    best = sagemaker.describe_training_job(TrainingJobName=answer["mlModels"][0]["name"])
    assert best["ResourceConfig"]["InstanceType"] == "ml.p3.2xlarge"  # Neptune's default
    files = read_tar(s3, best["ModelArtifacts"]["S3ModelArtifacts"])
    assert {"model.pt", "model_config.json", "eval_metrics_info.json"} <= set(files), sorted(files)

    neptune.start_ml_model_transform_job(id="real-transform", mlModelTrainingJobId="real-train",
                                         modelTransformOutputS3Location=f"s3://{bucket}/transformed/")
    transform = wait(neptune.get_ml_model_transform_job, "real-transform", timeout=300)
    assert transform["status"] == "Completed", transform
    assert "model.tar.gz" in [o["Key"].rsplit("/", 1)[-1] for o in
                              s3.list_objects_v2(Bucket=bucket, Prefix="transformed/")["Contents"]]

    neptune.create_ml_endpoint(id="real-endpoint", mlModelTransformJobId="real-transform")
    endpoint = wait(neptune.get_ml_endpoint, "real-endpoint", until=("InService", "Failed"), timeout=300)
    assert endpoint["status"] == "InService", endpoint
    config = sagemaker.describe_endpoint_config(EndpointConfigName="real-endpoint")["ProductionVariants"][0]
    assert config["InstanceType"] == "ml.m5.xlarge"  # Neptune's default
    runtime = harbor.client("sagemaker-runtime")
    body = runtime.invoke_endpoint(EndpointName="real-endpoint", ContentType="application/json", Body=json.dumps({
        "version": "mlharbor-neptune-ml/1", "task": "node_class", "property": "topic", "mode": "transductive",
        "nodes": ["mla1", "mla2"], "limit": 1}))["Body"].read()
    predictions = json.loads(body)["predictions"]
    assert [p["id"] for p in predictions] == ["mla1", "mla2"]
    assert all(p["results"][0]["value"] in ("db", "ml") for p in predictions)
    assert neptune.delete_ml_endpoint(id="real-endpoint", clean=True)["status"] == "Deleting"
