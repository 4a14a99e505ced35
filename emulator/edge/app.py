"""The edge's WSGI application: our Flask app for SageMaker and Glue's jobs, embedded moto for the rest.

A request goes to our Flask app when it is a SageMaker call (``X-Amz-Target:
SageMaker.*``), a Glue job, run, bookmark or connection call (``AWSGlue.<one we serve>``), a
sagemaker-runtime InvokeEndpoint (``POST /endpoints/<name>/invocations`` signed for service ``sagemaker``),
or an mlharbor path (``/_mlharbor/…``); everything else (S3, CloudWatch Logs, CloudWatch, IAM, STS, the Glue
Data Catalog…) goes to moto's own server application, in this process, which
tells services apart by the SigV4 scope and the Host header as moto's server does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

from emulator.console import console_blueprint, is_console_request
from emulator.core.awsjson import JsonDispatcher, load_service_model
from emulator.edge.gate import raw_target
from emulator.edge.inflate import InflatingApp
from emulator.edge.internal import PREFIX as OUR_PATH_PREFIX
from emulator.edge.internal import internal_blueprint
from emulator.edge.job_origin import is_from_job
from emulator.services.glue.backend import glue_backend
from emulator.services.glue.responses import SERVED_OPERATIONS as GLUE_OPERATIONS
from emulator.services.glue.responses import GlueResponses
from emulator.services.glue.routes import glue_blueprint, is_glue_target
from emulator.services.sagemaker.caller import JOB
from emulator.services.sagemaker.plane import ControlPlane
from emulator.services.sagemaker.responses import SageMakerResponses
from emulator.services.sagemaker.routes import runtime_blueprint, sagemaker_blueprint
from emulator.services.sagemaker.runtime import RuntimeDispatcher, is_runtime_request

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def create_app(control: ControlPlane, extra_health: Callable[[], dict[str, Any]] | None = None) -> Flask:
    """The Flask app for the APIs mlharbor implements itself.

    Args:
        control: the control plane the handlers call.
        extra_health: returns more health facts (the graph server's, for example).
    """
    app = Flask("mlharbor")
    responses = SageMakerResponses(control.training, control.processing, control.endpoints, control.tags,
                                   transforms=control.transforms, tuning=control.tuning)
    sagemaker = JsonDispatcher(load_service_model("sagemaker"), responses, control.config["region"])
    app.register_blueprint(sagemaker_blueprint(sagemaker, job_handlers=responses.for_caller(JOB),
                                                 is_from_job=is_from_job))
    app.register_blueprint(runtime_blueprint(RuntimeDispatcher(control.endpoints, control.config["region"])))
    glue = glue_backend(control.config, control.endpoint_url, control.training.settings.graph_endpoint_url,
                        control.logs)
    control.attach(glue)
    glue_api = JsonDispatcher(load_service_model("glue"), GlueResponses(glue), control.config["region"])
    app.register_blueprint(glue_blueprint(glue_api, GLUE_OPERATIONS))

    def health_facts() -> dict[str, Any]:
        facts: dict[str, Any] = {
            "runner": control.config["runner"],
            "sagemaker_operations": sagemaker.supported_operations(),
            "glue_operations": sorted(GLUE_OPERATIONS),
        }
        if extra_health is not None:
            facts.update(extra_health())
        return facts

    app.register_blueprint(internal_blueprint(control, health_facts))
    app.register_blueprint(console_blueprint(control, health_facts, glue))  # the console (issue 17)
    return app


class EdgeDispatcher:
    """Chooses our app or moto's for each request.

    Args:
        ours: the Flask app from :func:`create_app`.
        moto: moto's server application (made here when not given).
    """

    def __init__(self, ours: WSGIApp, moto: WSGIApp | None = None) -> None:
        self.ours = ours
        self.moto = InflatingApp(moto or DomainDispatcherApplication(create_backend_app))

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if self.is_ours(environ):
            return self.ours(environ, start_response)
        return self.moto(environ, start_response)

    @staticmethod
    def is_ours(environ: dict[str, Any]) -> bool:
        if environ.get("HTTP_X_AMZ_TARGET", "").startswith("SageMaker."):
            return True
        if is_glue_target(environ.get("HTTP_X_AMZ_TARGET", ""), GLUE_OPERATIONS):
            return True  # the Glue job API is ours; the rest of Glue (the Data Catalog) stays moto's
        # the raw path: an endpoint name with an encoded "/" (``a%2Fb``) is still InvokeEndpoint, which
        # refuses the name, rather than a miss that moto would answer for S3
        raw_path = raw_target(environ)[0]
        if is_runtime_request(environ.get("REQUEST_METHOD", ""), raw_path, environ.get("HTTP_AUTHORIZATION")):
            return True  # sagemaker-runtime InvokeEndpoint (rest-json, signed for service "sagemaker")
        if is_console_request(environ):
            return True  # the console's pages (``/_console/…``, and ``/`` for a browser)
        return environ.get("PATH_INFO", "").startswith(OUR_PATH_PREFIX)


class NotReadyApp:
    """Answers 503 while the edge starts, so ``/_mlharbor/health`` is 200 only once all is up."""

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        body = b'{"status": "starting"}'
        start_response("503 Service Unavailable", [("Content-Type", "application/json")])
        return [body]


class SwappableApp:
    """A WSGI app whose target is set once the control plane exists (the port is bound first)."""

    def __init__(self, target: WSGIApp) -> None:
        self.target = target

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        return self.target(environ, start_response)
