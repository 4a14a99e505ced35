"""Requests that come from a Docker job's container, and what the edge refuses them.

A job's container reaches the edge only through its relay (:mod:`emulator.runners.docker.relay`), whose
connections come from :data:`~emulator.runners.docker.relay.JOB_SOURCE_ADDRESS`. Such a request may
use the AWS APIs (a pipeline step creates jobs, reads S3), but not mlharbor's own paths nor
moto's: :class:`JobOriginGate` answers those 403 before any app sees them, and the SageMaker
route hands the handlers the job's :class:`~emulator.services.sagemaker.caller.Caller`, so what it creates
stays on the Docker runner. ``REMOTE_ADDR`` is the socket's peer: no forwarded header is trusted.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from emulator.core.errors import AccessDeniedError
from emulator.core.origin import path_under
from emulator.runners.docker.relay import JOB_SOURCE_ADDRESS
from emulator.services.sagemaker.caller import JOB, USER, Caller

#: paths a job's container may not reach: mlharbor's own API, moto's (reset, seed…) and the console
REFUSED_PREFIXES = ("/_mlharbor", "/moto-api", "/_console")

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def is_from_job(environ: dict[str, Any]) -> bool:
    """Whether the request arrived through a job's relay."""
    return environ.get("REMOTE_ADDR") == JOB_SOURCE_ADDRESS


def caller_of(environ: dict[str, Any]) -> Caller:
    return JOB if is_from_job(environ) else USER


def refused_for_jobs(path: str) -> bool:
    """Whether ``path`` (``PATH_INFO``, already percent-decoded) is one a job may not reach."""
    return path_under(path, REFUSED_PREFIXES)


class JobOriginGate:
    """A WSGI wrapper answering 403 (AWS JSON shape) to a job's request for a refused path."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if is_from_job(environ) and refused_for_jobs(environ.get("PATH_INFO", "")):
            error = AccessDeniedError(f"{environ.get('PATH_INFO')} cannot be reached from inside a job's container.")
            body = json.dumps({"__type": error.code, "message": error.message}).encode()
            start_response("403 Forbidden", [("Content-Type", "application/x-amz-json-1.1"),
                                             ("x-amzn-ErrorType", error.code), ("Content-Length", str(len(body)))])
            return [body]
        return self.app(environ, start_response)
