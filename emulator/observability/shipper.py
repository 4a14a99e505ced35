"""Batching items to an AWS API in the embedded moto from one background thread.

Jobs produce log lines and metric points on their own threads; a shipper buffers them per
key and sends each key's batch on a timer, and on ``flush()`` (called before a job's final
status is recorded, so what a client reads after the end is complete). What is buffered is
bounded: past ``max_pending_bytes`` the producer sends the buffer itself before going on, so a
job writing faster than the timer drains is slowed down instead of growing the server.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Hashable
from typing import Any

import boto3
from botocore.config import Config

from emulator.core.credentials import internal_key

log = logging.getLogger(__name__)


class BatchShipper:
    """Buffers items per key; subclasses say how one key's batch is sent.

    Args:
        endpoint_url: the edge endpoint.
        service: the boto3 service name (``logs``, ``cloudwatch``).
        flush_interval: seconds between background flushes.
        max_pending_bytes: the buffer's bound (items' sizes as ``add`` was told them).
    """

    def __init__(self, endpoint_url: str, service: str, flush_interval: float = 0.5,
                 max_pending_bytes: int = 8 * 1024 * 1024) -> None:
        self.endpoint_url = endpoint_url
        self.service = service
        self.flush_interval = flush_interval
        self.max_pending_bytes = max_pending_bytes
        self._pending_bytes = 0
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._pending: dict[Hashable, list[Any]] = defaultdict(list)
        self._clients: dict[str, Any] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"{service}-shipper", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5)
        self.flush()

    def add(self, key: Hashable, item: Any, size: int = 0) -> None:
        """Buffer ``item`` (about ``size`` bytes) for ``key``; send the buffer now if it is over its bound."""
        with self._lock:
            self._pending[key].append(item)
            self._pending_bytes += size
            full = self._pending_bytes > self.max_pending_bytes
        if full:
            self.flush()

    def flush(self) -> None:
        """Send everything buffered so far (blocking)."""
        with self._lock:
            pending, self._pending = self._pending, defaultdict(list)
            self._pending_bytes = 0
        with self._send_lock:
            for key, items in pending.items():
                try:
                    self.send(key, items)
                except Exception:  # observability must never take a job down
                    log.exception("%s shipper could not send %d items for %r", self.service, len(items), key)

    def send(self, key: Hashable, items: list[Any]) -> None:
        raise NotImplementedError

    def client(self, region: str) -> Any:
        found = self._clients.get(region)
        if found is None:
            key = internal_key()
            found = boto3.client(
                self.service, region_name=region, endpoint_url=self.endpoint_url,
                aws_access_key_id=key.access_key_id, aws_secret_access_key=key.secret_access_key,
                config=Config(retries={"max_attempts": 2}),
            )
            self._clients[region] = found
        return found

    def _loop(self) -> None:
        while not self._stop.wait(self.flush_interval):
            self.flush()
