"""Every Describe*/List* output carries the members botocore's output shapes mark required
(issue 11, item 9): the SageMaker SDK indexes them (``ModelArtifacts`` of a failed job crashed its
tuner with ``KeyError``), so each is checked for resources in every status they pass through; here the
endpoints (served for real), the jobs in process in tests/api/test_validation_outputs.py.
"""

from __future__ import annotations

from typing import Any

from emulator.core.awsjson import load_service_model
from tests.fuzz.wire import missing_required
from tests.services.sagemaker.test_endpoints import deploy, put_model, wait_endpoint

MODEL = load_service_model("sagemaker")


def assert_complete(operation: str, output: dict[str, Any]) -> None:
    missing = missing_required(MODEL.operation_model(operation).output_shape, output)
    assert not missing, f"{operation} lacks required {missing}"


def test_models_configs_and_endpoints_carry_the_required_members(sagemaker, s3, bucket):
    serving = deploy(sagemaker, put_model(s3, bucket), wait=False)
    creating = sagemaker.describe_endpoint(EndpointName=serving)
    assert_complete("DescribeEndpoint", creating)
    assert wait_endpoint(sagemaker, serving)["EndpointStatus"] == "InService"
    broken = deploy(sagemaker, f"s3://{bucket}/missing/model.tar.gz", wait=False)
    assert wait_endpoint(sagemaker, broken)["EndpointStatus"] == "Failed"
    for name in (serving, broken):
        described = sagemaker.describe_endpoint(EndpointName=name)
        assert_complete("DescribeEndpoint", described)
        config = sagemaker.describe_endpoint_config(EndpointConfigName=described["EndpointConfigName"])
        assert_complete("DescribeEndpointConfig", config)
        model = sagemaker.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
        assert_complete("DescribeModel", model)
        assert_complete("ListTags", sagemaker.list_tags(ResourceArn=described["EndpointArn"]))
    for operation, call in (("ListEndpoints", sagemaker.list_endpoints), ("ListModels", sagemaker.list_models),
                            ("ListEndpointConfigs", sagemaker.list_endpoint_configs)):
        assert_complete(operation, call(MaxResults=100))
    for name in (serving, broken):
        sagemaker.delete_endpoint(EndpointName=name)
