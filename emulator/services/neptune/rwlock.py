"""The graph's readers-writer lock: many readers at once, one writer alone, readers upgrading to write.

Read-only requests share the graph, so a long query never holds back another read. A request
starts as a reader and becomes the writer at its first change (:meth:`ReadWriteLock.upgrade`):
it waits until it is the only reader left, so nothing it has read can have changed under it
(serializable, as Neptune's locking writes are). Two readers that both try to upgrade would
wait for each other for ever; the second one is refused instead, as Neptune answers a write
conflict with a retryable ``ConcurrentModificationException``.

Readers are preferred: a waiting writer does not hold back new readers (reads are the
common, short case; a writer waits for a gap). A bulk load *reserves* the writer's place
(:meth:`ReadWriteLock.reserve`) while it writes its rows to disk, so readers go on and other
writers are refused, and takes the graph alone (:meth:`ReadWriteLock.promote`) only to link its
records in.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from emulator.services.neptune import quick


class UpgradeConflict(Exception):
    """Another reader is already waiting to become the writer."""


class ReadWriteLock:
    """Shared/exclusive lock; the exclusive side is re-entrant for its thread.

    Used as a context manager (``with lock:``) it is the exclusive side, as the plain lock it
    replaces was.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._readers: dict[int, int] = {}  # thread id -> how many times it holds the shared side
        self._writer: int | None = None
        self._writer_depth = 0
        self._upgrading: int | None = None

    # -- shared side -----------------------------------------------------------------------
    def acquire_read(self) -> None:
        me = threading.get_ident()
        with self._cond:
            if self._writer == me:
                self._writer_depth += 1  # the writer reads what it writes
                return
            while self._writer is not None:
                quick.give_up_if_attempting()  # the event loop never waits for a writer
                self._cond.wait()
            self._readers[me] = self._readers.get(me, 0) + 1

    def release_read(self) -> None:
        me = threading.get_ident()
        with self._cond:
            if self._writer == me:
                self._release_write_locked()
                return
            count = self._readers.get(me, 0)
            if count <= 1:
                self._readers.pop(me, None)
            else:
                self._readers[me] = count - 1
            self._cond.notify_all()

    @contextmanager
    def reading(self) -> Iterator[None]:
        self.acquire_read()
        try:
            yield
        finally:
            self.release_read()

    # -- exclusive side --------------------------------------------------------------------
    def acquire(self) -> None:
        me = threading.get_ident()
        with self._cond:
            if self._writer == me:
                self._writer_depth += 1
                return
            if me in self._readers:  # it would wait for itself for ever
                raise RuntimeError("a reader takes the write lock with upgrade(), not acquire()")
            while self._writer is not None or self._readers:
                self._cond.wait()
            self._writer, self._writer_depth = me, 1

    def release(self) -> None:
        with self._cond:
            if self._writer != threading.get_ident():
                raise RuntimeError("release of a write lock this thread does not hold")
            self._release_write_locked()

    def _release_write_locked(self) -> None:
        self._writer_depth -= 1
        if self._writer_depth == 0:
            self._writer = None
            self._cond.notify_all()

    def __enter__(self) -> ReadWriteLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    # -- reader to writer ------------------------------------------------------------------
    def upgrade(self) -> None:
        """Turn this thread's shared hold (exactly one) into the exclusive one.

        Raises:
            UpgradeConflict: another reader is already waiting to upgrade.
        """
        me = threading.get_ident()
        with self._cond:
            if self._writer == me:
                return
            if self._readers.get(me) != 1:
                raise RuntimeError("upgrade needs exactly one shared hold by this thread")
            if self._upgrading is not None:
                raise UpgradeConflict("another request is already waiting to write")
            self._upgrading = me
            try:
                while self._writer is not None or len(self._readers) > 1:
                    self._cond.wait()
            finally:
                self._upgrading = None
            del self._readers[me]
            # the shared hold becomes the exclusive one: release_read() ends it
            self._writer, self._writer_depth = me, 1

    # -- a writer that prepares before it needs the graph alone (a bulk load's publish) ---------
    def reserve(self) -> None:
        """Be the next writer while readers go on: every reader's :meth:`upgrade` is refused meanwhile."""
        me = threading.get_ident()
        with self._cond:
            while self._writer is not None or self._upgrading is not None:
                self._cond.wait()
            self._upgrading = me

    def promote(self) -> None:
        """Turn the reservation into the exclusive hold (waits for the readers to finish)."""
        me = threading.get_ident()
        with self._cond:
            if self._upgrading != me:
                raise RuntimeError("promote without a reservation")
            while self._writer is not None or self._readers:
                self._cond.wait()
            self._upgrading = None
            self._writer, self._writer_depth = me, 1

    def cancel_reservation(self) -> None:
        with self._cond:
            if self._upgrading == threading.get_ident():
                self._upgrading = None
                self._cond.notify_all()

    def held_for_write(self) -> bool:
        return self._writer == threading.get_ident()

    def writer_active(self) -> bool:
        """True while another thread has the graph alone (a reader would wait for it)."""
        writer = self._writer
        return writer is not None and writer != threading.get_ident()
