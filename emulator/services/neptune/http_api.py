"""Neptune's HTTP API on the graph port, as boto3's ``neptunedata`` client calls it.

One handler per operation, named after it: GetEngineStatus (``GET /status``), ExecuteGremlinQuery
(``POST /gremlin``, also ``GET /gremlin?gremlin=``), StartLoaderJob (``POST /loader``),
GetLoaderJobStatus (``GET /loader/{loadId}``), ListLoaderJobs (``GET /loader``), CancelLoaderJob
(``DELETE /loader/{loadId}``). Errors are Neptune's JSON shape ``{"requestId", "code",
"detailedMessage"}`` with the HTTP status of the modelled exception, which botocore maps to
``client.exceptions.<code>`` (https://docs.aws.amazon.com/neptune/latest/userguide/errors-engine-codes.html).
Handlers only read the wire and call the loader, the script runner or the store.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from functools import partial
from typing import Any

from aiohttp import web

from emulator.core.awsjson import decode_body
from emulator.core.errors import SerializationError
from emulator.services.neptune import errors
from emulator.services.neptune.gremlin.script import run_script
from emulator.services.neptune.loader import LoaderService
from emulator.services.neptune.serializers import graphson_value
from emulator.services.neptune.snapshot import graph_for
from emulator.services.neptune.store import GraphStore

ENGINE_VERSION = "1.3.2.0"
GREMLIN_VERSION = "tinkerpop-3.7.2"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
log = logging.getLogger(__name__)


def json_response(body: dict[str, Any], status: int = 200) -> web.Response:
    return web.Response(text=json.dumps(body, default=str), status=status, content_type="application/json")


@web.middleware
async def neptune_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn every :class:`GraphServiceError` into Neptune's JSON error (the only place that does)."""
    try:
        return await handler(request)
    except errors.GraphServiceError as error:
        return json_response(error.neptune_body(str(uuid.uuid4())), error.http_status)
    except web.HTTPNotFound:
        failure = errors.BadRequest(f"Unknown path {request.method} {request.path}")
        return json_response(failure.neptune_body(str(uuid.uuid4())), 404)
    except web.HTTPMethodNotAllowed:
        failure = errors.MethodNotAllowed(f"Method {request.method} is not allowed on {request.path}")
        return json_response(failure.neptune_body(str(uuid.uuid4())), 405)
    except web.HTTPException as http_error:
        if http_error.status < 400:
            raise
        failure = errors.BadRequest(http_error.reason or "Bad request")
        return json_response(failure.neptune_body(str(uuid.uuid4())), http_error.status)
    except Exception as error:  # a bug of ours: Neptune's JSON error shape, never aiohttp's plain-text 500
        log.exception("%s %s failed", request.method, request.path)
        failure = errors.InternalFailure(f"{type(error).__name__}: {error}")
        return json_response(failure.neptune_body(str(uuid.uuid4())), failure.http_status)


def decode_json(raw: bytes) -> Any:
    """A request body as JSON (``{}`` when empty), bounded as the edge's bodies are
    (:func:`emulator.core.awsjson.decode_body`): text that is not JSON, ``NaN`` or nesting past its depth is a
    BadRequest, never a decoder's RecursionError."""
    try:
        return decode_body(raw)
    except SerializationError as error:
        raise errors.BadRequest(str(error)) from None


async def read_json_object(request: web.Request) -> dict[str, Any]:
    """The request body as a JSON object (see :func:`decode_json`)."""
    body = decode_json(await request.read())
    if not isinstance(body, dict):
        raise errors.BadRequest("The request body must be a JSON object")
    return body


def _bool_param(request: web.Request, name: str, default: bool) -> bool:
    value = request.query.get(name)
    if value is None:
        return default
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise errors.InvalidParameter(f"Invalid value for {name}: {value!r} (expected true or false)")


