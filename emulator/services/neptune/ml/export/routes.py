"""The Neptune-Export service's REST face on the graph port.

``POST /v1/neptune-export`` starts an export (200 ``{"jobName", "jobId"}``), ``GET
/v1/neptune-export/{jobId}`` reports it, ``GET /v1/neptune-export`` lists the jobs (newest first).
A bad request is HTTP 400 and an unknown job 404, in the graph server's JSON error shape.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

from aiohttp import web

from emulator.services.neptune import errors
from emulator.services.neptune.http_api import json_response, read_json_object
from emulator.services.neptune.ml.export.jobs import ExportJobs
from emulator.services.neptune.ml.export.request import ExportRequestError
from emulator.services.neptune.store import GraphStore

PATH = "/v1/neptune-export"


class ExportJobNotFound(errors.GraphServiceError):
    code = "BadRequestException"
    http_status = 404


def add_export_routes(app: web.Application, store: GraphStore, s3_client_factory: Callable[[], Any],
                      executor: Executor, data_dir: Path) -> ExportJobs:
    """Serve the export service on ``app``; returns the jobs (for the server and tests)."""
    jobs = ExportJobs(store, s3_client_factory, executor, data_dir)

    async def start_export(request: web.Request) -> web.Response:
        body = await read_json_object(request)
        try:  # reading the graph to check the request can take a while: off the event loop
            job = await asyncio.get_running_loop().run_in_executor(executor, jobs.submit, body)
        except ExportRequestError as error:
            raise errors.BadRequest(str(error)) from None
        return json_response({"jobName": job.jobName, "jobId": job.jobId})

    async def get_export_status(request: web.Request) -> web.Response:
        job = jobs.get(request.match_info["jobId"])
        if job is None:
            raise ExportJobNotFound(f"No export job with id {request.match_info['jobId']!r}")
        return json_response(job.status_body())

    async def list_exports(request: web.Request) -> web.Response:
        return json_response({"jobs": [{"jobId": job.jobId, "jobName": job.jobName, "status": job.status}
                                       for job in jobs.list()]})

    app.router.add_post(PATH, start_export)
    app.router.add_get(PATH, list_exports)
    app.router.add_get(PATH + "/{jobId}", get_export_status)
    return jobs
