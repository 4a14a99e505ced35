"""Runs queued jobs on a fixed number of worker threads: the machine's job capacity.

Jobs beyond capacity wait in FIFO order (a ``ThreadPoolExecutor``'s queue), still
``InProgress``/``Starting`` as on AWS while instances are being found.
"""

from __future__ import annotations

import concurrent.futures
import logging
import threading
from collections.abc import Callable, Hashable

log = logging.getLogger(__name__)


class Scheduler:
    """A FIFO queue drained by ``capacity`` worker threads.

    Jobs submitted before :meth:`start` wait until it is called, so a control plane can queue
    recovered jobs and register handlers in any order.

    Args:
        capacity: how many jobs run at once.
        name: thread name prefix.
    """

    def __init__(self, capacity: int, name: str = "job-worker") -> None:
        if capacity < 1:
            raise ValueError(f"Scheduler capacity must be at least 1, got {capacity}")
        self.capacity = capacity
        self.name = name
        self._handlers: dict[str, Callable[[Hashable], None]] = {}
        self._lock = threading.RLock()  # a done callback may run inside _submit
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._waiting: list[tuple[str, Hashable]] = []
        self._futures: set[concurrent.futures.Future[None]] = set()

    def register(self, kind: str, handler: Callable[[Hashable], None]) -> None:
        """Name the function that runs jobs of one kind (training, processing…)."""
        self._handlers[kind] = handler

    def start(self) -> None:
        with self._lock:
            self._executor = concurrent.futures.ThreadPoolExecutor(self.capacity, thread_name_prefix=self.name)
            waiting, self._waiting = self._waiting, []
            for kind, key in waiting:
                self._submit(kind, key)

    def submit(self, key: Hashable, kind: str = "training") -> None:
        with self._lock:
            if self._executor is None:
                self._waiting.append((kind, key))
            else:
                self._submit(kind, key)

    def stop(self, timeout: float = 5.0) -> None:
        """Drop the jobs not yet started (their records stay queued for the next start) and give the
        running ones ``timeout`` seconds to end."""
        with self._lock:
            executor, self._executor = self._executor, None
            running = set(self._futures)
        if executor is None:
            return
        executor.shutdown(wait=False, cancel_futures=True)
        concurrent.futures.wait(running, timeout)

    def _submit(self, kind: str, key: Hashable) -> None:
        assert self._executor is not None
        future = self._executor.submit(self._run, kind, key)
        self._futures.add(future)
        future.add_done_callback(self._forget)

    def _forget(self, future: concurrent.futures.Future[None]) -> None:
        with self._lock:
            self._futures.discard(future)

    def _run(self, kind: str, key: Hashable) -> None:
        try:
            self._handlers[kind](key)
        except Exception:  # a handler bug must not kill the worker
            log.exception("job handler %s failed for %r", kind, key)
