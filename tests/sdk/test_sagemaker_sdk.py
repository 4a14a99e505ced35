"""The real ``sagemaker`` SDK (v2, pinned in the dev extras) against a real harbor, configured only
through :func:`sdk.sagemaker_session.sagemaker_session` (endpoint, default bucket, telemetry off)."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROLE, RunningHarbor, unique_name

sagemaker = pytest.importorskip("sagemaker")

PROJECT = Path(__file__).resolve().parent / "sdk_project"
pytestmark = pytest.mark.slow


@pytest.fixture
def session(harbor: RunningHarbor) -> Any:
    from sdk.sagemaker_session import sagemaker_session

    return sagemaker_session(default_bucket=unique_name("sdk"), endpoint=harbor.endpoint)


def model_files(session: Any, uri: str) -> set[str]:
    bucket, key = uri[len("s3://"):].split("/", 1)
    raw = session.boto_session.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(raw)) as archive:
        return {member.name.removeprefix("./") for member in archive.getmembers() if member.isfile()}


def test_pytorch_estimator_fit_streams_logs_then_deploy_and_predict(session, capsys):
    from sagemaker.deserializers import JSONDeserializer
    from sagemaker.pytorch import PyTorch, PyTorchModel
    from sagemaker.serializers import JSONSerializer

    estimator = PyTorch(entry_point="train.py", source_dir=str(PROJECT), role=ROLE, instance_count=1,
                        instance_type="ml.m5.large", framework_version="2.1", py_version="py310",
                        hyperparameters={"epochs": 3, "lr": 0.05, "tag": "sdk"}, sagemaker_session=session)
    estimator.fit(logs=True)
    out = capsys.readouterr().out
    assert "hyperparameters epochs=3 lr=0.05 tag=sdk" in out  # streamed from CloudWatch Logs by the SDK
    assert "epoch=2 loss=0.333" in out
    assert "Completed - Training job completed" in out
    job = estimator.latest_training_job.describe()
    assert job["TrainingJobStatus"] == "Completed"
    assert job["AlgorithmSpecification"]["TrainingImage"].endswith(".amazonaws.com/pytorch-training:2.1-cpu-py310")
    assert estimator.model_data == job["ModelArtifacts"]["S3ModelArtifacts"]
    assert estimator.model_data.startswith(f"s3://{session.default_bucket()}/")
    assert model_files(session, estimator.model_data) == {"model.pth"}

    model = PyTorchModel(model_data=estimator.model_data, role=ROLE, entry_point="inference.py",
                         source_dir=str(PROJECT), framework_version="2.1", py_version="py310",
                         sagemaker_session=session)
    predictor = model.deploy(initial_instance_count=1, instance_type="ml.m5.large", serializer=JSONSerializer(),
                             deserializer=JSONDeserializer())
    try:
        # weights 1, bias = epochs: 1 + 2 + 3
        assert predictor.predict([[1.0, 2.0]]) == {"outputs": [[6.0]]}
    finally:
        predictor.delete_endpoint()


def test_plain_estimator_with_a_builtin_image_fits_and_sets_model_data(session, capsys):
    from sagemaker.estimator import Estimator

    estimator = Estimator(image_uri="mlharbor/pytorch", entry_point="train.py", source_dir=str(PROJECT), role=ROLE,
                          instance_count=1, instance_type="ml.m5.large", hyperparameters={"epochs": 1},
                          output_path=f"s3://{session.default_bucket()}/plain", sagemaker_session=session)
    estimator.fit(logs=True)
    out = capsys.readouterr().out
    assert "hyperparameters epochs=1 lr=0.1 tag=" in out
    name = estimator.latest_training_job.name
    assert estimator.model_data == f"s3://{session.default_bucket()}/plain/{name}/output/model.tar.gz"
    assert model_files(session, estimator.model_data) == {"model.pth"}


def test_the_session_needs_no_aws(session, harbor):
    """Every client the SDK builds talks to the edge; telemetry is off."""
    from sagemaker.config.config_schema import TELEMETRY_OPT_OUT_PATH
    from sagemaker.utils import resolve_value_from_config

    assert session.sagemaker_client.meta.endpoint_url == harbor.endpoint
    assert session.sagemaker_runtime_client.meta.endpoint_url == harbor.endpoint
    assert session.boto_session.client("logs").meta.endpoint_url == harbor.endpoint
    assert resolve_value_from_config(None, TELEMETRY_OPT_OUT_PATH, False, session) is True
