"""The edge's HTTP server is bounded: slow or stalled clients cost sockets, never threads, and time out.

Werkzeug's development server gave every connection a thread and no timeout: 300 clients that
sent half a request body made 300 threads that never ended.
"""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit

import psutil
import pytest

from tests.conftest import RunningHarbor, start_harbor

POOL = 8
STALLED = 300


def half_sent_put(endpoint: str, bucket: str) -> socket.socket:
    """A connection that sends an S3 PUT's headers and the first bytes of a 1 MB body, then nothing."""
    address = urlsplit(endpoint)
    connection = socket.create_connection((address.hostname, address.port), timeout=30)
    connection.sendall(
        f"PUT /{bucket}/stalled-{uuid.uuid4().hex[:8]} HTTP/1.1\r\nHost: {address.netloc}\r\n"
        "Content-Type: application/octet-stream\r\nContent-Length: 1000000\r\n\r\n".encode() + b"x" * 100
    )
    return connection


def read_until_closed(connection: socket.socket, timeout: float) -> bytes:
    """Everything the server sends until it closes the connection (``socket.timeout`` if it never does)."""
    connection.settimeout(timeout)
    received = b""
    try:
        while chunk := connection.recv(65536):
            received += chunk
    except ConnectionResetError:
        pass
    return received


@pytest.fixture
def bounded_harbor(tmp_path) -> Iterator[RunningHarbor]:
    running = start_harbor(tmp_path / "harbor", "--edge-threads", str(POOL))
    yield running
    if running.process.poll() is None:
        running.kill()


def test_stalled_bodies_hold_no_threads_and_do_not_block_others(bounded_harbor):
    s3 = bounded_harbor.client("s3", connect_timeout=10, read_timeout=30)
    bucket = f"limits-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    server = psutil.Process(bounded_harbor.process.pid)
    threads_before = server.num_threads()

    stalled = [half_sent_put(bounded_harbor.endpoint, bucket) for _ in range(STALLED)]
    try:
        time.sleep(1)  # let the server accept and read what they sent
        s3.put_object(Bucket=bucket, Key="normal", Body=b"answered")
        assert s3.get_object(Bucket=bucket, Key="normal")["Body"].read() == b"answered"
        # the pool is made at start: a stalled request is held by the server's loop, not by a thread
        assert server.num_threads() <= max(threads_before, POOL) + 5, (threads_before, server.num_threads())
        assert [item["Key"] for item in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["normal"]
        # and a clean shutdown does not wait on them
        assert bounded_harbor.kill(timeout=30) == 0
    finally:
        for connection in stalled:
            connection.close()


def test_a_half_sent_body_is_closed_after_the_request_timeout(tmp_path):
    harbor = start_harbor(tmp_path / "harbor", "--request-timeout-seconds", "2")
    try:
        bucket = f"timeout-{uuid.uuid4().hex[:8]}"
        harbor.client("s3").create_bucket(Bucket=bucket)
        stalled = half_sent_put(harbor.endpoint, bucket)
        idle = socket.create_connection(stalled.getpeername(), timeout=30)
        try:
            # closed by the server (EOF), not left open until this side gives up (socket.timeout)
            assert b"200 OK" not in read_until_closed(stalled, timeout=30)
            assert read_until_closed(idle, timeout=30) == b""
        finally:
            stalled.close()
            idle.close()
        assert harbor.client("s3").list_objects_v2(Bucket=bucket)["KeyCount"] == 0
    finally:
        harbor.kill()


@pytest.mark.slow
def test_large_uploads_and_downloads_pass_through(tmp_path):
    harbor = start_harbor(tmp_path / "harbor")
    try:
        s3 = harbor.client("s3", read_timeout=120)
        bucket = f"large-{uuid.uuid4().hex[:8]}"
        s3.create_bucket(Bucket=bucket)
        body = bytes(range(256)) * (100 * 1024 * 1024 // 256)
        s3.put_object(Bucket=bucket, Key="big.bin", Body=body)  # one PUT of 100 MB, no multipart
        streamed = s3.get_object(Bucket=bucket, Key="big.bin")["Body"]
        received = bytearray()
        while chunk := streamed.read(8 * 1024 * 1024):
            received += chunk
        assert len(received) == len(body) and received == body
    finally:
        harbor.kill()
