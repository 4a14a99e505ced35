"""Runs queued jobs on a fixed number of worker threads: the machine's job capacity.

Jobs beyond capacity wait in FIFO order, still ``InProgress``/``Starting`` as on AWS while
instances are being found.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Hashable

log = logging.getLogger(__name__)

_SHUTDOWN = object()


class Scheduler:
    """A FIFO queue drained by ``capacity`` worker threads.

    Args:
        capacity: how many jobs run at once.
        name: thread name prefix.
    """

    def __init__(self, capacity: int, name: str = "job-worker") -> None:
        if capacity < 1:
            raise ValueError(f"Scheduler capacity must be at least 1, got {capacity}")
        self.capacity = capacity
        self.name = name
        self._queue: queue.Queue[object] = queue.Queue()
        self._threads: list[threading.Thread] = []
        self._handlers: dict[str, Callable[[Hashable], None]] = {}

    def register(self, kind: str, handler: Callable[[Hashable], None]) -> None:
        """Name the function that runs jobs of one kind (training, processing…)."""
        self._handlers[kind] = handler

    def start(self) -> None:
        for index in range(self.capacity):
            thread = threading.Thread(target=self._work, name=f"{self.name}-{index}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def submit(self, key: Hashable, kind: str = "training") -> None:
        self._queue.put((kind, key))

    def stop(self, timeout: float = 5.0) -> None:
        for _ in self._threads:
            self._queue.put(_SHUTDOWN)
        for thread in self._threads:
            thread.join(timeout)
        self._threads.clear()

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is _SHUTDOWN:
                return
            kind, key = item  # type: ignore[misc]
            try:
                self._handlers[kind](key)
            except Exception:  # a handler bug must not kill the worker
                log.exception("job handler %s failed for %r", kind, key)
