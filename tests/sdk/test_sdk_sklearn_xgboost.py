"""The sagemaker SDK v2's SKLearn and XGBoost estimators, SKLearnProcessor and Transformer against a real harbor.

Images come from ``sagemaker.image_uris.retrieve`` as on AWS: the estimators send AWS's
``sagemaker-scikit-learn`` / ``sagemaker-xgboost`` URIs, which mlharbor runs as its built-ins.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.conftest import ROLE, RunningHarbor, unique_name

sagemaker = pytest.importorskip("sagemaker")

PROJECT = Path(__file__).resolve().parent / "sklearn_project"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def session(harbor: RunningHarbor) -> Any:
    from sdk.sagemaker_session import sagemaker_session

    return sagemaker_session(default_bucket=unique_name("sdk-skl"), endpoint=harbor.endpoint)


@pytest.fixture(scope="module")
def train_uri(session: Any) -> str:
    rng = np.random.default_rng(0)
    features = rng.uniform(-1, 1, size=(100, 2))
    labels = 3 * features[:, 0] - features[:, 1]
    body = "".join(f"{y:.4f},{a:.4f},{b:.4f}\n" for y, (a, b) in zip(labels, features, strict=True))
    return session.upload_string_as_file_body(body, session.default_bucket(), "data/train/part.csv").rsplit("/", 1)[0]


def test_sklearn_estimator_fit_deploy_predict(session, train_uri, capsys):
    from sagemaker.deserializers import JSONDeserializer
    from sagemaker.serializers import CSVSerializer
    from sagemaker.sklearn import SKLearn

    estimator = SKLearn(entry_point="train.py", source_dir=str(PROJECT), role=ROLE, instance_count=1,
                        instance_type="ml.m5.large", framework_version="1.2-1", py_version="py3",
                        hyperparameters={"alpha": 0.001}, sagemaker_session=session)
    estimator.fit({"train": train_uri}, logs=True)
    assert "fitted coef=[3.0, -1.0] alpha=0.001" in capsys.readouterr().out
    image = estimator.latest_training_job.describe()["AlgorithmSpecification"]["TrainingImage"]
    assert image.endswith("/sagemaker-scikit-learn:1.2-1-cpu-py3")
    predictor = estimator.deploy(initial_instance_count=1, instance_type="ml.m5.large",
                                 serializer=CSVSerializer(), deserializer=JSONDeserializer())
    try:
        assert np.allclose(predictor.predict([[1.0, 1.0], [0.5, -0.5]]), [2.0, 2.0], atol=0.05)
    finally:
        predictor.delete_endpoint()


def test_transformer_transform_and_wait_writes_the_predictions(session, train_uri):
    from sagemaker.sklearn import SKLearn

    estimator = SKLearn(entry_point="train.py", source_dir=str(PROJECT), role=ROLE, instance_count=1,
                        instance_type="ml.m5.large", framework_version="1.2-1", sagemaker_session=session)
    estimator.fit({"train": train_uri}, logs=False)
    bucket = session.default_bucket()
    session.upload_string_as_file_body("1,1\n0.5,-0.5\n", bucket, "batch/in/rows.csv")
    transformer = estimator.transformer(instance_count=1, instance_type="ml.m5.large", strategy="MultiRecord",
                                        assemble_with="Line", accept="text/csv",
                                        output_path=f"s3://{bucket}/batch/out")
    transformer.transform(f"s3://{bucket}/batch/in/", content_type="text/csv", split_type="Line", wait=True,
                          logs=False)
    assert session.describe_transform_job(transformer.latest_transform_job.name)["TransformJobStatus"] == "Completed"
    body = session.read_s3_file(bucket, "batch/out/rows.csv.out")
    assert np.allclose([float(v) for v in body.split()], [2.0, 2.0], atol=0.05)


def test_xgboost_algorithm_mode_through_image_uris_retrieve(session, train_uri):
    from sagemaker import image_uris
    from sagemaker.estimator import Estimator
    from sagemaker.inputs import TrainingInput

    image = image_uris.retrieve("xgboost", session.boto_region_name, "1.7-1")
    estimator = Estimator(image_uri=image, role=ROLE, instance_count=1, instance_type="ml.m5.large",
                          output_path=f"s3://{session.default_bucket()}/xgb", sagemaker_session=session,
                          hyperparameters={"num_round": 15, "objective": "reg:squarederror", "max_depth": 4})
    data = TrainingInput(train_uri, content_type="text/csv")
    estimator.fit({"train": data, "validation": data}, logs=False)
    metrics = {m["MetricName"] for m in estimator.latest_training_job.describe()["FinalMetricDataList"]}
    assert "validation:rmse" in metrics


def test_xgboost_script_mode_estimator(session, train_uri, capsys):
    from sagemaker.xgboost import XGBoost

    estimator = XGBoost(entry_point="xgb_train.py", source_dir=str(PROJECT), role=ROLE, instance_count=1,
                        instance_type="ml.m5.large", framework_version="1.7-1", hyperparameters={"num_round": 4},
                        sagemaker_session=session)
    estimator.fit({"train": train_uri}, logs=True)
    assert "script mode trained 4 rounds" in capsys.readouterr().out
    assert estimator.latest_training_job.describe()["TrainingJobStatus"] == "Completed"


def test_sklearn_processor_runs_the_script_in_the_sklearn_image(session):
    from sagemaker.processing import ProcessingInput, ProcessingOutput
    from sagemaker.sklearn.processing import SKLearnProcessor

    bucket = session.default_bucket()
    data = session.upload_string_as_file_body("1,2\n3,4\n5,6\n", bucket, "proc/in/data.csv")
    processor = SKLearnProcessor(framework_version="1.2-1", role=ROLE, instance_type="ml.m5.large",
                                 instance_count=1, sagemaker_session=session)
    processor.run(code=str(PROJECT / "preprocess.py"),
                  inputs=[ProcessingInput(source=data, destination="/opt/ml/processing/input")],
                  outputs=[ProcessingOutput(source="/opt/ml/processing/output",
                                            destination=f"s3://{bucket}/proc/out")],
                  wait=True, logs=False)
    assert processor.latest_job.describe()["ProcessingJobStatus"] == "Completed"
    rows = session.read_s3_file(bucket, "proc/out/scaled.csv").split()
    assert rows[0].startswith("-1.225")
