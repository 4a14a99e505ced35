"""``mlharbor/xgboost`` on the Docker runner: algorithm-mode training in a container, then a batch
transform whose model container runs in Docker too (the image holds xgboost-cpu)."""

from __future__ import annotations

import pytest

from tests.conftest import ROLE, unique_name, wait_for_status
from tests.containers.test_xgboost import XGBOOST_URI, algorithm_job, xgb_bucket  # noqa: F401  (fixture)
from tests.services.sagemaker.test_transform_jobs import read, transform

pytestmark = pytest.mark.docker


def test_algorithm_mode_trains_and_transforms_in_containers(docker_images, sagemaker, s3, xgb_bucket):  # noqa: F811
    request = algorithm_job(xgb_bucket, "text/csv", num_round="8", max_depth="3")
    request["Environment"] = {"MLHARBOR_RUNNER": "docker"}
    sagemaker.create_training_job(**request)
    described = wait_for_status(sagemaker, request["TrainingJobName"])
    assert described["TrainingJobStatus"] == "Completed", described.get("FailureReason")
    assert "validation:rmse" in {m["MetricName"] for m in described["FinalMetricDataList"]}
    model = unique_name("xgb-docker")
    sagemaker.create_model(ModelName=model, ExecutionRoleArn=ROLE, PrimaryContainer={
        "Image": XGBOOST_URI, "ModelDataUrl": described["ModelArtifacts"]["S3ModelArtifacts"],
        "Environment": {"MLHARBOR_RUNNER": "docker"}})
    s3.put_object(Bucket=xgb_bucket, Key="docker/in/rows.csv", Body=b"0.5,-0.5\n-0.5,0.5\n")
    described = transform(sagemaker, xgb_bucket, model, "docker", BatchStrategy="MultiRecord")
    assert described["TransformJobStatus"] == "Completed", described.get("FailureReason")
    first, second = (float(v) for v in read(s3, xgb_bucket, "docker/out/rows.csv.out").split())
    assert first > 0.5 > -0.5 > second  # 3a - b: 2.0 and -2.0
