"""Where SageMaker requests enter: ``POST /`` with ``X-Amz-Target: SageMaker.*``."""

from __future__ import annotations

from flask import Blueprint, Response, request

from emulator.aws.json_protocol import JsonDispatcher, region_from_authorization
from emulator.edge.job_origin import is_from_job
from emulator.sagemaker.runtime import RuntimeDispatcher, RuntimeRequest


def sagemaker_blueprint(dispatcher: JsonDispatcher, job_handlers: object | None = None) -> Blueprint:
    """A blueprint answering every awsJson1_1 SageMaker call through ``dispatcher``.

    Args:
        job_handlers: the handlers for requests from a job's container (:mod:`emulator.edge.job_origin`);
            ``None``: the dispatcher's own for every request.
    """
    blueprint = Blueprint("sagemaker", __name__)

    @blueprint.post("/")
    def sagemaker_api() -> Response:
        wire = dispatcher.dispatch(
            request.headers.get("X-Amz-Target", ""),
            request.get_data(cache=False),
            request.headers.get("Authorization"),
            handlers=job_handlers if is_from_job(request.environ) else None,
        )
        return Response(wire.body, status=wire.status, headers=wire.headers)

    return blueprint


def runtime_blueprint(dispatcher: RuntimeDispatcher) -> Blueprint:
    """sagemaker-runtime's InvokeEndpoint: ``POST /endpoints/<name>/invocations`` (rest-json)."""
    blueprint = Blueprint("sagemaker_runtime", __name__)

    @blueprint.post("/endpoints/<path:name>/invocations")
    def invoke_endpoint(name: str) -> Response:
        wire = dispatcher.dispatch(RuntimeRequest(
            path=request.environ.get("RAW_URI", request.path).split("?", 1)[0],
            headers=request.headers,
            body=request.get_data(cache=False),
            region=region_from_authorization(request.headers.get("Authorization"), dispatcher.default_region),
        ))
        return Response(wire.body, status=wire.status, headers=wire.headers)

    return blueprint
