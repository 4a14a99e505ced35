"""The sagemaker SDK 2.x ``HyperparameterTuner`` against a real harbor: fit, wait, best_training_job(),
analytics().dataframe(), and deploying the best, with the PyTorch estimator and the tests' training script
(its printed ``loss`` is 1/epochs, so the trial with the most epochs is the best)."""

from __future__ import annotations

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

    return sagemaker_session(default_bucket=unique_name("tuner"), endpoint=harbor.endpoint)


def test_hyperparameter_tuner_fits_finds_the_best_and_deploys_it(session):
    from sagemaker.deserializers import JSONDeserializer
    from sagemaker.pytorch import PyTorch
    from sagemaker.serializers import JSONSerializer
    from sagemaker.tuner import CategoricalParameter, HyperparameterTuner

    estimator = PyTorch(entry_point="train.py", source_dir=str(PROJECT), role=ROLE, instance_count=1,
                        instance_type="ml.m5.large", framework_version="2.1", py_version="py310",
                        hyperparameters={"lr": 0.05, "tag": "tuned"}, sagemaker_session=session)
    tuner = HyperparameterTuner(
        estimator, objective_metric_name="loss", objective_type="Minimize", strategy="Grid",
        hyperparameter_ranges={"epochs": CategoricalParameter([1, 2, 3])},
        metric_definitions=[{"Name": "loss", "Regex": r"loss=([0-9.]+)"}], max_jobs=3, max_parallel_jobs=2)
    tuner.fit(wait=False)
    tuner.wait()
    described = tuner.describe()
    assert described["HyperParameterTuningJobStatus"] == "Completed"
    assert described["TrainingJobStatusCounters"]["Completed"] == 3
    best = tuner.best_training_job()
    assert best == described["BestTrainingJob"]["TrainingJobName"]
    # a framework estimator JSON-encodes every hyperparameter, the tuned ones included
    assert described["BestTrainingJob"]["TunedHyperParameters"] == {"epochs": '"3"'}
    assert session.sagemaker_client.describe_training_job(TrainingJobName=best)["TuningJobArn"] == \
        described["HyperParameterTuningJobArn"]

    frame = tuner.analytics().dataframe()
    assert len(frame) == 3
    assert sorted(frame["FinalObjectiveValue"].round(3)) == [0.333, 0.5, 1.0]
    assert set(frame["TrainingJobStatus"]) == {"Completed"}

    predictor = tuner.deploy(initial_instance_count=1, instance_type="ml.m5.large", entry_point="inference.py",
                             serializer=JSONSerializer(), deserializer=JSONDeserializer())
    try:
        # the best trial's model: weights 1, bias = its 3 epochs
        assert predictor.predict([[1.0, 2.0]]) == {"outputs": [[6.0]]}
    finally:
        predictor.delete_endpoint()
