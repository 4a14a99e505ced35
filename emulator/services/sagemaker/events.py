"""The :class:`~emulator.runners.base.JobEvents` a runner reports one job's progress to."""

from __future__ import annotations

from typing import Any, Protocol


class EventSink(Protocol):
    """A job backend, as seen by a running job's events."""

    def secondary_status(self, job: Any, status: str, message: str) -> None: ...

    def log_line(self, job: Any, host: str, line: str) -> None: ...


class BackendEvents:
    """Binds one job to its backend, so a runner reports without knowing either."""

    def __init__(self, backend: EventSink, job: Any) -> None:
        self._backend = backend
        self._job = job

    def secondary_status(self, status: str, message: str) -> None:
        self._backend.secondary_status(self._job, status, message)

    def log(self, line: str, host: str = "algo-1") -> None:
        self._backend.log_line(self._job, host, line)
