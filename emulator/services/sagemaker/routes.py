"""Where SageMaker requests enter: ``POST /`` with ``X-Amz-Target: SageMaker.*``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, request

from emulator.core.awsjson import MAX_BODY_BYTES, JsonDispatcher, error_response, region_from_authorization
from emulator.core.errors import RequestTooLargeError
from emulator.services.sagemaker.runtime import MAX_PAYLOAD_BYTES, RuntimeDispatcher, RuntimeRequest


def read_body(limit: int) -> bytes | None:
    """The request body, or ``None`` when it is longer than ``limit`` (then at most ``limit + 1`` bytes are read)."""
    declared = request.content_length
    if declared is not None and declared > limit:
        return None
    body = request.stream.read(limit + 1)  # Werkzeug's stream ends at Content-Length
    return None if len(body) > limit else body


def sagemaker_blueprint(dispatcher: JsonDispatcher, job_handlers: object | None = None,
                        is_from_job: Callable[[dict[str, Any]], bool] | None = None) -> Blueprint:
    """A blueprint answering every awsJson1_1 SageMaker call through ``dispatcher``.

    Args:
        job_handlers: the handlers for requests from a job's container; ``None``: the dispatcher's own
            for every request.
        is_from_job: tells a request from a job's container by its WSGI environ (the edge knows how:
            :mod:`emulator.edge.job_origin`); by default no request is.
    """
    blueprint = Blueprint("sagemaker", __name__)

    @blueprint.post("/")
    def sagemaker_api() -> Response:
        body = read_body(MAX_BODY_BYTES)
        if body is None:
            wire = error_response(RequestTooLargeError(
                f"The request body is larger than {MAX_BODY_BYTES} bytes, the most this API reads."))
        else:
            wire = dispatcher.dispatch(
                request.headers.get("X-Amz-Target", ""),
                body,
                request.headers.get("Authorization"),
                handlers=job_handlers if is_from_job and is_from_job(request.environ) else None,
            )
        return Response(wire.body, status=wire.status, headers=wire.headers)

    return blueprint


def runtime_blueprint(dispatcher: RuntimeDispatcher) -> Blueprint:
    """sagemaker-runtime's InvokeEndpoint: ``POST /endpoints/<name>/invocations`` (rest-json)."""
    blueprint = Blueprint("sagemaker_runtime", __name__)

    @blueprint.post("/endpoints/<path:name>/invocations")
    def invoke_endpoint(name: str) -> Response:
        body = read_body(MAX_PAYLOAD_BYTES)
        wire = dispatcher.dispatch(RuntimeRequest(
            path=request.environ.get("RAW_URI", request.path).split("?", 1)[0],
            headers=request.headers,
            body=body or b"",
            region=region_from_authorization(request.headers.get("Authorization"), dispatcher.default_region),
            oversized=body is None,
        ))
        return Response(wire.body, status=wire.status, headers=wire.headers)

    return blueprint
