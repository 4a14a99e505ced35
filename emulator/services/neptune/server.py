"""GraphServer: the Neptune-compatible graph server on its own port.

One aiohttp application serves both faces of Neptune on the same port: the Gremlin Server
websocket at ``/gremlin`` and the HTTP API (``/status``, ``/gremlin``, ``/loader``). aiohttp is
used because it is a well-kept asyncio HTTP *and* websocket server in one library, and it is
already a dependency of gremlinpython's own transport, so the server speaks exactly the
websocket dialect the client was tested against. The event loop runs on a background thread;
traversals and loads run on worker threads, so the loop only moves bytes.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
from aiohttp import WSMsgType, web
from botocore.config import Config

from emulator.core.credentials import internal_key
from emulator.core.origin import HostPolicy, OriginPolicy
from emulator.core.sigv4 import SigV4Verifier
from emulator.services.neptune import quick
from emulator.services.neptune.foreground import Foreground
from emulator.services.neptune.framefeed import FrameFeed
from emulator.services.neptune.gate import gate_middleware
from emulator.services.neptune.gremlin.ml.query import bind_inference
from emulator.services.neptune.http_api import NeptuneHttpApi, neptune_errors
from emulator.services.neptune.loader import LoaderService
from emulator.services.neptune.ml.export.routes import add_export_routes
from emulator.services.neptune.ml.inference import SageMakerInference
from emulator.services.neptune.ml.routes import add_ml_routes
from emulator.services.neptune.protocol import GremlinProtocol
from emulator.services.neptune.store import GraphStore

log = logging.getLogger(__name__)

STORE_FILE = "graph.sqlite"
MAX_REQUEST_BYTES = 64 * 1024 * 1024
#: frames the worker may have encoded ahead of the loop's sending, and how many it hands over per wake-up
FRAMES_AHEAD = 32
FRAMES_PER_WAKE = 8
SEND_TIMEOUT_S = 120


class GraphServer:
    """The graph server: store, loader, websocket and HTTP on one port.

    Args:
        data_dir: where the graph file (``graph.sqlite``) lives; created if missing.
        host: address to bind (loopback by default).
        port: TCP port; ``0`` picks a free one (see :attr:`port` after :meth:`start`).
        s3_endpoint_url: the embedded S3 the bulk loader reads from.
        region: region for the S3 client.
        query_timeout_ms: default evaluation timeout (Neptune's default is 120 s).
        host_policy: the Host names answered (default: loopback names and ``host``).
        origin_policy: the browser origins served (default: none but the server's own).
        verifier: checks Neptune IAM (SigV4) signatures; ``None``: authentication off.
    """

    def __init__(self, data_dir: Path, host: str = "127.0.0.1", port: int = 8182,
                 s3_endpoint_url: str | None = None, region: str = "us-east-1",
                 query_timeout_ms: float = 120_000, host_policy: HostPolicy | None = None,
                 origin_policy: OriginPolicy | None = None, verifier: SigV4Verifier | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.host_policy = host_policy or HostPolicy(bound_host=host)
        self.origin_policy = origin_policy or OriginPolicy()
        self.verifier = verifier
        self.host = host
        self._requested_port = port
        self._port: int | None = None
        self.s3_endpoint_url = s3_endpoint_url
        self.region = region
        self.query_timeout_ms = query_timeout_ms
        self.store: GraphStore | None = None
        self.loader: LoaderService | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._executor: ThreadPoolExecutor | None = None
        self.foreground = Foreground()  # a bulk load pauses while a request is answered
        self._sockets: set[web.WebSocketResponse] = set()
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None

    # -- public interface ----------------------------------------------------------------
    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the graph server is not started")
        return self._port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def gremlin_url(self) -> str:
        """The Gremlin Server websocket, as gremlinpython's ``DriverRemoteConnection`` takes it."""
        return f"ws://{self.host}:{self.port}/gremlin"

    def s3_client(self) -> Any:
        """A boto3 S3 client for the embedded S3 (signed with the server's internal key)."""
        key = internal_key()
        return boto3.client("s3", endpoint_url=self.s3_endpoint_url, region_name=self.region,
                            aws_access_key_id=key.access_key_id, aws_secret_access_key=key.secret_access_key,
                            config=Config(retries={"max_attempts": 2}))

    def sagemaker_runtime_client(self) -> Any:
        """A boto3 sagemaker-runtime client for the edge (InvokeEndpoint for Neptune ML queries)."""
        key = internal_key()
        return boto3.client("sagemaker-runtime", endpoint_url=self.s3_endpoint_url, region_name=self.region,
                            aws_access_key_id=key.access_key_id, aws_secret_access_key=key.secret_access_key,
                            config=Config(retries={"max_attempts": 1}, read_timeout=120))

    def start(self) -> None:
        """Open the store, start the loader and serve; returns once connections are accepted."""
        if self._thread is not None:
            raise RuntimeError("the graph server is already started")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.store = GraphStore(self.data_dir / STORE_FILE)
        self.loader = LoaderService(self.store, self.s3_client, self.foreground.step_aside)
        if self.s3_endpoint_url:  # Neptune ML queries call SageMaker endpoints through the edge
            bind_inference(self.store, SageMakerInference(self.sagemaker_runtime_client))
        self._executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="graph-query")
        self._thread = threading.Thread(target=self._serve, name="graph-server", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._startup_error is not None:
            self._close_backend()
            self._thread = None
            raise self._startup_error

    def stop(self) -> None:
        """Close connections, stop serving, let the loader finish or roll back, close the store."""
        if self._thread is None or self._loop is None:
            return
        future = asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop)
        try:
            future.result(timeout=30)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=30)
            self._thread = None
            self._close_backend()

    def _close_backend(self) -> None:
        if self.loader is not None:
            self.loader.shutdown()
        if self._executor is not None:
            self._executor.shutdown(wait=True)
        if self.store is not None:
            self.store.close()

    # -- event loop ------------------------------------------------------------------------
    def _serve(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._startup())
        except BaseException as error:  # report to start(), which raises it
            self._startup_error = error
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.close()

    async def _startup(self) -> None:
        store = self.store
        if store is None or self.loader is None or self._executor is None:
            raise RuntimeError("backend not initialised")
        gate = gate_middleware(self.host_policy, self.origin_policy, self.verifier)
        app = web.Application(client_max_size=MAX_REQUEST_BYTES, middlewares=[gate, neptune_errors])
        self.protocol = GremlinProtocol(store, self.query_timeout_ms)
        self.http_api = NeptuneHttpApi(store, self.loader, self._executor, self.query_timeout_ms)
        app.router.add_get("/gremlin", self._gremlin_get)
        self.http_api.add_routes(app)
        self.ml_jobs = add_ml_routes(app, self.data_dir, self.s3_endpoint_url, self.region, self._executor)
        self.exports = add_export_routes(app, store, self.s3_client, self._executor, self.data_dir)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self._requested_port, reuse_address=True)
        await site.start()
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        self._port = sockets[0].getsockname()[1] if sockets else self._requested_port

    async def _shutdown(self) -> None:
        for ws in list(self._sockets):
            await ws.close(code=1001, message=b"server shutdown")
        if self._runner is not None:
            await self._runner.cleanup()

    async def _respond(self, ws: web.WebSocketResponse, data: bytes | str) -> None:
        """Answer one request: on the loop itself if it is quick (:meth:`_quick_answer`), else on a worker
        thread, sending its frames as they are produced.

        The worker encodes the next frames while the loop sends these and the client decodes them;
        :class:`FrameFeed` hands them over a batch at a time and keeps the worker at most
        ``FRAMES_AHEAD`` frames ahead. A stopped loop or a client that stops reading makes the
        worker give up after ``SEND_TIMEOUT_S`` rather than hold the graph forever.
        """
        self.foreground.began()
        try:
            frames = self._quick_answer(ws, data)
            if frames is not None:
                await self._send(ws, frames)
                return
            loop = asyncio.get_running_loop()
            feed = FrameFeed(loop, FRAMES_PER_WAKE, FRAMES_AHEAD, SEND_TIMEOUT_S)
            await self._send_produced(ws, data, loop, feed)
        finally:
            self.foreground.ended()

    def _quick_answer(self, ws: web.WebSocketResponse, data: bytes | str) -> list[bytes | str] | None:
        """The whole answer, computed right here on the loop, if the request is done within the quick budget
        without waiting or writing (see :mod:`quick`); else ``None``, and nothing was done."""
        if len(data) > quick.MOST_BYTES:
            return None
        return quick.attempt(lambda: list(self.protocol.handle(data, connection=ws)))

    @staticmethod
    async def _send(ws: web.WebSocketResponse, frames: list[bytes | str]) -> bool:
        """Send the frames in order; ``False`` if the client has gone (its socket's loop then ends)."""
        try:
            for frame in frames:
                if isinstance(frame, bytes):
                    await ws.send_bytes(frame)
                else:
                    await ws.send_str(frame)
        except (ConnectionResetError, RuntimeError):
            return False
        return True

    async def _send_produced(self, ws: web.WebSocketResponse, data: bytes | str, loop: asyncio.AbstractEventLoop,
                             feed: FrameFeed) -> None:

        def produce() -> None:
            try:
                for frame in self.protocol.handle(data, connection=ws):
                    feed.put(frame)
            finally:
                feed.end()

        producer = loop.run_in_executor(self._executor, produce)
        broken = ended = False
        while not ended:
            frames, ended = await feed.take()
            if broken:
                continue  # keep draining so the producer can finish and release the graph
            broken = not await self._send(ws, frames)
        await producer

    async def _gremlin_get(self, request: web.Request) -> web.StreamResponse:
        """``GET /gremlin``: a websocket upgrade, or an HTTP query with ``?gremlin=``."""
        if request.headers.get("Upgrade", "").lower() != "websocket":
            return await self.http_api.execute_gremlin_query(request)
        ws = web.WebSocketResponse(max_msg_size=MAX_REQUEST_BYTES, heartbeat=None)
        await ws.prepare(request)
        self._sockets.add(ws)
        try:
            async for message in ws:
                if message.type not in (WSMsgType.BINARY, WSMsgType.TEXT):
                    continue
                try:
                    await self._respond(ws, message.data)
                except (ConnectionResetError, asyncio.CancelledError):
                    raise
                except Exception:  # a bug of ours must not drop the client's other requests on this socket
                    log.exception("a websocket request failed")
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            self._sockets.discard(ws)
            self.protocol.connection_closed(ws)  # its sessions end: their open transactions roll back
        return ws
