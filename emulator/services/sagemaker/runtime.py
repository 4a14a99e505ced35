"""sagemaker-runtime's InvokeEndpoint on the wire (rest-json): ``POST /endpoints/{EndpointName}/invocations``.

The request's members come from the URI and headers (botocore's model says which), the body
is the payload as is. Members are validated against botocore's model like every other call;
errors go back as rest-json does it (``emulator/core/restjson.py``).
https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_runtime_InvokeEndpoint.html
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from botocore.model import OperationModel

from emulator.core.awsjson import WireResponse, load_service_model
from emulator.core.errors import InternalFailureError, RuntimeValidationError, ServiceError, ValidationError
from emulator.core.restjson import error_response
from emulator.core.validation import validate_request
from emulator.services.sagemaker.endpoints import EndpointBackend

log = logging.getLogger(__name__)

#: ``POST /endpoints/<name>/invocations`` (the name percent-encoded by botocore)
INVOCATIONS_PATH = re.compile(r"^/endpoints/(.*)/invocations$")  # any name: the dispatcher refuses bad ones
_SERVICE_IN_AUTH = re.compile(r"Credential=[^/]+/\d{8}/[a-z0-9-]+/([a-z0-9-]+)/")
#: InvokeEndpoint's payload limit (6 MB); a longer body is refused, and read no further than this.
MAX_PAYLOAD_BYTES = 6291456


def is_runtime_request(method: str, path: str, authorization: str | None) -> bool:
    """An InvokeEndpoint call: the path, and SigV4 scope service ``sagemaker`` (an S3 bucket named
    ``endpoints`` signs with ``s3``; an unsigned request is taken by the path alone)."""
    if method != "POST" or not INVOCATIONS_PATH.match(path):
        return False
    match = _SERVICE_IN_AUTH.search(authorization or "")
    return match is None or match.group(1) == "sagemaker"


@dataclass(frozen=True)
class RuntimeRequest:
    """One InvokeEndpoint call as it arrived."""

    path: str
    headers: Mapping[str, str]
    body: bytes
    region: str
    #: the body was longer than :data:`MAX_PAYLOAD_BYTES` and was not read whole (``body`` is then empty)
    oversized: bool = False


class RuntimeDispatcher:
    """Parses, validates and answers InvokeEndpoint.

    Args:
        endpoints: the endpoint backend that forwards to the serving containers.
        default_region: used when the request carries no SigV4 scope.
    """

    def __init__(self, endpoints: EndpointBackend, default_region: str) -> None:
        self.endpoints = endpoints
        self.default_region = default_region
        self.operation: OperationModel = load_service_model("sagemaker-runtime").operation_model("InvokeEndpoint")

    def dispatch(self, request: RuntimeRequest) -> WireResponse:
        request_id = str(uuid.uuid4())
        try:
            return self._invoke(request, request_id)
        except ServiceError as error:
            return error_response(error, request_id)
        except Exception as error:  # a bug: the AWS shape, not a stack page
            log.exception("unhandled error in InvokeEndpoint")
            return error_response(InternalFailureError(f"mlharbor internal error: {error!r}"), request_id)

    def _invoke(self, request: RuntimeRequest, request_id: str) -> WireResponse:
        params = self.parse(request)
        invocation = self.endpoints.invoke_endpoint(
            request.region, params["EndpointName"], request.body, params.get("ContentType"), params.get("Accept"),
            params.get("CustomAttributes"), params.get("TargetVariant"),
        )
        headers = {"Content-Type": invocation.content_type, "x-Amzn-Invoked-Production-Variant": invocation.variant,
                   "x-amzn-RequestId": request_id}
        if invocation.custom_attributes:
            headers["X-Amzn-SageMaker-Custom-Attributes"] = invocation.custom_attributes
        return WireResponse(200, invocation.body, headers)

    def parse(self, request: RuntimeRequest) -> dict[str, Any]:
        """URI and header members by botocore's model, validated (``ValidationError`` as the runtime names it)."""
        match = INVOCATIONS_PATH.match(request.path)
        params: dict[str, Any] = {"EndpointName": unquote(match.group(1)) if match else "", "Body": ""}
        lowered = {key.lower(): value for key, value in request.headers.items()}
        for name, shape in self.operation.input_shape.members.items():
            if shape.serialization.get("location") == "header":
                value = lowered.get(shape.serialization["name"].lower())
                if value is not None:
                    params[name] = value
        try:
            validate_request(self.operation, params)
        except ValidationError as error:
            raise RuntimeValidationError(error.message) from None
        if request.oversized or len(request.body) > MAX_PAYLOAD_BYTES:
            raise RuntimeValidationError(f"1 validation error detected: Value at 'body' failed to satisfy constraint: "
                                         f"Member must have length less than or equal to {MAX_PAYLOAD_BYTES}")
        del params["Body"]
        return params

