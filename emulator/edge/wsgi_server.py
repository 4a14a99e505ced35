"""The HTTP server under the edge's WSGI app: bound first, bounded always, closed cleanly.

Three servers can carry the edge; ``edge_server`` in the config picks one, and
``bench/endpoint_bench.py`` measures them side by side:

- ``waitress`` (the default): one event loop reads every request whole (headers and body) before
  a request reaches the bounded worker pool, so a client that sends half a body holds a socket
  and a buffer, never a thread; a connection idle for ``request_timeout_seconds`` is closed.
- ``cheroot``: a bounded worker pool too, but a worker reads the request itself, so a slow sender
  holds a worker until the socket timeout.
- ``werkzeug``: the development server mlharbor used first (a thread per connection, no timeout);
  kept only so the bench can show what the others buy.

Every server binds its port when made (``port`` 0 picks a free one and :attr:`EdgeServer.port`
says which), serves on :meth:`serve` until :meth:`close`, speaks HTTP/1.1 keep-alive and writes
no access log line.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

log = logging.getLogger(__name__)

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

SERVER_KINDS = ("waitress", "cheroot", "werkzeug")
#: S3's largest single PUT: a body up to this size is read (into a temporary file past 512 KiB)
MAX_REQUEST_BODY = 5 * 1024**3


@dataclass(frozen=True)
class ServingLimits:
    """How much of the machine the edge's server may take.

    Args:
        threads: workers running the WSGI app at once (the pool's size).
        request_timeout_seconds: a connection that sends nothing for this long (mid-request or
            idle between keep-alive requests) is closed by the server.
        max_connections: connections held open at once; more wait in the listen backlog.
    """

    threads: int
    request_timeout_seconds: float
    max_connections: int


class EdgeServer(Protocol):
    """A bound HTTP server carrying one WSGI app."""

    port: int

    def serve(self) -> None:
        """Answer requests until :meth:`close` (blocking; run it on its own thread)."""

    def close(self) -> None:
        """Stop accepting, end open connections, free the port."""


def bind(kind: str, host: str, port: int, app: WSGIApp, limits: ServingLimits) -> EdgeServer:
    """A server of ``kind`` (one of :data:`SERVER_KINDS`) bound to ``host:port``, not yet serving."""
    if kind == "waitress":
        return WaitressServer(host, port, with_raw_uri(app), limits)
    if kind == "cheroot":
        return CherootServer(host, port, with_raw_uri(app), limits)
    if kind == "werkzeug":
        return WerkzeugServer(host, port, app)
    raise ValueError(f"unknown edge_server {kind!r}; one of {', '.join(SERVER_KINDS)}")


def with_raw_uri(app: WSGIApp) -> WSGIApp:
    """Give the app ``RAW_URI`` (the path as sent, before percent-decoding), as Werkzeug's server does.

    moto's S3 and our InvokeEndpoint route read it: ``PATH_INFO`` is decoded, so a key or an
    endpoint name with ``%2F`` in it could not be told from one with ``/``.
    """

    def raw_uri_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if "RAW_URI" not in environ and "REQUEST_URI" in environ:
            environ["RAW_URI"] = environ["REQUEST_URI"]
        if environ.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked":
            environ.setdefault("wsgi.input_terminated", True)  # Werkzeug reads a chunked body only so
        return app(environ, start_response)

    return raw_uri_app


class WaitressServer:
    """waitress with poll(2) (no 1024-descriptor ceiling) under our own loop, so :meth:`close` ends it."""

    def __init__(self, host: str, port: int, app: WSGIApp, limits: ServingLimits) -> None:
        from waitress.server import create_server

        # bound here, to the first address the name resolves to (as Werkzeug does): given a name, waitress
        # would bind every address it resolves to, each on its own port when ``port`` is 0
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        listening = socket.create_server((host, port), family=family, backlog=1024)
        self._server: Any = create_server(
            app,
            sockets=[listening],
            threads=limits.threads,
            channel_timeout=limits.request_timeout_seconds,
            # idle connections are looked for this often: a fraction of the timeout, so it is kept
            cleanup_interval=max(0.5, min(30.0, limits.request_timeout_seconds / 4)),
            connection_limit=limits.max_connections,
            max_request_body_size=MAX_REQUEST_BODY,
            asyncore_use_poll=True,
            ident="mlharbor",
        )
        self._server.channel_class = _edge_channel()
        self.port = int(self._server.effective_port)
        self._closing = threading.Event()
        self._served = threading.Event()

    def serve(self) -> None:
        from waitress import wasyncore

        server = self._server
        try:
            while not self._closing.is_set():
                wasyncore.loop(timeout=server.adj.asyncore_loop_timeout, map=server._map, use_poll=True, count=1)
        finally:
            # on the loop's own thread: channels and the map are not thread-safe
            server.task_dispatcher.shutdown(cancel_pending=True, timeout=5)
            wasyncore.close_all(server._map)
            self._served.set()

    def close(self) -> None:
        self._closing.set()
        self._server.pull_trigger()  # wake the loop out of poll()
        if not self._served.wait(10):
            log.warning("the edge's waitress loop did not end within 10 s")


def _edge_channel() -> type:
    """waitress's connection class with two fixes the AWS clients need.

    - Header names as the app wrote them: waitress rewrites every response header name to
      ``X-Amz-Meta-Origin`` form; S3 sends user metadata as ``x-amz-meta-origin`` and botocore hands the
      name's case to the caller, so the rewrite would change the keys of ``GetObject``'s ``Metadata``.
    - ``Expect: 100-continue`` on a request without a body (botocore sends it on every PutObject, an empty
      one included): waitress 3.0 answers ``100 Continue`` and then marks the already complete request
      incomplete again, so it never runs and the client hangs until its read timeout. Such a request needs
      no go-ahead; it runs at once and its answer is the final one.
    """
    from waitress.channel import HTTPChannel
    from waitress.task import WSGITask

    class CasePreservingTask(WSGITask):  # type: ignore[misc]
        def build_response_header(self) -> bytes:
            written = {}
            for name, _ in self.response_headers:
                written.setdefault(name.lower(), name)
            head: bytes = super().build_response_header()
            lines = head.decode("latin-1").split("\r\n")
            for index in range(1, len(lines)):
                name, separator, value = lines[index].partition(": ")
                if separator:
                    lines[index] = f"{written.get(name.lower(), name)}: {value}"
            return "\r\n".join(lines).encode("latin-1")

    class EdgeChannel(HTTPChannel):  # type: ignore[misc]
        task_class = CasePreservingTask

        def send_continue(self) -> None:
            if self.request.completed:  # no body to wait for
                self.request.expect_continue = False
                return
            super().send_continue()

    return EdgeChannel


class CherootServer:
    """cheroot's thread pool; its socket timeout bounds how long one slow client holds a worker."""

    def __init__(self, host: str, port: int, app: WSGIApp, limits: ServingLimits) -> None:
        from cheroot.wsgi import Server

        self._server = Server((host, port), app, numthreads=limits.threads, timeout=limits.request_timeout_seconds,
                              request_queue_size=128, accepted_queue_size=limits.max_connections,
                              server_name="mlharbor")
        self._server.prepare()  # binds
        self.port = int(self._server.bind_addr[1])

    def serve(self) -> None:
        self._server.serve()

    def close(self) -> None:
        self._server.stop()


class WerkzeugServer:
    """Werkzeug's development server: a thread per connection and no timeouts (for comparison only)."""

    def __init__(self, host: str, port: int, app: WSGIApp) -> None:
        from werkzeug.serving import WSGIRequestHandler, make_server

        class QuietHandler(WSGIRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_request(self, *args: Any, **kwargs: Any) -> None:
                pass

        self._server = make_server(host, port, app, threaded=True, request_handler=QuietHandler)
        self.port = int(self._server.server_port)

    def serve(self) -> None:
        self._server.serve_forever()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
