"""A Gremlin regression query against nml-models' real endpoint program (``mlharbor/neptune-ml`` serve) on a
tiny trained model: the planted graph (40 users, 20 items), three epochs. The query's answers are the ones a
direct InvokeEndpoint gets for the same request, and a refusal of the serve program reaches the client."""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gremlin_python.driver.driver_remote_connection import DriverRemoteConnection
from gremlin_python.driver.protocol import GremlinServerError
from gremlin_python.process.anonymous_traversal import traversal
from gremlin_python.process.traversal import T

from containers.neptune_ml.train import run_training
from emulator.testing.requests import ROLE, unique_name
from tests.conftest import RunningHarbor
from tests.containers.neptune_ml.processed_data import planted
from tests.services.neptune_ml.test_gremlin_ml import gremlin_url

USERS = [f"u{i}" for i in range(40)]


def model_tarball(model_dir: Path) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for path in sorted(model_dir.rglob("*")):
            archive.add(path, arcname=str(path.relative_to(model_dir)), recursive=False)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def served(harbor: RunningHarbor, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A node-regression model (user.score) trained here, deployed as mlharbor/neptune-ml; its endpoint name."""
    root = tmp_path_factory.mktemp("nml-serve")
    planted(root / "data", "node_regression", users=40, items=20)
    run_training(root / "data", {"num-epochs": "3", "num-hidden": "8"}, root / "model", None, log=lambda _: None)
    sagemaker, s3 = harbor.client("sagemaker"), harbor.client("s3")
    bucket = unique_name("nml-serve")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="model.tar.gz", Body=model_tarball(root / "model"))
    model, config, name = unique_name("nmlsm"), unique_name("nmlsc"), unique_name("nml-serve")
    sagemaker.create_model(ModelName=model, ExecutionRoleArn=ROLE, PrimaryContainer={
        "Image": "mlharbor/neptune-ml", "ModelDataUrl": f"s3://{bucket}/model.tar.gz"})
    sagemaker.create_endpoint_config(EndpointConfigName=config, ProductionVariants=[{
        "VariantName": "AllTraffic", "ModelName": model, "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}])
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=config)
    sagemaker.get_waiter("endpoint_in_service").wait(EndpointName=name, WaiterConfig={"Delay": 0.5})
    yield name
    sagemaker.delete_endpoint(EndpointName=name)


@pytest.fixture(scope="module")
def g(harbor: RunningHarbor) -> Iterator[Any]:
    connection = DriverRemoteConnection(gremlin_url(harbor), "g")
    source = traversal().with_(connection)
    added = [u for u in USERS[:3] if not source.V(u).has_next()]  # the session's graph may hold them already
    for user in added:
        source.add_v("user").property(T.id, user).iterate()
    yield source
    if added:
        source.V(*added).drop().iterate()
    connection.close()


@pytest.mark.slow
def test_a_regression_query_answers_what_the_real_endpoint_predicts(harbor, served, g):
    asked = USERS[:3]
    found = g.with_("Neptune#ml.endpoint", served).V(*asked).properties("score") \
        .with_("Neptune#ml.regression").value().to_list()
    direct = json.loads(harbor.client("sagemaker-runtime").invoke_endpoint(
        EndpointName=served, ContentType="application/json", Body=json.dumps({
            "version": "mlharbor-neptune-ml/1", "task": "node_regression", "property": "score",
            "mode": "transductive", "nodes": asked, "limit": 1, "threshold": 0.0, "deterministic": False}))["Body"].read())
    assert found == [p["results"][0]["value"] for p in direct["predictions"]]
    assert len(found) == 3 and all(isinstance(v, float) for v in found)

    with pytest.raises(GremlinServerError) as caught:
        g.with_("Neptune#ml.endpoint", served).V(*asked).properties("age").with_("Neptune#ml.regression").to_list()
    error = json.loads(caught.value.status_message)
    assert error["code"] == "BadRequestException"
    assert error["detailedMessage"].startswith(f"The SageMaker endpoint {served} refused the Neptune ML query: ")
    assert "score" in error["detailedMessage"]  # the serve program names the model's property