def _int_param(request: web.Request, name: str, default: int) -> int:
    value = request.query.get(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise errors.InvalidParameter(f"Invalid value for {name}: {value!r} (expected an integer)") from None


class NeptuneHttpApi:
    """The HTTP handlers; ``executor`` runs blocking work off the event loop."""

    def __init__(self, store: GraphStore, loader: LoaderService, executor: Executor,
                 query_timeout_ms: float = 120_000) -> None:
        self.store = store
        self.loader = loader
        self.executor = executor
        self.query_timeout_ms = query_timeout_ms
        self.start_time = time.strftime("%a %b %d %H:%M:%S UTC %Y", time.gmtime())

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/status", self.get_engine_status)
        app.router.add_post("/gremlin", self.execute_gremlin_query)
        app.router.add_post("/loader", self.start_loader_job)
        app.router.add_get("/loader", self.list_loader_jobs)
        app.router.add_get("/loader/{loadId}", self.get_loader_job_status)
        app.router.add_delete("/loader/{loadId}", self.cancel_loader_job)
        app.router.add_delete("/loader", self.cancel_loader_job)

    async def _blocking(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

    async def get_engine_status(self, request: web.Request) -> web.Response:
        counts = self.store.counts()
        return json_response({
            "status": "healthy", "startTime": self.start_time, "dbEngineVersion": ENGINE_VERSION,
            "role": "writer", "dfeQueryEngine": "viaQueryHint",
            "gremlin": {"version": GREMLIN_VERSION},
            "sparql": {"version": "sparql-1.1"}, "opencypher": {"version": "Neptune-9.0.20190305-1.0"},
            "labMode": {"ObjectIndex": "disabled", "ReadWriteConflictDetection": "enabled"},
            "features": {"LookupCache": {"status": "Available"}, "ResultCache": {"status": "disabled"},
                         "mlharbor": {"vertices": counts["vertices"], "edges": counts["edges"]}},
            "settings": {"clusterQueryTimeoutInMs": str(int(self.query_timeout_ms))},
        })

    async def _query_text(self, request: web.Request) -> str:
        if request.method == "GET":
            query = request.query.get("gremlin")
        else:
            raw = await request.read()
            content_type = request.content_type or ""
            query = None
            if "form" in content_type:
                form = await request.post()
                value = form.get("gremlin")
                query = value if isinstance(value, str) else None
            else:
                body = decode_json(raw)
                query = body.get("gremlin") if isinstance(body, dict) else None
        if not isinstance(query, str) or not query.strip():
            raise errors.MissingParameter("Missing required parameter: gremlin")
        return query

    async def execute_gremlin_query(self, request: web.Request) -> web.Response:
        """Run a Gremlin script; answer in GraphSON 3 (Neptune's HTTP default)."""
        query = await self._query_text(request)
        accept = request.headers.get("Accept", "")
        if "graphbinary" in accept:
            raise errors.UnsupportedOperation("The HTTP endpoint answers in GraphSON v3 only; use the websocket "
                                              "endpoint for GraphBinary")
        results = await self._blocking(run_script, self.store, query, {}, self.query_timeout_ms,
                                       partial(graph_for, self.store))
        request_id = str(uuid.uuid4())
        return json_response({
            "requestId": request_id,
            "status": {"message": "", "code": 200, "attributes": {"@type": "g:Map", "@value": []}},
            "result": {"data": graphson_value(results), "meta": {"@type": "g:Map", "@value": []}},
        })

    async def start_loader_job(self, request: web.Request) -> web.Response:
        body = await read_json_object(request)
        load_id = await self._blocking(self.loader.start_loader_job, body)
        return json_response({"status": "200 OK", "payload": {"loadId": load_id}})

    async def get_loader_job_status(self, request: web.Request) -> web.Response:
        payload = self.loader.get_loader_job_status(
            request.match_info["loadId"], _bool_param(request, "details", False),
            _bool_param(request, "errors", False), _int_param(request, "page", 1),
            _int_param(request, "errorsPerPage", 10))
        return json_response({"status": "200 OK", "payload": payload})

    async def list_loader_jobs(self, request: web.Request) -> web.Response:
        load_id = request.query.get("loadId")
        if load_id:  # Neptune also takes GET /loader?loadId=...
            payload = self.loader.get_loader_job_status(
                load_id, _bool_param(request, "details", False), _bool_param(request, "errors", False),
                _int_param(request, "page", 1), _int_param(request, "errorsPerPage", 10))
            return json_response({"status": "200 OK", "payload": payload})
        ids = self.loader.list_loader_jobs(_int_param(request, "limit", 100),
                                           _bool_param(request, "includeQueuedLoads", True))
        return json_response({"status": "200 OK", "payload": {"loadIds": ids}})

    async def cancel_loader_job(self, request: web.Request) -> web.Response:
        load_id = request.match_info.get("loadId") or request.query.get("loadId")
        if not load_id:
            raise errors.MissingParameter("Missing required parameter: loadId")
        self.loader.cancel_loader_job(load_id)
        return json_response({"status": "200 OK"})
