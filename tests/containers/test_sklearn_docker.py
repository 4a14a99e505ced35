"""``mlharbor/sklearn`` on the Docker runner: script-mode training in a container, and an endpoint whose
container fetches the entry point from ``SAGEMAKER_SUBMIT_DIRECTORY`` in S3 (as the SDK's SKLearnModel sets it)."""

from __future__ import annotations

import numpy as np
import pytest

from emulator.testing.requests import wait_until_settled
from tests.conftest import ROLE, unique_name, upload_script, wait_for_status

pytestmark = pytest.mark.docker

SKLEARN_URI = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
SCRIPT = """
import os, joblib
import numpy as np
from sklearn.linear_model import LinearRegression
if __name__ == "__main__":
    x = np.array([[0.0], [1.0], [2.0], [3.0]])
    joblib.dump(LinearRegression().fit(x, 2 * x[:, 0] + 1), os.path.join(os.environ["SM_MODEL_DIR"], "m.joblib"))
    print("in docker:", os.path.exists("/.dockerenv"), flush=True)
def model_fn(model_dir):
    return joblib.load(os.path.join(model_dir, "m.joblib"))
"""


def test_script_mode_trains_and_serves_in_containers(docker_images, sagemaker, s3, bucket, harbor):
    source = upload_script(s3, bucket, SCRIPT)
    request = {
        "TrainingJobName": unique_name("skl-docker"), "RoleArn": ROLE,
        "AlgorithmSpecification": {"TrainingImage": SKLEARN_URI, "TrainingInputMode": "File"},
        "HyperParameters": {"sagemaker_program": '"train.py"', "sagemaker_submit_directory": f'"{source}"'},
        "OutputDataConfig": {"S3OutputPath": f"s3://{bucket}/out"},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
        "StoppingCondition": {"MaxRuntimeInSeconds": 300}, "Environment": {"MLHARBOR_RUNNER": "docker"},
    }
    sagemaker.create_training_job(**request)
    described = wait_for_status(sagemaker, request["TrainingJobName"])
    assert described["TrainingJobStatus"] == "Completed", described.get("FailureReason")
    model = unique_name("skl-model")
    sagemaker.create_model(ModelName=model, ExecutionRoleArn=ROLE, PrimaryContainer={
        "Image": SKLEARN_URI, "ModelDataUrl": described["ModelArtifacts"]["S3ModelArtifacts"],
        "Environment": {"SAGEMAKER_PROGRAM": "train.py", "SAGEMAKER_SUBMIT_DIRECTORY": source,
                        "MLHARBOR_RUNNER": "docker"}})
    config = unique_name("cfg")
    sagemaker.create_endpoint_config(EndpointConfigName=config, ProductionVariants=[{
        "VariantName": "AllTraffic", "ModelName": model, "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}])
    endpoint = unique_name("ep")
    sagemaker.create_endpoint(EndpointName=endpoint, EndpointConfigName=config)
    try:
        wait_until_settled(sagemaker, "endpoint_in_service", "EndpointStatus", 180, EndpointName=endpoint)
        status = sagemaker.describe_endpoint(EndpointName=endpoint)
        assert status["EndpointStatus"] == "InService", status.get("FailureReason")
        answer = harbor.client("sagemaker-runtime").invoke_endpoint(
            EndpointName=endpoint, Body=b"4\n5\n", ContentType="text/csv", Accept="application/json")
        assert np.allclose(__import__("json").loads(answer["Body"].read()), [9.0, 11.0])
    finally:
        sagemaker.delete_endpoint(EndpointName=endpoint)
