"""One error class per AWS wire error code.

Service code raises these; only a service's dispatcher turns them into a response body,
so job logic never builds HTTP. Each subclass carries its wire ``code`` and HTTP status
(moto's ``ServiceException`` idea: one wire code, one class).
"""

from __future__ import annotations


class ServiceError(Exception):
    """Base of every error that goes back to a client in the AWS shape.

    Args:
        message: the human text AWS puts in ``message``.
    """

    code: str = "InternalFailure"
    status: int = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def members(self) -> dict[str, object]:
        """The error shape's members beside ``message`` (none, unless a subclass's shape has more)."""
        return {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


class ValidationError(ServiceError):
    """``ValidationException``: the request does not satisfy the API's constraints."""

    code = "ValidationException"
    status = 400


class SerializationError(ServiceError):
    """``SerializationException``: the body is not JSON, or a member has the wrong JSON type."""

    code = "SerializationException"
    status = 400


class ResourceInUseError(ServiceError):
    """``ResourceInUse``: a resource with that name already exists."""

    code = "ResourceInUse"
    status = 400


class ResourceNotFoundError(ServiceError):
    """``ResourceNotFound``: used by operations whose model declares it."""

    code = "ResourceNotFound"
    status = 400


class ResourceLimitExceededError(ServiceError):
    """``ResourceLimitExceeded``."""

    code = "ResourceLimitExceeded"
    status = 400


class UnknownOperationError(ServiceError):
    """``UnknownOperationException``: the target names no operation of the service."""

    code = "UnknownOperationException"
    status = 400


class NotImplementedOperationError(ServiceError):
    """The operation exists on AWS but mlharbor does not emulate it (never a fake success)."""

    code = "NotImplementedException"
    status = 501


class InternalFailureError(ServiceError):
    """``InternalFailure``: a bug on our side; the message says what broke."""

    code = "InternalFailure"
    status = 500


class ModelError(ServiceError):
    """sagemaker-runtime ``ModelError`` (HTTP 424): the serving container answered with an error.

    Args:
        message: AWS's text (``Received client error (400) from primary with message "…"``).
        original_status_code: the container's HTTP status.
        original_message: the container's response body.
        log_stream_arn: the endpoint's CloudWatch log group ARN.
    """

    code = "ModelError"
    status = 424

    def __init__(self, message: str, original_status_code: int, original_message: str, log_stream_arn: str) -> None:
        super().__init__(message)
        self.original_status_code = original_status_code
        self.original_message = original_message
        self.log_stream_arn = log_stream_arn

    def members(self) -> dict[str, object]:
        """The members botocore's ``ModelError`` shape carries beside ``Message``."""
        return {"OriginalStatusCode": self.original_status_code, "OriginalMessage": self.original_message,
                "LogStreamArn": self.log_stream_arn}


class RuntimeValidationError(ServiceError):
    """sagemaker-runtime's ``ValidationError`` (its own code, not SageMaker's ``ValidationException``)."""

    code = "ValidationError"
    status = 400


class RequestTooLargeError(ValidationError):
    """A ``ValidationException`` with HTTP 413: the body is larger than the API reads (it is left unread)."""

    status = 413


class AccessDeniedError(ServiceError):
    """``AccessDeniedException`` (HTTP 403): the caller may not do this, whatever it sends."""

    code = "AccessDeniedException"
    status = 403
