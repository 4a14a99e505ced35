"""Models, endpoint configs and InvokeEndpoint's errors over real boto3, in process (no endpoint is served:
serving end to end is tests/services/sagemaker/test_endpoints.py)."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from emulator.testing import ROLE, unique_name
from tests.services.sagemaker.test_endpoints import new_config, put_model


def test_unknown_endpoints_and_bad_names_are_validation_errors(runtime):
    with pytest.raises(ClientError) as caught:
        runtime.invoke_endpoint(EndpointName="no-such-endpoint", Body=b"{}", ContentType="application/json")
    error = caught.value.response["Error"]
    assert (error["Code"], error["Message"]) == (
        "ValidationError", "Endpoint no-such-endpoint of account 123456789012 not found.")
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_models_and_configs_describe_list_delete_and_errors(sagemaker, raw_sagemaker, s3, bucket):
    url = put_model(s3, bucket)
    model = unique_name("model")
    arn = sagemaker.create_model(ModelName=model, ExecutionRoleArn=ROLE, PrimaryContainer={
        "Image": "mlharbor/pytorch", "ModelDataUrl": url}, Tags=[{"Key": "team", "Value": "graph"}])["ModelArn"]
    assert arn == f"arn:aws:sagemaker:us-east-1:123456789012:model/{model}"
    described = sagemaker.describe_model(ModelName=model)
    assert described["PrimaryContainer"]["ModelDataUrl"] == url
    assert described["ExecutionRoleArn"] == ROLE
    assert sagemaker.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "graph"}]
    assert model in [m["ModelName"] for m in sagemaker.list_models(NameContains=model)["Models"]]
    with pytest.raises(ClientError) as caught:
        sagemaker.create_model(ModelName=model, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": "x"})
    assert caught.value.response["Error"]["Code"] == "ResourceInUse"

    config = new_config(sagemaker, model)
    assert sagemaker.describe_endpoint_config(EndpointConfigName=config)["ProductionVariants"][0]["ModelName"] == model
    assert config in [c["EndpointConfigName"] for c in sagemaker.list_endpoint_configs(NameContains=config)[
        "EndpointConfigs"]]
    with pytest.raises(ClientError) as caught:
        new_config(sagemaker, "no-such-model")
    assert caught.value.response["Error"]["Message"] == (
        'Could not find model "arn:aws:sagemaker:us-east-1:123456789012:model/no-such-model".')
    with pytest.raises(ClientError) as caught:
        sagemaker.create_endpoint(EndpointName=unique_name("ep"), EndpointConfigName="no-such-config")
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(ClientError) as caught:
        raw_sagemaker.create_endpoint(EndpointName="bad_name", EndpointConfigName=config)
    assert "Value 'bad_name' at 'endpointName' failed to satisfy constraint" in caught.value.response["Error"][
        "Message"]
    sagemaker.delete_endpoint_config(EndpointConfigName=config)
    sagemaker.delete_model(ModelName=model)
    with pytest.raises(ClientError) as caught:
        sagemaker.describe_model(ModelName=model)
    assert caught.value.response["Error"]["Code"] == "ValidationException"


def test_an_s3_bucket_named_endpoints_is_still_s3(s3):
    """``/endpoints/x/invocations`` signed for s3 is an object key, not InvokeEndpoint."""
    s3.create_bucket(Bucket="endpoints")
    s3.put_object(Bucket="endpoints", Key="x/invocations", Body=b"object")
    assert s3.get_object(Bucket="endpoints", Key="x/invocations")["Body"].read() == b"object"
