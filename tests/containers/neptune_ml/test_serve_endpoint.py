"""The Neptune ML model as a real SageMaker endpoint: boto3 CreateModel / CreateEndpointConfig / CreateEndpoint on
image mlharbor/neptune-ml against a running ``mlharbor up``, then InvokeEndpoint (an answer, and a 400 as
ModelError)."""

from __future__ import annotations

import io
import json
import tarfile

import numpy as np
import pytest
from botocore.exceptions import ClientError

from tests.conftest import ROLE, unique_name


def model_archive(model_dir) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for path in sorted(model_dir.iterdir()):
            archive.add(path, arcname=path.name)
    return buffer.getvalue()


def test_the_model_serves_as_a_sagemaker_endpoint(harbor, sagemaker, s3, bucket, planted_regression):
    _, model_dir, _, _ = planted_regression
    s3.put_object(Bucket=bucket, Key="nml/model.tar.gz", Body=model_archive(model_dir))
    model = unique_name("nml-model")
    sagemaker.create_model(ModelName=model, ExecutionRoleArn=ROLE, PrimaryContainer={
        "Image": "mlharbor/neptune-ml", "ModelDataUrl": f"s3://{bucket}/nml/model.tar.gz"})
    config = unique_name("nml-cfg")
    sagemaker.create_endpoint_config(EndpointConfigName=config, ProductionVariants=[{
        "VariantName": "AllTraffic", "ModelName": model, "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}])
    endpoint = unique_name("nml-ep")
    sagemaker.create_endpoint(EndpointName=endpoint, EndpointConfigName=config)
    runtime = harbor.client("sagemaker-runtime")
    request = {"version": "mlharbor-neptune-ml/1", "task": "node_regression", "property": "score",
               "mode": "transductive", "nodes": ["u7"]}
    try:
        sagemaker.get_waiter("endpoint_in_service").wait(EndpointName=endpoint, WaiterConfig={"Delay": 0.5})
        answer = runtime.invoke_endpoint(EndpointName=endpoint, Body=json.dumps(request),
                                         ContentType="application/json")
        body = json.loads(answer["Body"].read())
        expected = float(np.load(model_dir / "predictions" / "user.npz")["value"][7])
        assert body["predictions"][0]["id"] == "u7"
        assert body["predictions"][0]["results"][0]["value"] == pytest.approx(expected, abs=1e-5)
        with pytest.raises(ClientError) as error:
            runtime.invoke_endpoint(EndpointName=endpoint, Body=json.dumps({**request, "nodes": ["ghost"]}),
                                    ContentType="application/json")
        assert error.value.response["Error"]["Code"] == "ModelError"
        assert "unknown user id 'ghost'" in error.value.response["Error"]["Message"]
    finally:
        sagemaker.delete_endpoint(EndpointName=endpoint)
