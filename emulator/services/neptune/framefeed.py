"""FrameFeed: response frames from a worker thread to the event loop, a batch per wake-up.

The worker encodes frames while the loop sends the ones before them. Waking the loop costs a
self-pipe write, and the woken loop must then take the interpreter lock from the worker, so the
worker wakes it once per ``batch`` frames rather than once per frame, and always for the first
frame of a response (the client is idle until it arrives) and for the end. Between wake-ups the
loop takes every frame waiting at once. At most ``limit`` frames wait: the worker then blocks
until the loop has taken them (the client reads slower than we encode).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque

Frame = bytes | str


class FeedTimeout(Exception):
    """The loop took no frames for the whole timeout (it is stopped, or its client stopped reading)."""


class FrameFeed:
    """One response's frames, put by one worker thread and taken by one coroutine on ``loop``.

    Args:
        loop: the event loop that takes the frames.
        batch: how many frames wait before the worker wakes the loop.
        limit: how many frames may wait; ``put`` blocks beyond it.
        timeout_s: how long ``put`` waits for room before raising :class:`FeedTimeout`.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, batch: int, limit: int, timeout_s: float) -> None:
        if not 1 <= batch <= limit:
            raise ValueError(f"FrameFeed needs 1 <= batch <= limit, got batch={batch}, limit={limit}")
        self._loop = loop
        self._batch = batch
        self._limit = limit
        self._timeout_s = timeout_s
        self._frames: deque[Frame] = deque()
        self._room = threading.Condition(threading.Lock())
        self._waiter: asyncio.Future[None] | None = None  # set while the loop waits for frames
        self._started = False
        self._ended = False

    # -- worker thread -------------------------------------------------------------------------
    def put(self, frame: Frame) -> None:
        """Add a frame; wakes the loop when a batch is ready or this is the first frame."""
        first = not self._started
        self._started = True
        self._add(frame, wake=first)

    def end(self) -> None:
        """No more frames: the loop is woken for the last ones."""
        self._add(None, wake=True)

    def _add(self, frame: Frame | None, wake: bool) -> None:
        with self._room:
            if frame is not None:
                deadline = time.monotonic() + self._timeout_s
                while len(self._frames) >= self._limit:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise FeedTimeout(f"no frame was taken in {self._timeout_s:g} s")
                    self._room.wait(left)
                self._frames.append(frame)
            else:
                self._ended = True
            waiter = self._waiter
            if waiter is None or not (wake or self._ended or len(self._frames) >= self._batch):
                return
            self._waiter = None
        self._loop.call_soon_threadsafe(_release, waiter)
        time.sleep(0)  # hand the interpreter lock to the woken loop now, not at the next forced switch

    # -- event loop ------------------------------------------------------------------------------
    async def take(self) -> tuple[list[Frame], bool]:
        """Every frame waiting (waits for some), and whether the response has ended after them."""
        while True:
            with self._room:
                if self._frames or self._ended:
                    frames = list(self._frames)
                    self._frames.clear()
                    self._room.notify()
                    return frames, self._ended
                waiter = self._waiter = self._loop.create_future()
            await waiter


def _release(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)
