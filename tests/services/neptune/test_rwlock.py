"""The graph's readers-writer lock: readers side by side, one writer, upgrades that can not deadlock."""

from __future__ import annotations

import threading
import time

import pytest

from emulator.services.neptune.rwlock import ReadWriteLock, UpgradeConflict


def test_readers_share_and_a_writer_waits_for_them() -> None:
    lock = ReadWriteLock()
    lock.acquire_read()
    other_read = threading.Event()
    written = threading.Event()

    def reader() -> None:
        with lock.reading():
            other_read.set()

    def writer() -> None:
        with lock:
            written.set()

    threading.Thread(target=reader).start()
    assert other_read.wait(10)  # a second reader got in beside the first
    thread = threading.Thread(target=writer)
    thread.start()
    assert not written.wait(0.2)  # the writer waits for the reader still holding the lock
    lock.release_read()
    assert written.wait(10)
    thread.join()


def test_a_second_upgrade_is_refused_instead_of_deadlocking() -> None:
    """Two readers that both want to write would wait for each other: the second is refused at once."""
    lock = ReadWriteLock()
    first_in = threading.Event()
    first_wrote = threading.Event()

    def first() -> None:
        lock.acquire_read()
        first_in.set()
        lock.upgrade()  # waits for the main thread's read to end
        first_wrote.set()
        lock.release_read()

    lock.acquire_read()
    thread = threading.Thread(target=first)
    thread.start()
    assert first_in.wait(10)
    deadline = time.monotonic() + 10
    while lock._upgrading is None and time.monotonic() < deadline:  # the first reader is waiting to upgrade
        time.sleep(0.01)
    with pytest.raises(UpgradeConflict):
        lock.upgrade()
    assert not first_wrote.is_set()
    lock.release_read()  # the refused request ends: the first one writes
    assert first_wrote.wait(10)
    thread.join(10)


def test_a_reader_cannot_take_the_write_side_without_upgrading() -> None:
    lock = ReadWriteLock()
    with lock.reading(), pytest.raises(RuntimeError):
        lock.acquire()
