"""Requests before bulk work: a bulk load steps aside while a request is being answered.

A load and the requests share one interpreter lock. A point read hands its work between threads a few
times (the event loop, a query worker, back to the loop), and each hand-over waits for the lock the
load's thread holds, so a read answered in 0.8 ms on an idle server took 3 ms during a load. The load
instead pauses between its chunks while any request is in flight, for a bounded time, so reads keep
their idle latency and the load still moves on under a stream of them.
"""

from __future__ import annotations

import threading

#: the longest a load waits at one chunk boundary (it moves on under a steady stream of requests)
MOST_WAIT_S = 0.002


class Foreground:
    """Counts the requests in flight; :meth:`step_aside` is background work's pause point."""

    def __init__(self) -> None:
        self.in_flight = 0
        self._changed = threading.Condition(threading.Lock())

    def began(self) -> None:
        with self._changed:
            self.in_flight += 1

    def ended(self) -> None:
        with self._changed:
            self.in_flight -= 1
            if not self.in_flight:
                self._changed.notify_all()

    def step_aside(self) -> None:
        """While a request is in flight, wait (leaving the interpreter lock and the core) until none is, for at
        most ``MOST_WAIT_S``: woken by the last request's end, not by polling, which took the lock back."""
        if not self.in_flight:
            return
        with self._changed:
            self._changed.wait_for(lambda: not self.in_flight, timeout=MOST_WAIT_S)
