"""SageMaker's model, endpoint-config, endpoint and tag operations on the wire.

A mixin of :class:`emulator.services.sagemaker.responses.SageMakerResponses`: one method per operation,
named after it in snake_case, reading validated request members and shaping the output as the
API reference does, e.g.
https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DescribeEndpoint.html
"""

from __future__ import annotations

from typing import Any

from emulator.core.errors import NotImplementedOperationError
from emulator.core.paging import cut, list_query, page
from emulator.services.sagemaker.caller import USER, Caller
from emulator.services.sagemaker.endpoints import EndpointBackend
from emulator.services.sagemaker.records import EndpointConfigRecord, EndpointRecord, ModelRecord
from emulator.services.sagemaker.tags import TagBackend

_MODEL_ECHOED = ("PrimaryContainer", "Containers", "InferenceExecutionConfig", "ExecutionRoleArn", "VpcConfig")
_CONFIG_ECHOED = ("ProductionVariants", "DataCaptureConfig", "KmsKeyId", "AsyncInferenceConfig",
                  "ExplainerConfig", "ShadowProductionVariants", "ExecutionRoleArn", "VpcConfig")


#: ListTags' page when the request names no MaxResults
LIST_TAGS_PAGE = 50


class EndpointResponses:
    """The endpoint family's handlers; ``endpoints`` and ``tags`` are set by the subclass."""

    endpoints: EndpointBackend | None
    tags: TagBackend | None
    caller: Caller = USER

    def _endpoint_backend(self) -> EndpointBackend:
        if self.endpoints is None:
            raise NotImplementedOperationError("endpoints are not enabled on this server")
        return self.endpoints

    def _tag_backend(self) -> TagBackend:
        if self.tags is None:
            raise NotImplementedOperationError("tags are not enabled on this server")
        return self.tags

    def _tag(self, arn: str, params: dict[str, Any]) -> None:
        if params.get("Tags") and self.tags is not None:
            self.tags.add(arn, params["Tags"])

    # -- models -----------------------------------------------------------------------------
    def create_model(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        model = self._endpoint_backend().create_model(region, params, caller=self.caller)
        self._tag(model.arn, params)
        return {"ModelArn": model.arn}

    def describe_model(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        return describe_model_output(self._endpoint_backend().describe_model(region, params["ModelName"]))

    def delete_model(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        self._endpoint_backend().delete_model(region, params["ModelName"])
        return {}

    def list_models(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        models, token = self._endpoint_backend().list_models(region, list_query(params))
        return page("Models", [{"ModelName": m.name, "ModelArn": m.arn, "CreationTime": m.creation_time}
                                for m in models], token)

    # -- endpoint configs -------------------------------------------------------------------
    def create_endpoint_config(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        config = self._endpoint_backend().create_endpoint_config(region, params)
        self._tag(config.arn, params)
        return {"EndpointConfigArn": config.arn}

    def describe_endpoint_config(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        config = self._endpoint_backend().describe_endpoint_config(region, params["EndpointConfigName"])
        return describe_endpoint_config_output(config)

    def delete_endpoint_config(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        self._endpoint_backend().delete_endpoint_config(region, params["EndpointConfigName"])
        return {}

    def list_endpoint_configs(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        configs, token = self._endpoint_backend().list_endpoint_configs(region, list_query(params))
        return page("EndpointConfigs", [{"EndpointConfigName": c.name, "EndpointConfigArn": c.arn,
                                          "CreationTime": c.creation_time} for c in configs], token)

    # -- endpoints --------------------------------------------------------------------------
    def create_endpoint(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        endpoint = self._endpoint_backend().create_endpoint(region, params, caller=self.caller)
        self._tag(endpoint.arn, params)
        return {"EndpointArn": endpoint.arn}

    def describe_endpoint(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        return describe_endpoint_output(self._endpoint_backend().describe_endpoint(region, params["EndpointName"]))

    def list_endpoints(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        endpoints, token = self._endpoint_backend().list_endpoints(region, list_query(params))
        return page("Endpoints", [endpoint_summary(e) for e in endpoints], token)

    def update_endpoint(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        endpoint = self._endpoint_backend().update_endpoint(region, params["EndpointName"],
                                                            params["EndpointConfigName"], caller=self.caller)
        return {"EndpointArn": endpoint.arn}

    def delete_endpoint(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        self._endpoint_backend().delete_endpoint(region, params["EndpointName"])
        return {}

    # -- tags ---------------------------------------------------------------------------------
    def add_tags(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        return {"Tags": self._tag_backend().add(params["ResourceArn"], params["Tags"])}

    def list_tags(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        arn = params["ResourceArn"]
        tags, token = cut(self._tag_backend().list(arn), params.get("MaxResults", LIST_TAGS_PAGE),
                          params.get("NextToken"), scope=arn)
        return page("Tags", tags, token)

    def delete_tags(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        self._tag_backend().remove(params["ResourceArn"], params["TagKeys"])
        return {}


def describe_model_output(model: ModelRecord) -> dict[str, Any]:
    out: dict[str, Any] = {"ModelName": model.name, "ModelArn": model.arn, "CreationTime": model.creation_time,
                           "EnableNetworkIsolation": bool(model.request.get("EnableNetworkIsolation", False))}
    out.update({member: model.request[member] for member in _MODEL_ECHOED if member in model.request})
    return out


def describe_endpoint_config_output(config: EndpointConfigRecord) -> dict[str, Any]:
    out: dict[str, Any] = {"EndpointConfigName": config.name, "EndpointConfigArn": config.arn,
                           "CreationTime": config.creation_time}
    out.update({member: config.request[member] for member in _CONFIG_ECHOED if member in config.request})
    return out


def endpoint_summary(endpoint: EndpointRecord) -> dict[str, Any]:
    return {"EndpointName": endpoint.name, "EndpointArn": endpoint.arn, "CreationTime": endpoint.creation_time,
            "LastModifiedTime": endpoint.last_modified_time, "EndpointStatus": endpoint.status}


def describe_endpoint_output(endpoint: EndpointRecord) -> dict[str, Any]:
    out = endpoint_summary(endpoint)
    out["EndpointConfigName"] = endpoint.config_name
    if endpoint.variants:
        out["ProductionVariants"] = endpoint.variants
    if endpoint.failure_reason:
        out["FailureReason"] = endpoint.failure_reason
    return out
