"""Edge server bench (issue 11): the HTTP servers the edge can run on, alone, under load and under stalled clients.

Each candidate (``emulator.edge.wsgi_server.SERVER_KINDS``) carries a trivial WSGI app in this
process; ``CLIENTS`` client processes POST to it over keep-alive connections (urllib3, as
botocore) for ``SECONDS``, in ``ROUNDS`` rounds alternating between servers, and the server's CPU
milliseconds per request (the median round) is what it costs the edge. Then ``STALLED`` clients
each send half a request body and stop; the bench times one more request (given up after
``PATIENCE`` s) and counts the process's threads. ``bench/endpoint_bench.py`` measures the same
servers under InvokeEndpoint.
"""

from __future__ import annotations

import multiprocessing
import socket
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import psutil
import urllib3

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from emulator.edge.wsgi_server import SERVER_KINDS, EdgeServer, ServingLimits, bind  # noqa: E402

CLIENTS = 2
SECONDS = 1.5
ROUNDS = 6
STALLED = 300
PATIENCE = 10.0
LIMITS = ServingLimits(threads=16, request_timeout_seconds=60, max_connections=500)


def trivial_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", "2")])
    return [b"{}"]


def _post_for(port: int, results: Any) -> None:
    pool = urllib3.PoolManager(retries=False)
    count, deadline = 0, time.time() + SECONDS
    while time.time() < deadline:
        pool.request("POST", f"http://127.0.0.1:{port}/", body=b"x" * 300)
        count += 1
    results.put(count)


def cpu_per_request(server: EdgeServer) -> tuple[float, float]:
    """One round: (requests/s, this process's CPU ms per request)."""
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    me = psutil.Process()
    before = me.cpu_times()
    clients = [context.Process(target=_post_for, args=(server.port, results)) for _ in range(CLIENTS)]
    for client in clients:
        client.start()
    total = sum(results.get(timeout=SECONDS + 30) for _ in clients)
    for client in clients:
        client.join()
    after = me.cpu_times()
    cpu = (after.user - before.user) + (after.system - before.system)
    return total / SECONDS, cpu * 1000 / total


def under_stalled_clients(kind: str) -> tuple[str, int]:
    """A fresh server with ``STALLED`` half-sent bodies open: how long one more request took, and threads."""
    server = bind(kind, "127.0.0.1", 0, trivial_app, LIMITS)
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    stalled = []
    try:
        for _ in range(STALLED):
            connection = socket.create_connection(("127.0.0.1", server.port))
            connection.sendall(b"PUT /x HTTP/1.1\r\nHost: bench\r\nContent-Length: 100000\r\n\r\n" + b"x" * 100)
            stalled.append(connection)
        time.sleep(1)
        started = time.perf_counter()
        try:
            urllib3.PoolManager(retries=False).request("POST", f"http://127.0.0.1:{server.port}/", body=b"x",
                                                        timeout=PATIENCE)
            answered = f"{(time.perf_counter() - started) * 1000:.0f} ms"
        except urllib3.exceptions.HTTPError:
            answered = f"no answer in {PATIENCE:.0f} s"
        return answered, psutil.Process().num_threads()
    finally:
        for connection in stalled:
            connection.close()
        server.close()


def main() -> None:
    print(f"edge server bench ({psutil.cpu_count()} CPUs): a trivial WSGI app, {CLIENTS} keep-alive urllib3 "
          f"client processes, {ROUNDS} alternating rounds of {SECONDS} s; then {STALLED} half-sent bodies")
    servers = {kind: bind(kind, "127.0.0.1", 0, trivial_app, LIMITS) for kind in SERVER_KINDS}
    for server in servers.values():
        threading.Thread(target=server.serve, daemon=True).start()
    rounds: dict[str, list[tuple[float, float]]] = {kind: [] for kind in servers}
    for _ in range(ROUNDS):
        for kind, server in servers.items():
            rounds[kind].append(cpu_per_request(server))
    for server in servers.values():
        server.close()
    baseline_threads = psutil.Process().num_threads()
    print(f"    {'server':<10}{'req/s':>8}{'CPU ms/request':>16}{'one request, stalled open':>28}"
          f"{'threads':>9}  (process had {baseline_threads} before)")
    for kind in servers:
        rate = statistics.median(r for r, _ in rounds[kind])
        cpu = statistics.median(c for _, c in rounds[kind])
        answered, threads = under_stalled_clients(kind)
        print(f"    {kind:<10}{rate:>8.0f}{cpu:>16.2f}{answered:>28}{threads:>9}")


if __name__ == "__main__":
    main()
