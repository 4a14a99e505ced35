"""Where Glue requests enter: ``POST /`` with ``X-Amz-Target: AWSGlue.<operation we serve>``.

SageMaker's blueprint owns the rule ``POST /`` too, and Flask routes by path alone, so this blueprint takes
its requests by their target before routing (``before_app_request``) and leaves every other request alone.
The edge only sends us the operations in :data:`~emulator.services.glue.responses.SERVED_OPERATIONS`.
"""

from __future__ import annotations

from flask import Blueprint, Response, request

from emulator.core.awsjson import MAX_BODY_BYTES, JsonDispatcher, error_response
from emulator.core.errors import RequestTooLargeError


def is_glue_target(target: str, served: frozenset[str]) -> bool:
    """Whether ``target`` (the ``X-Amz-Target`` header) is a Glue operation we serve."""
    prefix, _, operation = target.partition(".")
    return prefix == "AWSGlue" and operation in served


def glue_blueprint(dispatcher: JsonDispatcher, served: frozenset[str]) -> Blueprint:
    """A blueprint answering the served Glue operations through ``dispatcher``."""
    blueprint = Blueprint("glue", __name__)

    @blueprint.before_app_request
    def glue_api() -> Response | None:
        target = request.headers.get("X-Amz-Target", "")
        if request.method != "POST" or request.path != "/" or not is_glue_target(target, served):
            return None
        declared = request.content_length
        body = request.stream.read(MAX_BODY_BYTES + 1) if declared is None or declared <= MAX_BODY_BYTES else None
        if body is None or len(body) > MAX_BODY_BYTES:
            wire = error_response(RequestTooLargeError(
                f"The request body is larger than {MAX_BODY_BYTES} bytes, the most this API reads."))
        else:
            wire = dispatcher.dispatch(target, body, request.headers.get("Authorization"))
        return Response(wire.body, status=wire.status, headers=wire.headers)

    return blueprint
