"""The awsJson1_1 protocol: ``POST /`` with ``X-Amz-Target: <Prefix>.<Operation>``.

One dispatcher per service: it finds the operation in botocore's model, validates the
body against it, calls the handler named after the operation in snake_case, and writes
the result or the error as AWS does (``{"__type": code, "message": text}``). It takes and
returns plain values, so the web framework around it stays a thin shell.
See https://smithy.io/2.0/aws/protocols/aws-json-1_1-protocol.html
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import botocore.session
from botocore.model import ServiceModel

from emulator.aws.errors import (
    InternalFailureError,
    NotImplementedOperationError,
    SerializationError,
    ServiceError,
    UnknownOperationError,
)
from emulator.aws.validation import validate_request

log = logging.getLogger(__name__)

CONTENT_TYPE = "application/x-amz-json-1.1"
_REGION_IN_AUTH = re.compile(r"Credential=[^/]+/\d{8}/([a-z0-9-]+)/")
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


@dataclass(frozen=True)
class WireResponse:
    """What goes back on the wire."""

    status: int
    body: bytes
    headers: dict[str, str]


def snake_case(operation: str) -> str:
    """``CreateTrainingJob`` → ``create_training_job`` (the handler's name)."""
    return _CAMEL_BOUNDARY.sub("_", operation).lower()


def region_from_authorization(header: str | None, default: str) -> str:
    """The region of the SigV4 credential scope, which names where the client thinks it is."""
    match = _REGION_IN_AUTH.search(header or "")
    return match.group(1) if match else default


def load_service_model(name: str) -> ServiceModel:
    return botocore.session.get_session().get_service_model(name)


class JsonDispatcher:
    """Routes awsJson1_1 requests of one service to a handler object.

    Args:
        service_model: botocore's model of the service (operations, shapes, target prefix).
        handlers: an object with one method per supported operation, in snake_case, each
            taking ``(region, params)`` and returning the output dict.
        default_region: used when the request carries no SigV4 scope.
    """

    def __init__(self, service_model: ServiceModel, handlers: object, default_region: str) -> None:
        self.model = service_model
        self.prefix = service_model.metadata["targetPrefix"] + "."
        self.handlers = handlers
        self.default_region = default_region
        self._operations: dict[str, tuple[Any, Callable[[str, dict[str, Any]], Any] | None]] = {}
        for name in service_model.operation_names:
            handler = getattr(handlers, snake_case(name), None)
            self._operations[name] = (service_model.operation_model(name), handler)

    def supported_operations(self) -> list[str]:
        return sorted(name for name, (_, handler) in self._operations.items() if handler is not None)

    def handles(self, target: str | None) -> bool:
        return bool(target) and target.startswith(self.prefix)  # type: ignore[union-attr]

    def dispatch(self, target: str, body: bytes, authorization: str | None,
                 handlers: object | None = None) -> WireResponse:
        """Answer one request; ``handlers``: this request's handler object, if not the dispatcher's own
        (the same operations, scoped to who sent it)."""
        request_id = str(uuid.uuid4())
        try:
            result = self._call(target, body, region_from_authorization(authorization, self.default_region), handlers)
            return _json_response(200, result, request_id)
        except ServiceError as error:
            return _error_response(error, request_id)
        except Exception as error:  # a bug: say so in the AWS shape instead of a stack page
            log.exception("unhandled error in %s", target)
            return _error_response(InternalFailureError(f"mlharbor internal error: {error!r}"), request_id)

    def _call(self, target: str, body: bytes, region: str, handlers: object | None = None) -> Any:
        operation_name = target[len(self.prefix) :]
        entry = self._operations.get(operation_name)
        if entry is None:
            raise UnknownOperationError(f"Operation {operation_name} is not part of {self.model.service_name}.")
        operation, handler = entry
        if handler is None:
            raise NotImplementedOperationError(
                f"{operation_name} is not emulated by mlharbor; supported: {', '.join(self.supported_operations())}"
            )
        if handlers is not None:
            handler = getattr(handlers, snake_case(operation_name))
        try:
            params = json.loads(body) if body.strip() else {}
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise SerializationError(f"The request body is not valid JSON: {error}") from None
        return handler(region, validate_request(operation, params))


def _json_response(status: int, payload: Any, request_id: str) -> WireResponse:
    body = json.dumps(payload if payload is not None else {}, separators=(",", ":")).encode()
    return WireResponse(status, body, {"Content-Type": CONTENT_TYPE, "x-amzn-RequestId": request_id})


def _error_response(error: ServiceError, request_id: str) -> WireResponse:
    response = _json_response(error.status, {"__type": error.code, "message": error.message}, request_id)
    response.headers["x-amzn-ErrorType"] = error.code
    return response
