"""The awsJson1_1 protocol: ``POST /`` with ``X-Amz-Target: <Prefix>.<Operation>``.

One dispatcher per service: it finds the operation in botocore's model, validates the
body against it, calls the handler named after the operation in snake_case, and writes
the result or the error as AWS does (``{"__type": code, "message": text}``). It takes and
returns plain values, so the web framework around it stays a thin shell.
See https://smithy.io/2.0/aws/protocols/aws-json-1_1-protocol.html
"""

from __future__ import annotations

import functools
import json
import logging
import math
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import botocore.session
from botocore.model import ServiceModel

from emulator.core.errors import (
    InternalFailureError,
    NotImplementedOperationError,
    SerializationError,
    ServiceError,
    UnknownOperationError,
)
from emulator.core.validation import validate_request

log = logging.getLogger(__name__)

CONTENT_TYPE = "application/x-amz-json-1.1"
_REGION_IN_AUTH = re.compile(r"Credential=[^/]+/\d{8}/([a-z0-9-]+)/")
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
#: Deeper than any input shape of the model; a body beyond it is refused before validation.
MAX_NESTING_DEPTH = 64
#: A double's largest value has 309 digits; a longer number is no number AWS accepts.
MAX_NUMBER_DIGITS = 400
#: The largest request body the SageMaker API reads (hyperparameters, environments and
#: container definitions stay well under it); a larger one is refused unread.
MAX_BODY_BYTES = 8 * 1024 * 1024


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


@functools.cache  # read-only once loaded, and a tenth of a second to load: each app (and test) shares one
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
        return handler(region, validate_request(operation, decode_body(body)))


def decode_body(body: bytes) -> Any:
    """A request body as JSON values, refusing what AWS's deserializer cannot hold.

    Refused with ``SerializationException``: text that is not UTF-8 JSON, ``NaN`` and
    ``Infinity``, numbers beyond a double or longer than :data:`MAX_NUMBER_DIGITS`, and
    nesting deeper than :data:`MAX_NESTING_DEPTH`. An empty body is ``{}``.
    """
    if not body.strip():
        return {}
    try:
        value = json.loads(body, parse_constant=_refuse_constant, parse_int=_bounded_int, parse_float=_finite_float)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise SerializationError(f"The request body is not valid JSON: {error}") from None
    except RecursionError:  # the C decoder recurses once per level
        raise SerializationError(f"The request body nests deeper than {MAX_NESTING_DEPTH} levels.") from None
    if nesting_depth(value) > MAX_NESTING_DEPTH:
        raise SerializationError(f"The request body nests deeper than {MAX_NESTING_DEPTH} levels.")
    return value


def nesting_depth(value: Any) -> int:
    """How many arrays and objects deep ``value`` goes (walked with a stack, not recursion)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth + 1)
        stack.extend((child, depth + 1) for child in children)
    return deepest


def _refuse_constant(name: str) -> Any:
    raise SerializationError(f"{name} is not a JSON number.")


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_NUMBER_DIGITS:
        raise SerializationError(f"A number in the request body has more than {MAX_NUMBER_DIGITS} digits.")
    return int(text)


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise SerializationError(f"A number in the request body ({text[:40]}) does not fit a double.")
    return value


def error_response(error: ServiceError) -> WireResponse:
    """``error`` on the wire, for a request refused before it reaches :meth:`JsonDispatcher.dispatch`."""
    return _error_response(error, str(uuid.uuid4()))


def _json_response(status: int, payload: Any, request_id: str) -> WireResponse:
    body = json.dumps(payload if payload is not None else {}, separators=(",", ":")).encode()
    return WireResponse(status, body, {"Content-Type": CONTENT_TYPE, "x-amzn-RequestId": request_id})


def _error_response(error: ServiceError, request_id: str) -> WireResponse:
    response = _json_response(error.status, {"__type": error.code, "message": error.message}, request_id)
    response.headers["x-amzn-ErrorType"] = error.code
    return response
