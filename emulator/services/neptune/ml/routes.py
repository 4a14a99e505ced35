"""The 16 neptunedata ML operations on the graph server's port: routing only, one handler per operation.

Paths and methods are the ``neptunedata`` model's (``POST /ml/dataprocessing``, ``GET /ml/dataprocessing/{id}``,
``DELETE /ml/dataprocessing/{id}``, ``GET /ml/dataprocessing``, the same for ``modeltraining`` and
``modeltransform``, and ``/ml/endpoints`` for the endpoints). Errors leave as Neptune's JSON through the graph
server's ``neptune_errors`` middleware.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

from aiohttp import web

from emulator.services.neptune.http_api import json_response
from emulator.services.neptune.ml import programs as p
from emulator.services.neptune.ml import records as r
from emulator.services.neptune.ml import responses
from emulator.services.neptune.ml.clients import EdgeClients
from emulator.services.neptune.ml.jobs import MlJobs
from emulator.services.neptune.ml.programs import Programs
from emulator.services.neptune.ml.store import STORE_FILE, MlStore

DEFAULT_MAX_ITEMS = 10
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
#: (kind, the operations' name part): StartMLDataProcessingJob, GetMLDataProcessingJob...
_JOBS = ((r.DATA_PROCESSING, "DataProcessingJob"), (r.MODEL_TRAINING, "ModelTrainingJob"),
         (r.MODEL_TRANSFORM, "ModelTransformJob"))


class MlApi:
    """The handlers; blocking work (SQLite, SageMaker calls) runs on ``executor``."""

    def __init__(self, jobs: MlJobs, executor: Executor) -> None:
        self.jobs = jobs
        self.executor = executor
        self._starts = {r.DATA_PROCESSING: jobs.start_data_processing, r.MODEL_TRAINING: jobs.start_model_training,
                        r.MODEL_TRANSFORM: jobs.start_model_transform}

    async def _blocking(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

    def add_routes(self, app: web.Application) -> None:
        for kind, noun in _JOBS:
            app.router.add_post(f"/ml/{kind}", self._start(kind, f"StartML{noun}"))
            app.router.add_get(f"/ml/{kind}", self._list(kind, f"ListML{noun}s"))
            app.router.add_get(f"/ml/{kind}/{{id}}", self._get(kind, f"GetML{noun}"))
            app.router.add_delete(f"/ml/{kind}/{{id}}", self._cancel(kind, f"CancelML{noun}"))
        app.router.add_post(f"/ml/{r.ENDPOINT}", self.create_ml_endpoint)
        app.router.add_get(f"/ml/{r.ENDPOINT}", self._list(r.ENDPOINT, "ListMLEndpoints"))
        app.router.add_get(f"/ml/{r.ENDPOINT}/{{id}}", self._get(r.ENDPOINT, "GetMLEndpoint"))
        app.router.add_delete(f"/ml/{r.ENDPOINT}/{{id}}", self.delete_ml_endpoint)

    def _start(self, kind: str, operation: str) -> Handler:
        async def start_ml_job(request: web.Request) -> web.Response:
            params = await responses.read_input(request, operation)
            record = await self._blocking(self._starts[kind], params)
            return json_response(responses.created(record))
        return start_ml_job

    def _get(self, kind: str, operation: str) -> Handler:
        async def get_ml_resource(request: web.Request) -> web.Response:
            params = await responses.read_input(request, operation)
            record = await self._blocking(self.jobs.get, kind, params["id"])
            return json_response(responses.described(record))
        return get_ml_resource

    def _list(self, kind: str, operation: str) -> Handler:
        async def list_ml_resources(request: web.Request) -> web.Response:
            params = await responses.read_input(request, operation)
            ids = await self._blocking(self.jobs.list_ids, kind, params.get("maxItems", DEFAULT_MAX_ITEMS))
            return json_response(responses.listed(ids))
        return list_ml_resources

    def _cancel(self, kind: str, operation: str) -> Handler:
        async def cancel_ml_job(request: web.Request) -> web.Response:
            params = await responses.read_input(request, operation)
            status = await self._blocking(self.jobs.cancel, kind, params["id"], params.get("clean", False))
            return json_response(responses.status(status))
        return cancel_ml_job

    async def create_ml_endpoint(self, request: web.Request) -> web.Response:
        params = await responses.read_input(request, "CreateMLEndpoint")
        record = await self._blocking(self.jobs.create_endpoint, params)
        return json_response(responses.created(record))

    async def delete_ml_endpoint(self, request: web.Request) -> web.Response:
        params = await responses.read_input(request, "DeleteMLEndpoint")
        status = await self._blocking(self.jobs.delete_endpoint, params["id"], params.get("clean", False))
        return json_response(responses.status(status))


def add_ml_routes(app: web.Application, data_dir: Path, edge_url: str | None, region: str, executor: Executor,
                  programs: Programs | None = None) -> MlJobs:
    """Serve the neptunedata ML operations on ``app``; records in ``data_dir``, SageMaker and S3 at ``edge_url``.

    Jobs a previous run left unfinished are followed again; the store closes with the app. ``programs``: the
    image and entrypoints (default :data:`programs.DEFAULT_PROGRAMS`, looked up now, so a test can swap it).
    """
    store = MlStore(Path(data_dir) / STORE_FILE)
    jobs = MlJobs(store, EdgeClients(edge_url, region), programs or p.DEFAULT_PROGRAMS)
    MlApi(jobs, executor).add_routes(app)
    jobs.resume()

    async def close(_: web.Application) -> None:
        jobs.shutdown()
        store.close()

    app.on_cleanup.append(close)
    return jobs
