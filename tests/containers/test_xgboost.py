"""The ``mlharbor/xgboost`` image on the process runner: algorithm mode (CSV and libsvm), serving, batch
transform of its model, and the failure of a job without ``num_round``.

Reached by the URI ``sagemaker.image_uris.retrieve("xgboost", "us-east-1", "1.7-1")`` returns.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from tests.conftest import ROLE, training_request, unique_name, wait_for_status
from tests.services.sagemaker.test_transform_jobs import read, transform

XGBOOST_URI = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"


def regression_rows(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    features = rng.uniform(-1, 1, size=(count, 2))
    return features, 3 * features[:, 0] - features[:, 1]


def csv_of(labels: np.ndarray, features: np.ndarray) -> bytes:
    return "".join(f"{y:.4f},{a:.4f},{b:.4f}\n" for y, (a, b) in zip(labels, features, strict=True)).encode()


def libsvm_of(labels: np.ndarray, features: np.ndarray) -> bytes:
    return "".join(f"{y:.4f} 0:{a:.4f} 1:{b:.4f}\n" for y, (a, b) in zip(labels, features, strict=True)).encode()


def algorithm_job(bucket: str, content_type: str, **hyperparameters: str) -> dict[str, Any]:
    channels = [{"ChannelName": name, "ContentType": content_type, "DataSource": {"S3DataSource": {
        "S3DataType": "S3Prefix", "S3Uri": f"s3://{bucket}/{content_type.replace('/', '-')}/{name}/",
        "S3DataDistributionType": "FullyReplicated"}}} for name in ("train", "validation")]
    return training_request(bucket, AlgorithmSpecification={"TrainingImage": XGBOOST_URI,
                                                            "TrainingInputMode": "File"},
                            HyperParameters=hyperparameters, InputDataConfig=channels)


@pytest.fixture(scope="module")
def xgb_bucket(s3) -> str:
    bucket = unique_name("xgb")
    s3.create_bucket(Bucket=bucket)
    for name, seed in (("train", 0), ("validation", 1)):
        features, labels = regression_rows(200 if name == "train" else 50, seed)
        s3.put_object(Bucket=bucket, Key=f"text-csv/{name}/part.csv", Body=csv_of(labels, features))
        s3.put_object(Bucket=bucket, Key=f"text-libsvm/{name}/part.libsvm", Body=libsvm_of(labels, features))
    return bucket


@pytest.fixture(scope="module")
def csv_model(sagemaker, xgb_bucket) -> dict[str, Any]:
    request = algorithm_job(xgb_bucket, "text/csv", num_round="20", objective="reg:squarederror", eta="0.3",
                            max_depth="4", subsample="0.9", eval_metric="rmse,mae")
    sagemaker.create_training_job(**request)
    return wait_for_status(sagemaker, request["TrainingJobName"])


def test_algorithm_mode_reports_validation_metrics_as_aws_images_log_them(harbor, csv_model):
    assert csv_model["TrainingJobStatus"] == "Completed", csv_model.get("FailureReason")
    metrics = {m["MetricName"]: m["Value"] for m in csv_model["FinalMetricDataList"]}
    assert {"train:rmse", "validation:rmse", "train:mae", "validation:mae"} <= set(metrics)
    assert metrics["validation:rmse"] < 0.6  # 20 rounds learn 3a - b far below the labels' spread (~1.8)
    logs = harbor.client("logs")
    stream = logs.describe_log_streams(logGroupName="/aws/sagemaker/TrainingJobs",
                                       logStreamNamePrefix=csv_model["TrainingJobName"])["logStreams"][0]
    lines = [e["message"] for e in logs.get_log_events(logGroupName="/aws/sagemaker/TrainingJobs",
                                                       logStreamName=stream["logStreamName"])["events"]]
    assert any(line.startswith("[19]#011train-rmse:") and "#011validation-mae:" in line for line in lines), lines


def test_the_model_serves_csv_and_a_batch_transform_joins_ids_to_predictions(sagemaker, s3, xgb_bucket, csv_model):
    artifacts = csv_model["ModelArtifacts"]["S3ModelArtifacts"]
    model = unique_name("xgb-model")
    sagemaker.create_model(ModelName=model, ExecutionRoleArn=ROLE,
                           PrimaryContainer={"Image": XGBOOST_URI, "ModelDataUrl": artifacts})
    features, labels = regression_rows(5, 7)
    s3.put_object(Bucket=xgb_bucket, Key="batch/in/rows.csv",
                  Body="".join(f"row-{i},{a:.4f},{b:.4f}\n" for i, (a, b) in enumerate(features)).encode())
    described = transform(sagemaker, xgb_bucket, model, "batch", BatchStrategy="MultiRecord",
                          DataProcessing={"InputFilter": "$[1:]", "JoinSource": "Input", "OutputFilter": "$[0,-1]"})
    assert described["TransformJobStatus"] == "Completed", described.get("FailureReason")
    rows = [line.split(",") for line in read(s3, xgb_bucket, "batch/out/rows.csv.out").splitlines()]
    assert [row[0] for row in rows] == [f"row-{i}" for i in range(5)]
    assert np.allclose([float(row[1]) for row in rows], labels, atol=0.6)


def test_libsvm_training_and_libsvm_serving(sagemaker, harbor, xgb_bucket):
    request = algorithm_job(xgb_bucket, "text/libsvm", num_round="10", max_depth="3")
    sagemaker.create_training_job(**request)
    described = wait_for_status(sagemaker, request["TrainingJobName"])
    assert described["TrainingJobStatus"] == "Completed", described.get("FailureReason")
    assert "validation:rmse" in {m["MetricName"] for m in described["FinalMetricDataList"]}
    model = unique_name("xgb-libsvm")
    sagemaker.create_model(ModelName=model, ExecutionRoleArn=ROLE, PrimaryContainer={
        "Image": XGBOOST_URI, "ModelDataUrl": described["ModelArtifacts"]["S3ModelArtifacts"]})
    config = unique_name("cfg")
    sagemaker.create_endpoint_config(EndpointConfigName=config, ProductionVariants=[{
        "VariantName": "AllTraffic", "ModelName": model, "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}])
    endpoint = unique_name("ep")
    sagemaker.create_endpoint(EndpointName=endpoint, EndpointConfigName=config)
    try:
        sagemaker.get_waiter("endpoint_in_service").wait(EndpointName=endpoint, WaiterConfig={"Delay": 0.5})
        answer = harbor.client("sagemaker-runtime").invoke_endpoint(
            EndpointName=endpoint, Body=b"0 0:0.5 1:-0.5\n0 0:-0.5 1:0.5\n", ContentType="text/libsvm",
            Accept="text/csv")
        predictions = [float(v) for v in answer["Body"].read().decode().split()]
        assert answer["ContentType"] == "text/csv"
        assert predictions[0] > 1.0 > -1.0 > predictions[1]  # 3a - b: 2.0 and -2.0
    finally:
        sagemaker.delete_endpoint(EndpointName=endpoint)


def test_a_job_without_num_round_fails_with_the_images_message(sagemaker, xgb_bucket):
    request = algorithm_job(xgb_bucket, "text/csv", max_depth="3")
    sagemaker.create_training_job(**request)
    described = wait_for_status(sagemaker, request["TrainingJobName"])
    assert described["TrainingJobStatus"] == "Failed"
    assert "num_round" in described["FailureReason"]


def test_a_transform_without_accept_gets_csv_predictions(sagemaker, s3, xgb_bucket, csv_model):
    model = unique_name("xgb-noaccept")
    sagemaker.create_model(ModelName=model, ExecutionRoleArn=ROLE, PrimaryContainer={
        "Image": XGBOOST_URI, "ModelDataUrl": csv_model["ModelArtifacts"]["S3ModelArtifacts"]})
    s3.put_object(Bucket=xgb_bucket, Key="noaccept/in/rows.csv", Body=b"0.5,-0.5\n-0.5,0.5\n")
    described = transform(sagemaker, xgb_bucket, model, "noaccept", BatchStrategy="MultiRecord",
                          TransformOutput={"S3OutputPath": f"s3://{xgb_bucket}/noaccept/out", "AssembleWith": "Line"})
    assert described["TransformJobStatus"] == "Completed", described.get("FailureReason")
    first, second = (float(v) for v in read(s3, xgb_bucket, "noaccept/out/rows.csv.out").split())
    assert first > 0.5 > -0.5 > second
