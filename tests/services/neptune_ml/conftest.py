"""Fixtures for the Neptune ML pipeline tests: a server per test module, and one trained model per graph.

Each pipeline fixture runs the whole path once (bulk load → export → data processing → training with a small
tuning job → ML endpoint) through real boto3 ``neptunedata`` and the neptune-export HTTP API, and the tests of
that graph share it. A module gets its own ``mlharbor up`` so that its graph is the only one exported.
"""

from __future__ import annotations

import io
import json
import tarfile
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import numpy as np
import pytest
from botocore.config import Config

from emulator.testing import CORA, RunningHarbor, start_harbor
from examples.neptune_ml import cora, planted
from examples.neptune_ml.run_cora import PipelineRun, link_prediction, node_classification, run_pipeline
from examples.neptune_ml.workflow import NeptuneML

needs_cora = pytest.mark.skipif(not CORA.exists(), reason="needs ../shared/datasets/cora beside the repository")


@pytest.fixture(scope="module")
def ml_harbor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningHarbor]:
    running = start_harbor(tmp_path_factory.mktemp("neptune-ml"), "--max-concurrent-jobs", "3",
                           "--stop-grace-seconds", "3")
    yield running
    if running.process.poll() is None:
        running.kill()


def neptune_ml(harbor: RunningHarbor, name: str) -> NeptuneML:
    assert harbor.graph, "mlharbor up runs no graph server"
    s3 = harbor.client("s3")
    bucket = f"{name}-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    neptune = boto3.client("neptunedata", endpoint_url=harbor.graph, region_name="us-east-1",
                           aws_access_key_id="testing", aws_secret_access_key="testing",
                           config=Config(retries={"max_attempts": 1}))
    return NeptuneML(harbor.graph, neptune, s3, bucket, poll_seconds=0.5, say=lambda line: print(line, flush=True))


def best_model_files(harbor: RunningHarbor, run: PipelineRun) -> dict[str, bytes]:
    """The files of the tuning job's best trial's model.tar.gz, by name."""
    sagemaker, s3 = harbor.client("sagemaker"), harbor.client("s3")
    tuning = sagemaker.describe_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=run.training.description["hpoJob"]["name"])
    job = sagemaker.describe_training_job(TrainingJobName=tuning["BestTrainingJob"]["TrainingJobName"])
    bucket, key = job["ModelArtifacts"]["S3ModelArtifacts"][len("s3://"):].split("/", 1)
    raw = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(raw)) as archive:
        return {member.name.removeprefix("./"): archive.extractfile(member).read()  # type: ignore[union-attr]
                for member in archive.getmembers() if member.isfile()}


def eval_metrics(harbor: RunningHarbor, run: PipelineRun) -> dict[str, Any]:
    return json.loads(best_model_files(harbor, run)["eval_metrics_info.json"])


def processed_arrays(ml: NeptuneML, run: PipelineRun, entry: str) -> tuple[dict[str, np.ndarray], list[str]]:
    """One entry of the processed graph (``nodes/<type>`` or ``edges/<key>``): its arrays and original ids."""
    prefix = f"{ml.prefix}/processed/{run.name}/{entry}"
    arrays = np.load(io.BytesIO(ml.s3.get_object(Bucket=ml.bucket, Key=f"{prefix}.npz")["Body"].read()))
    ids = json.loads(ml.s3.get_object(Bucket=ml.bucket, Key=f"{prefix}.ids.json")["Body"].read())
    return dict(arrays), ids


@pytest.fixture(scope="module")
def cora_graph() -> cora.CoraGraph:
    return cora.read(CORA)


@pytest.fixture(scope="module")
def cora_ml(ml_harbor: RunningHarbor, cora_graph: cora.CoraGraph) -> NeptuneML:
    ml = neptune_ml(ml_harbor, "cora")
    ml.load(cora.bulk_load_files(cora_graph))
    return ml


@pytest.fixture(scope="module")
def cora_subject(cora_ml: NeptuneML) -> Iterator[PipelineRun]:
    """Node classification of ``subject`` on the Planetoid split, deployed."""
    run = node_classification(cora_ml)
    yield run
    cora_ml.delete_endpoint(run.endpoint_id)


@pytest.fixture(scope="module")
def cora_cites(cora_ml: NeptuneML) -> Iterator[PipelineRun]:
    """Link prediction of ``cites`` on an 85/5/10 edge split, deployed."""
    run = link_prediction(cora_ml)
    yield run
    cora_ml.delete_endpoint(run.endpoint_id)


@pytest.fixture(scope="module")
def planted_graph() -> planted.PlantedGraph:
    return planted.generate()


@pytest.fixture(scope="module")
def planted_ml(ml_harbor: RunningHarbor, planted_graph: planted.PlantedGraph) -> NeptuneML:
    ml = neptune_ml(ml_harbor, "planted")
    ml.load(planted.bulk_load_files(planted_graph))
    return ml


@pytest.fixture(scope="module")
def planted_score(planted_ml: NeptuneML) -> Iterator[PipelineRun]:
    run = run_pipeline(planted_ml, "planted-score", planted.REGRESSION_TARGETS, planted.REGRESSION_FEATURES,
                       planted.HPO)
    yield run
    planted_ml.delete_endpoint(run.endpoint_id)


@pytest.fixture(scope="module")
def planted_kind(planted_ml: NeptuneML) -> Iterator[PipelineRun]:
    run = run_pipeline(planted_ml, "planted-kind", planted.EDGE_TARGETS, planted.EDGE_FEATURES, planted.HPO)
    yield run
    planted_ml.delete_endpoint(run.endpoint_id)

