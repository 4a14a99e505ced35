"""Every error the graph server answers with: one class per wire code.

Each class carries both faces of the error: the Gremlin Server response status used on the
websocket (https://tinkerpop.apache.org/docs/3.7.0/dev/provider/#_graph_driver_provider_requirements,
"Response Message Status Codes") and the Neptune error code with its HTTP status used by the
HTTP API (https://docs.aws.amazon.com/neptune/latest/userguide/errors-engine-codes.html), which
botocore turns into the modelled ``neptunedata`` exception of the same name.
"""

from __future__ import annotations

import json
from typing import Any

# Gremlin Server response status codes
SUCCESS = 200
NO_CONTENT = 204
PARTIAL_CONTENT = 206
UNAUTHORIZED = 401
MALFORMED_REQUEST = 498
INVALID_REQUEST_ARGUMENTS = 499
SERVER_ERROR = 500
SCRIPT_EVALUATION = 597
SERVER_TIMEOUT = 598
SERVER_SERIALIZATION = 599


class GraphServiceError(Exception):
    """Base of all wire errors; only the protocol and HTTP layers turn it into bytes."""

    code = "InternalFailureException"
    http_status = 500
    gremlin_status = SERVER_ERROR

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def neptune_body(self, request_id: str) -> dict[str, Any]:
        """Neptune's JSON error shape: ``{"requestId", "code", "detailedMessage"}``.

        ``message`` repeats the text because botocore shows that field in the exception's string.
        """
        return {"requestId": request_id, "code": self.code, "detailedMessage": self.message,
                "message": self.message}

    def gremlin_message(self, request_id: str) -> str:
        """The websocket status message: Neptune sends the same JSON document as text."""
        body = self.neptune_body(request_id)
        del body["message"]
        return json.dumps(body)


class InternalFailure(GraphServiceError):
    code = "InternalFailureException"


class FailStepTriggered(InternalFailure):
    """A traverser reached ``fail()``: the query ends with the step's message (TinkerPop's FailException)."""


class BadRequest(GraphServiceError):
    code = "BadRequestException"
    http_status = 400
    gremlin_status = INVALID_REQUEST_ARGUMENTS


class MalformedRequest(GraphServiceError):
    """The request message itself could not be read (bad framing, unknown serializer)."""

    code = "BadRequestException"
    http_status = 400
    gremlin_status = MALFORMED_REQUEST


class InvalidParameter(GraphServiceError):
    code = "InvalidParameterException"
    http_status = 400
    gremlin_status = INVALID_REQUEST_ARGUMENTS


class MissingParameter(GraphServiceError):
    code = "MissingParameterException"
    http_status = 400
    gremlin_status = INVALID_REQUEST_ARGUMENTS


class MalformedQuery(GraphServiceError):
    """A Gremlin script that does not parse, or bytecode that does not make a traversal."""

    code = "MalformedQueryException"
    http_status = 400
    gremlin_status = SCRIPT_EVALUATION


class UnsupportedOperation(GraphServiceError):
    """A step, lambda or feature this server refuses (never executed)."""

    code = "UnsupportedOperationException"
    http_status = 400
    gremlin_status = INVALID_REQUEST_ARGUMENTS


class ConstraintViolation(GraphServiceError):
    """A write broke a graph rule (duplicate id, bad property value...)."""

    code = "ConstraintViolationException"
    http_status = 400
    gremlin_status = SCRIPT_EVALUATION


class IllegalArgument(GraphServiceError):
    """A step got arguments it cannot use at evaluation time."""

    code = "IllegalArgumentException"
    http_status = 400
    gremlin_status = SCRIPT_EVALUATION


class TimeLimitExceeded(GraphServiceError):
    code = "TimeLimitExceededException"
    http_status = 500
    gremlin_status = SERVER_TIMEOUT


class ConcurrentModification(GraphServiceError):
    """Two requests wanted to change the graph at once; Neptune's answer is this retryable error."""

    code = "ConcurrentModificationException"
    http_status = 500
    gremlin_status = SERVER_ERROR


class BulkLoadIdNotFound(GraphServiceError):
    code = "BulkLoadIdNotFoundException"
    http_status = 404
    gremlin_status = INVALID_REQUEST_ARGUMENTS


class LoadUrlAccessDenied(GraphServiceError):
    code = "LoadUrlAccessDeniedException"
    http_status = 400
    gremlin_status = INVALID_REQUEST_ARGUMENTS


class MethodNotAllowed(GraphServiceError):
    code = "MethodNotAllowedException"
    http_status = 405
    gremlin_status = INVALID_REQUEST_ARGUMENTS


class MLResourceNotFound(GraphServiceError):
    """A Neptune ML job or endpoint id that is not known (neptunedata's ``MLResourceNotFoundException``)."""

    code = "MLResourceNotFoundException"
    http_status = 404
    gremlin_status = INVALID_REQUEST_ARGUMENTS
