"""What every job backend does around a runner call: a stop signal per running job, and no crash
of the runner ever leaving a job InProgress."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TypeVar

from emulator.runners.base import StopSignal

log = logging.getLogger(__name__)

T = TypeVar("T")
Key = tuple[str, str]


class RunningJobs:
    """The stop signals of the jobs a runner is running now, by (region, name).

    Args:
        lock: the backend's record lock (signals change with the records they belong to).
        grace_seconds: the SIGTERM→SIGKILL grace every new signal carries.
    """

    def __init__(self, lock: threading.RLock, grace_seconds: float) -> None:
        self._lock = lock
        self.grace_seconds = grace_seconds
        self._signals: dict[Key, StopSignal] = {}

    def begin(self, key: Key) -> StopSignal:
        with self._lock:
            signal = StopSignal(grace_seconds=self.grace_seconds)
            self._signals[key] = signal
            return signal

    def signal(self, key: Key) -> StopSignal | None:
        with self._lock:
            return self._signals.get(key)

    def run(self, key: Key, call: Callable[[StopSignal], T], crashed: Callable[[str], T], signal: StopSignal) -> T:
        """``call(signal)``; a runner exception becomes ``crashed(reason)``; the signal is dropped after."""
        try:
            return call(signal)
        except Exception as error:  # a runner bug must not leave the job InProgress forever
            log.exception("runner crashed on %s", key[1])
            return crashed(f"InternalServerError: {error!r}")
        finally:
            with self._lock:
                self._signals.pop(key, None)
