"""Where SageMaker requests enter: ``POST /`` with ``X-Amz-Target: SageMaker.*``."""

from __future__ import annotations

from flask import Blueprint, Response, request

from emulator.aws.json_protocol import JsonDispatcher


def sagemaker_blueprint(dispatcher: JsonDispatcher) -> Blueprint:
    """A blueprint answering every awsJson1_1 SageMaker call through ``dispatcher``."""
    blueprint = Blueprint("sagemaker", __name__)

    @blueprint.post("/")
    def sagemaker_api() -> Response:
        wire = dispatcher.dispatch(
            request.headers.get("X-Amz-Target", ""),
            request.get_data(cache=False),
            request.headers.get("Authorization"),
        )
        return Response(wire.body, status=wire.status, headers=wire.headers)

    return blueprint
