"""A TCP relay from a Docker network's gateway address to a service on loopback.

The edge (S3 and the other AWS APIs) and the graph server listen on 127.0.0.1, where a
container cannot reach them. Rather than binding them to 0.0.0.0 (which would expose them to
every network of the machine), the Docker runner opens a relay on the job network's gateway
address only, for the job's lifetime: containers of that network reach the host there, and
nothing else is exposed. A relay serves any TCP service the same way, so the edge, the graph
server and a test's moto server all work unchanged.

Every relayed connection reaches its service from :data:`JOB_SOURCE_ADDRESS`, a loopback
address of its own (all of 127/8 is loopback on Linux), never from 127.0.0.1: so the edge
knows a request came from a job's container (``REMOTE_ADDR``) and holds it to what a job may
do (:mod:`emulator.edge.job_origin`). A target that cannot be reached from that address is
not relayed at all rather than relayed from an address the edge would take for the user's.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

log = logging.getLogger(__name__)

_CHUNK = 256 * 1024

#: the source address of every relayed connection: a request from it came from a job's container
JOB_SOURCE_ADDRESS = "127.0.77.1"


@dataclass
class Relay:
    """Accepts on ``listen`` and copies bytes both ways to ``target`` until stopped.

    Args:
        listen_host: the gateway address to listen on.
        target: ``(host, port)`` of the service on this machine.
        listen_port: the port to try first (the service's own, so URLs only change host); an
            ephemeral one is taken when it is busy.
    """

    listen_host: str
    target: tuple[str, int]
    listen_port: int = 0
    _server: socket.socket | None = None
    _threads: list[threading.Thread] = field(default_factory=list)
    _connections: set[socket.socket] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _closed: threading.Event = field(default_factory=threading.Event)

    def start(self) -> int:
        """Bind and start accepting; returns the port the relay listens on."""
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            server.bind((self.listen_host, self.listen_port))
        except OSError:
            server.bind((self.listen_host, 0))
        server.listen(128)
        self._server = server
        self.listen_port = server.getsockname()[1]
        thread = threading.Thread(target=self._accept, daemon=True, name=f"relay-{self.listen_port}")
        thread.start()
        self._threads.append(thread)
        return self.listen_port

    def stop(self) -> None:
        """Close the listening socket and every open connection."""
        self._closed.set()
        if self._server is not None:
            with contextlib.suppress(OSError):
                self._server.shutdown(socket.SHUT_RDWR)
            self._server.close()
        with self._lock:
            for connection in list(self._connections):
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
                connection.close()
            self._connections.clear()

    def _accept(self) -> None:
        if self._server is None:
            return
        while not self._closed.is_set():
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=10, source_address=(JOB_SOURCE_ADDRESS, 0))
                upstream.settimeout(None)
            except OSError as error:
                log.warning("relay to %s:%d failed: %s", *self.target, error)
                client.close()
                continue
            with self._lock:
                self._connections.update((client, upstream))
            pair = _Pair(client, upstream)
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(pair, source, sink), daemon=True).start()

    def _pipe(self, pair: _Pair, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(_CHUNK):
                sink.sendall(data)
        except OSError:
            pass
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)
        if pair.one_direction_done():
            with self._lock:
                self._connections.difference_update((pair.client, pair.upstream))
            pair.client.close()
            pair.upstream.close()


@dataclass
class _Pair:
    """A relayed connection: closed once both directions have finished."""

    client: socket.socket
    upstream: socket.socket
    _done: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def one_direction_done(self) -> bool:
        """Count one finished direction; ``True`` when it was the second."""
        with self._lock:
            self._done += 1
            return self._done == 2


def relayed_url(url: str, gateway: str) -> tuple[str, tuple[str, int]]:
    """The URL a container uses for ``url`` through a relay on ``gateway``, and the relay's target.

    Only the host changes (``http://127.0.0.1:4600`` → ``http://172.18.0.1:4600``); the port is
    fixed later by :meth:`Relay.start` if the service's own one is busy on the gateway.
    """
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    if host in ("0.0.0.0", "localhost", "::"):
        host = "127.0.0.1"
    port = parts.port or (443 if parts.scheme in ("https", "wss") else 80)
    relayed = urlunsplit((parts.scheme, f"{gateway}:{port}", parts.path, parts.query, parts.fragment))
    return relayed, (host, port)


def with_port(url: str, port: int) -> str:
    """``url`` with its port replaced."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, f"{parts.hostname}:{port}", parts.path, parts.query, parts.fragment))
