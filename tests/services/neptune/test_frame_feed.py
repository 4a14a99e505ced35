"""FrameFeed: frames from a worker thread reach the loop in order, a batch per wake-up, bounded."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from emulator.services.neptune.framefeed import FeedTimeout, FrameFeed


def run_feed(batch: int, limit: int, produce: list[bytes], pause_s: float = 0.0,
             timeout_s: float = 5.0) -> list[list[bytes]]:
    """What the loop takes, call by call, while a worker thread puts ``produce`` (``pause_s`` between frames)."""

    async def consume() -> list[list[bytes]]:
        feed = FrameFeed(asyncio.get_running_loop(), batch, limit, timeout_s)

        def worker() -> None:
            try:
                for frame in produce:
                    feed.put(frame)
                    time.sleep(pause_s)
            finally:
                feed.end()

        thread = threading.Thread(target=worker)
        thread.start()
        takes: list[list[bytes]] = []
        ended = False
        while not ended:
            frames, ended = await asyncio.wait_for(feed.take(), 10)
            takes.append(frames)  # type: ignore[arg-type]
        thread.join()
        return takes

    return asyncio.run(consume())


def test_every_frame_arrives_once_in_order() -> None:
    frames = [f"frame {i}".encode() for i in range(500)]
    takes = run_feed(batch=8, limit=32, produce=frames)
    assert [f for take in takes for f in take] == frames


def test_a_slow_worker_wakes_the_loop_for_the_first_frame_then_per_batch() -> None:
    frames = [bytes([i]) for i in range(20)]
    takes = run_feed(batch=8, limit=32, produce=frames, pause_s=0.02)
    assert takes[0] == frames[:1]  # the client is idle until the first frame: it goes alone
    assert [len(take) for take in takes[1:-1]] == [8, 8]
    assert takes[-1] == frames[17:]  # the end wakes the loop for what is left


def test_an_empty_response_ends_at_once() -> None:
    assert run_feed(batch=8, limit=32, produce=[]) == [[]]


def test_the_worker_waits_for_room_and_gives_up_when_nothing_is_taken() -> None:
    async def fill() -> tuple[int, BaseException | None]:
        feed = FrameFeed(asyncio.get_running_loop(), batch=2, limit=4, timeout_s=0.2)
        put = 0
        failure: BaseException | None = None

        def worker() -> None:
            nonlocal put, failure
            try:
                for _ in range(10):
                    feed.put(b"x")
                    put += 1
            except FeedTimeout as error:
                failure = error

        thread = threading.Thread(target=worker)
        thread.start()
        await asyncio.get_running_loop().run_in_executor(None, thread.join)  # nothing takes a frame
        return put, failure

    put, failure = asyncio.run(fill())
    assert put == 4 and isinstance(failure, FeedTimeout)


def test_bad_sizes_are_refused() -> None:
    loop = asyncio.new_event_loop()
    try:
        with pytest.raises(ValueError, match="batch <= limit"):
            FrameFeed(loop, batch=8, limit=4, timeout_s=1)
    finally:
        loop.close()
