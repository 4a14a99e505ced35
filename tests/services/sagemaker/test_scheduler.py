"""The job scheduler in process: exactly ``capacity`` handlers at once, FIFO, nothing before start."""

from __future__ import annotations

import threading
from collections.abc import Hashable

import pytest

from emulator.services.sagemaker.scheduler import Scheduler


class HeldJobs:
    """A handler whose calls block until released one by one, recording the order they began."""

    def __init__(self) -> None:
        self.began: list[Hashable] = []
        self.running = 0
        self.most_at_once = 0
        self._changed = threading.Condition()
        self._released: set[Hashable] = set()

    def __call__(self, key: Hashable) -> None:
        with self._changed:
            self.began.append(key)
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
            self._changed.notify_all()
            self._changed.wait_for(lambda: key in self._released)
            self.running -= 1

    def wait_began(self, count: int) -> list[Hashable]:
        with self._changed:
            assert self._changed.wait_for(lambda: len(self.began) >= count, timeout=30), self.began
            return list(self.began)

    def release(self, key: Hashable) -> None:
        with self._changed:
            self._released.add(key)
            self._changed.notify_all()


def test_exactly_capacity_jobs_run_and_the_rest_start_in_order_as_slots_free():
    jobs, scheduler = HeldJobs(), Scheduler(2)
    scheduler.register("training", jobs)
    for key in range(5):
        scheduler.submit(key)
    assert jobs.began == []  # nothing runs before start
    scheduler.start()
    try:
        assert jobs.wait_began(2) == [0, 1]
        for released in range(5):
            jobs.release(released)
            assert jobs.wait_began(min(5, released + 3))[: released + 3] == list(range(min(5, released + 3)))
        assert jobs.most_at_once == 2
    finally:
        for key in range(5):
            jobs.release(key)
        scheduler.stop()


def test_stop_drops_the_jobs_not_yet_started():
    jobs, scheduler = HeldJobs(), Scheduler(1)
    scheduler.register("processing", jobs)
    scheduler.start()
    scheduler.submit("a", kind="processing")
    scheduler.submit("b", kind="processing")
    jobs.wait_began(1)
    scheduler.stop(timeout=0)  # "a" still holds the only slot: "b" is dropped before it could start
    jobs.release("a")
    assert jobs.began == ["a"]


def test_a_failing_handler_does_not_take_a_slot_away():
    began = threading.Event()
    scheduler = Scheduler(1)
    scheduler.register("training", lambda key: (_ for _ in ()).throw(RuntimeError(key)))
    scheduler.register("processing", lambda key: began.set())
    scheduler.start()
    scheduler.submit("broken")
    scheduler.submit("fine", kind="processing")
    assert began.wait(30)
    scheduler.stop()


def test_capacity_below_one_is_refused():
    with pytest.raises(ValueError, match="at least 1"):
        Scheduler(0)
