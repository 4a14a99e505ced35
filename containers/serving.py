"""The serving half of the container contract: ``GET /ping`` and ``POST /invocations``.

A built-in image's ``serve`` module calls :func:`serve` with a loader. The loader reads the
model directory (``model.tar.gz`` already extracted there, as SageMaker does) once, before
the port opens, so ``/ping`` answers 200 only for a model that loaded. A loader that fails
ends the process with its message, which the control plane reports as the endpoint's
``FailureReason``.

Where it listens: ``SAGEMAKER_BIND_TO_HOST`` / ``SAGEMAKER_BIND_TO_PORT`` (the
sagemaker-inference toolkit's own variables; 127.0.0.1 and 8080 by default: the Docker
runner sets ``0.0.0.0`` inside the container, the process runner a free local port).
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from containers import contract


class InvocationError(Exception):
    """A request the model cannot answer; its message goes back to the caller.

    Args:
        message: what the caller reads (InvokeEndpoint returns it inside ``ModelError``).
        status: the HTTP status the container answers with (4xx: the request, 5xx: the model).
        content_type: the error body's type (an image whose AWS counterpart answers errors as JSON says so).
    """

    def __init__(self, message: str, status: int = 400, content_type: str = "text/plain") -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.content_type = content_type


class Predictor(Protocol):
    """A loaded model answering one invocation."""

    def predict(self, body: bytes, content_type: str, accept: str) -> tuple[bytes, str]:
        """The response body and its content type, or :class:`InvocationError`."""


def model_dir() -> Path:
    """Where ``model.tar.gz`` was extracted (``SM_MODEL_DIR``, else ``/opt/ml/model``)."""
    return Path(os.environ.get(contract.SM_MODEL_DIR) or contract.DEFAULT_BASE_DIR / "model")


def wsgi_app(predictor: Predictor, default_accept: str = "application/json") -> Callable[..., object]:
    """The two routes of the serving contract around one predictor (``default_accept``: a request without
    ``Accept``, as the image's AWS counterpart answers it)."""

    @Request.application
    def application(request: Request) -> Response:
        if request.path == "/ping" and request.method == "GET":
            return Response(b"", status=200)
        if request.path == "/invocations" and request.method == "POST":
            content_type = request.headers.get("Content-Type", "application/json")
            accept = request.headers.get("Accept", default_accept)
            try:
                body, response_type = predictor.predict(request.get_data(), content_type, accept)
            except InvocationError as error:
                return Response(error.message, status=error.status, content_type=error.content_type)
            except Exception as error:  # the model's own bug: the caller gets the message, not a hang
                return Response(f"{type(error).__name__}: {error}", status=500, content_type="text/plain")
            return Response(body, status=200, content_type=response_type)
        return Response(f"no route {request.method} {request.path}", status=404, content_type="text/plain")

    return application


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(0)


def serve(load: Callable[[Path], Predictor], default_accept: str = "application/json") -> None:
    """Load the model, then answer ``/ping`` and ``/invocations`` until SIGTERM."""
    directory = model_dir()
    try:
        predictor = load(directory)
    except Exception as error:
        print(f"model in {directory} failed to load: {type(error).__name__}: {error}", file=sys.stderr, flush=True)
        raise SystemExit(1) from error
    host = os.environ.get(contract.SERVING_HOST_ENV, "127.0.0.1")
    port = int(os.environ.get(contract.SERVING_PORT_ENV, str(contract.SERVING_PORT)))
    server = make_server(host, port, wsgi_app(predictor, default_accept), threaded=True)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    print(f"serving {directory} on http://{host}:{server.server_port}", flush=True)
    server.serve_forever()
